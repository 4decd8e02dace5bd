"""Process-wide settings that keep a frame loop's timing steady.

Two costs that no profile of one function shows, both measured on paced 30 fps replay where a
full read follows ~30 ms of idling:

* **Page faults.** glibc hands allocations over 128 kB to ``mmap`` and gives freed memory back
  to the kernel, so every full read's fresh full-size arrays (a 640×480 picture's ``int32``
  integral image is 1.2 MB) are faulted in again, page by page. Keeping freed memory in the
  heap cut a read's median from 14.3 to 10.5 ms on the 2-core development VM. RSS then stays
  at the loop's working set instead of dipping between frames; it does not grow.
* **Waking OpenCV's thread pool.** A read makes ~60 small OpenCV calls; each wakes the pool's
  sleeping workers after an idle gap, which cost more than the parallelism gave (paced read
  median 17.6 ms with two workers, 13.6 ms with one). The capture thread already keeps a
  second core busy, so one vision thread is the default; more can be configured.

And one that shows up later: a full garbage collection walks every object the process holds,
~44,000 once the pipeline is built, which stalls whichever frame it lands on for ~10 ms. The
objects made at start-up (modules, the config, the model) live as long as the process, so
they are frozen out of the collector's walks once the pipeline is built.
"""

from __future__ import annotations

import ctypes
import gc
import logging
import platform

import cv2

log = logging.getLogger(__name__)

# mallopt(3) parameters.
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
# glibc's ceiling for the mmap threshold on 64-bit (DEFAULT_MMAP_THRESHOLD_MAX): larger
# blocks (a replay's whole frame queue) are still mapped and returned.
_MMAP_THRESHOLD = 32 * 1024 * 1024
_TRIM_THRESHOLD = 256 * 1024 * 1024


def keep_freed_memory() -> bool:
    """Make glibc reuse freed blocks instead of returning them to the kernel; False elsewhere
    (musl, macOS), where the loop runs as before."""
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL(None)
        ok = bool(libc.mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD) == 1)
        ok = bool(libc.mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD) == 1) and ok
    except (OSError, AttributeError):
        return False
    if not ok:
        log.debug("mallopt refused the frame-loop settings; allocator left as it was")
    return ok


def set_vision_threads(threads: int) -> None:
    """OpenCV's worker threads per call; 0 leaves OpenCV's own choice (one per core)."""
    cv2.setNumThreads(threads if threads > 0 else -1)


def tune_for_frames(vision_threads: int) -> None:
    """Both settings, once, before the first frame."""
    kept = keep_freed_memory()
    set_vision_threads(vision_threads)
    log.debug(
        "frame loop: freed memory kept in the heap: %s; OpenCV threads: %d",
        kept,
        cv2.getNumThreads(),
    )


def freeze_startup_objects() -> int:
    """Move everything allocated so far out of the collector's reach (``gc.freeze``): a full
    collection then walks only what the frame loop made. Returns how many were frozen.

    No collection first: once the pipeline is built, start-up has left no garbage behind (a
    full collection there found none), and that collection cost 15-25 ms of every start."""
    gc.freeze()
    return gc.get_freeze_count()

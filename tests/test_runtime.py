"""The process-wide frame-loop settings: freed memory kept by glibc, OpenCV's pool size."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

# Page faults taken by 20 reads of a drawn 640×480 sheet, in a fresh interpreter.
FAULTS = """
import resource, sys
import cv2
import numpy as np
if sys.argv[1] == "keep":
    from edgecam.runtime import keep_freed_memory
    assert keep_freed_memory()
from edgecam.vision.locate import find_candidates
sheet = np.full((480, 640, 3), 235, np.uint8)
for i, text in enumerate(("3141", "5926", "5358")):
    cv2.putText(sheet, text, (60, 120 + 120 * i), cv2.FONT_HERSHEY_SIMPLEX, 3, (30, 30, 30), 5)
find_candidates(sheet)
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):
    find_candidates(sheet)
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _faults(mode: str) -> int:
    done = subprocess.run(
        [sys.executable, "-c", FAULTS, mode], capture_output=True, text=True, check=True
    )
    return int(done.stdout)


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_freed_frames_are_reused_instead_of_faulted_in_again() -> None:
    # glibc maps large arrays afresh and unmaps them when freed, so a read can fault its
    # arrays in again: up to ~900 page faults per read, ~4 ms of a 10 ms read on the
    # development VM. How many depends on glibc's sliding mmap threshold and so on the
    # process's allocation history (460 to 20,000 in 20 reads across fresh interpreters
    # here), so the plain count is only reported; kept, the heap is reused and a read takes
    # a few faults at most.
    plain, kept = _faults("plain"), _faults("keep")
    print(f"page faults in 20 reads: {plain} plain, {kept} with freed memory kept")
    assert kept <= 15 * 20, (kept, plain)


def test_vision_threads_set_opencvs_pool() -> None:
    import cv2

    from edgecam.runtime import set_vision_threads

    before = cv2.getNumThreads()
    try:
        set_vision_threads(1)
        assert cv2.getNumThreads() == 1
        set_vision_threads(0)  # OpenCV's own choice
        assert cv2.getNumThreads() >= 1
    finally:
        cv2.setNumThreads(before)


def test_start_up_objects_are_frozen_out_of_full_collections() -> None:
    import gc
    import time

    from edgecam.app import build_pipeline
    from edgecam.config import Config
    from edgecam.runtime import freeze_startup_objects

    pipeline = build_pipeline(Config())
    try:
        t0 = time.perf_counter()
        gc.collect()
        before = time.perf_counter() - t0
        frozen = freeze_startup_objects()
        t0 = time.perf_counter()
        gc.collect()
        after = time.perf_counter() - t0
        print(f"full collection: {before * 1e3:.1f} ms, frozen {frozen}, then {after * 1e3:.1f} ms")
        assert frozen > 10_000 and after < before / 2
    finally:
        gc.unfreeze()
        pipeline.fanout.close()
        pipeline.source.close()

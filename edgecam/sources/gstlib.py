"""GStreamer's Python bindings, imported and initialised once per process.

Apart from :mod:`edgecam.sources.gst` (which imports OpenCV and the capture classes) so that
start-up can begin loading them on a helper thread (:func:`edgecam.sources.preload`) with
nothing but the standard library: OpenCV's own loader swaps ``sys.modules`` entries while it
imports, which is no place for a second thread.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import threading
from types import SimpleNamespace

__all__ = ["GstUnavailable", "load", "load_plugins", "unavailable"]


class GstUnavailable(Exception):
    """PyGObject or GStreamer cannot be loaded; the message says which and why."""


@functools.cache
def _load() -> SimpleNamespace:
    # libgstreamer links libunwind, and PyGObject opens it into the global symbol scope, where
    # its _Unwind_* would then serve every C++ exception thrown later — LiteRT's, for one,
    # which aborted the process instead of reporting a corrupt model. The toolchain's own
    # unwinder in that scope first keeps it serving them.
    with contextlib.suppress(OSError):
        ctypes.CDLL("libgcc_s.so.1", mode=ctypes.RTLD_GLOBAL)
    try:
        import gi

        gi.require_version("Gst", "1.0")
        gi.require_version("GstApp", "1.0")
        gi.require_version("GstVideo", "1.0")
        from gi.repository import GLib, Gst, GstApp, GstVideo
    except ImportError as exc:
        raise GstUnavailable(str(exc).split("\n")[0] or type(exc).__name__) from None
    except (ValueError, RuntimeError) as exc:  # a typelib missing: gir1.2-gstreamer-1.0
        raise GstUnavailable(f"{exc} (install gir1.2-gstreamer-1.0)") from None
    ok, _ = Gst.init_check(None)
    if not ok:
        raise GstUnavailable("Gst.init failed")
    return SimpleNamespace(Gst=Gst, GstApp=GstApp, GstVideo=GstVideo, GLib=GLib)


_loading = threading.Lock()


def load() -> SimpleNamespace:
    """Gst, GstApp, GstVideo and GLib, imported and initialised once per process (a failure
    is tried again on the next call).

    One thread at a time: start-up may begin this on a helper thread (``sources.preload``)
    while the source is opened on another, and PyGObject's importer is not safe to enter
    twice (the second thread saw GLib half made: "'gi.repository.GLib' object has no
    attribute 'Idle'")."""
    with _loading:
        return _load()


def unavailable() -> str | None:
    """Why GStreamer capture cannot be used here, or ``None`` when it can."""
    try:
        load()
    except GstUnavailable as exc:
        return str(exc)
    return None


def load_plugins(names: tuple[str, ...]) -> None:
    """Load these plugins now, those installed.

    A pipeline loads its plugins while it prerolls; gst-libav, which decodes a recording or
    a stream in software, takes ~57 ms of that on the 2-core development VM (the loader
    relocating libavcodec and its kin), on the critical path of the first frame."""
    registry = load().Gst.Registry.get()
    for name in names:
        plugin = registry.find_plugin(name)
        if plugin is not None:
            plugin.load()

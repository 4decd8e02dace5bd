"""GStreamer's Python bindings, imported and initialised once per process.

Apart from :mod:`edgecam.sources.gst` (which imports OpenCV and the capture classes) so that
start-up can begin loading GStreamer on a helper thread (:func:`edgecam.sources.preload`)
with nothing but the standard library: OpenCV's own loader swaps ``sys.modules`` entries
while it imports, which is no place for a second thread.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import threading
from types import SimpleNamespace

__all__ = ["GstUnavailable", "load", "unavailable", "warm"]


class GstUnavailable(Exception):
    """PyGObject or GStreamer cannot be loaded; the message says which and why."""


def _unwinder_first() -> None:
    # libgstreamer links libunwind, and PyGObject opens it into the global symbol scope, where
    # its _Unwind_* would then serve every C++ exception thrown later — LiteRT's, for one,
    # which aborted the process instead of reporting a corrupt model. The toolchain's own
    # unwinder in that scope first keeps it serving them.
    with contextlib.suppress(OSError):
        ctypes.CDLL("libgcc_s.so.1", mode=ctypes.RTLD_GLOBAL)


@functools.cache
def _load() -> SimpleNamespace:
    _unwinder_first()
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


def warm(plugins: tuple[str, ...] = ()) -> bool:
    """Initialise GStreamer and load these plugins (those installed) through its C library
    alone, without PyGObject; false when the library is not there.

    For start-up's preload thread (:func:`edgecam.sources.preload`), beside the main
    thread's imports. ctypes lets go of the GIL for each call, so the registry and the
    plugins' shared libraries load on the other core while the main thread imports numpy.
    Importing PyGObject here instead held the GIL for most of its work, and the sources
    package waited for numpy: the threads took turns. A 1-frame ``file://`` replay ended
    after 0.40 s that way and 0.38 s this way (medians of 20 alternating runs on the 2-core
    development VM; a ``test://`` one 0.33 → 0.31 s). :func:`load`, when the source opens,
    then finds GStreamer initialised (``gst_init`` is idempotent) and the plugins in
    memory."""
    _unwinder_first()
    try:
        lib = ctypes.CDLL("libgstreamer-1.0.so.0")
    except OSError:
        return False
    lib.gst_init_check.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]
    lib.gst_init_check.restype = ctypes.c_int
    if not lib.gst_init_check(None, None, None):
        return False
    lib.gst_registry_get.restype = ctypes.c_void_p
    lib.gst_registry_find_plugin.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
    lib.gst_registry_find_plugin.restype = ctypes.c_void_p
    lib.gst_plugin_load.argtypes = [ctypes.c_void_p]
    lib.gst_plugin_load.restype = ctypes.c_void_p
    lib.gst_object_unref.argtypes = [ctypes.c_void_p]
    registry = lib.gst_registry_get()  # transfer none
    for name in plugins:
        plugin = lib.gst_registry_find_plugin(registry, name.encode())  # transfer full
        if plugin:
            loaded = lib.gst_plugin_load(plugin)  # transfer full, NULL if it failed
            if loaded:
                lib.gst_object_unref(loaded)
            lib.gst_object_unref(plugin)
    return True

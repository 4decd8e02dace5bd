"""GStreamer capture: a launch string into an appsink, frames into numpy, and recovery.

The appsink is pulled (``try_pull_sample`` with a short timeout) from :meth:`GstSource.read`,
on the pipeline's capture thread: no Python runs on GStreamer's own threads, so nothing can
deadlock on the GIL at shutdown, and the bus is polled in the same loop (no GLib main loop).

A live source that ends, fails or stalls is torn down and rebuilt after a capped exponential
back-off, inside :meth:`read`: the caller sees a pause, never an error, and ``seq`` keeps
counting. ``captured_mono`` is the buffer's capture time — its running time on the pipeline
clock plus the pipeline's base time, which is ``time.monotonic()`` when the clock is
GStreamer's monotonic system clock (checked once per stream); otherwise, and for files, the
time the sample was pulled. Every state change to NULL runs on a helper thread with a time
limit, so :meth:`close` never hangs on a driver or a dead network peer.

One exception to "no Python on GStreamer's threads": a replay that limits its software
decoder's threads (``decoder_threads``) hears decodebin plug the decoder, which happens
before the constructor's preroll returns; the handler is disconnected there.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import functools
import logging
import re
import threading
import time
import weakref
from collections import deque
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from edgecam.sources.base import Recovery, RecoveryCounters, SourceError, redact
from edgecam.sources.gstlib import GstUnavailable, load
from edgecam.sources.launch import APPSINK, PACKAGES, SINK_FORMATS
from edgecam.types import Frame, Yuv

log = logging.getLogger(__name__)

POLL_S = 0.05  # how long one pull waits: bounds how late a bus error or close() is seen
TEARDOWN_S = 1.0  # longest a state change to NULL may take before it is left behind
PREROLL_S = 10.0  # a file must show its first frame within this

# Everything edgecam may ask for, and what `edgecam doctor` reports on.
ELEMENTS = tuple(dict.fromkeys((*PACKAGES, "x264enc", "avdec_h264", "jpegenc")))


def version() -> str:
    """``1.22.0``: the GStreamer library this process loaded."""
    return ".".join(str(part) for part in tuple(load().Gst.version())[:3])


def available_elements(names: Iterable[str] = ELEMENTS) -> frozenset[str]:
    """The names among ``names`` that the GStreamer registry has (empty without GStreamer)."""
    try:
        gst = load()
    except GstUnavailable:
        return frozenset()
    return frozenset(n for n in names if gst.Gst.ElementFactory.find(n) is not None)


def probe_v4l2_caps(device: str) -> str:
    """The caps a V4L2 device offers, as one string ("" when it cannot be asked)."""
    try:
        gst = load()
        provider = gst.Gst.DeviceProviderFactory.get_by_name("v4l2deviceprovider")
        for dev in provider.get_devices() if provider is not None else []:
            props = dev.get_properties()
            if props is not None and props.get_string("device.path") == device:
                caps = dev.get_caps()
                return str(caps.to_string()) if caps is not None else ""
    except Exception as exc:  # probing is a nicety; the launch string works without it
        log.debug("probing %s: %s", device, exc)
    return ""


# --- buffers to BGR -------------------------------------------------------------------------


_RANGE_0_255 = 1  # GST_VIDEO_COLOR_RANGE_0_255


@dataclass(frozen=True)
class Layout:
    """Where a raw frame's planes lie in its buffer (GstVideoInfo, without GObject)."""

    format: str
    width: int
    height: int
    strides: tuple[int, ...]
    offsets: tuple[int, ...]
    full_range: bool = False  # YUV samples 0-255 (a JPEG decoder's), not 16-235


def _plane(
    buf: npt.NDArray[np.uint8], offset: int, stride: int, rows: int, row_bytes: int
) -> npt.NDArray[np.uint8]:
    return buf[offset : offset + stride * rows].reshape(rows, stride)[:, :row_bytes]


def _even(plane: npt.NDArray[np.uint8], rows: int, cols: int) -> npt.NDArray[np.uint8]:
    """A luma plane padded by its edge to even size: OpenCV's YUV 4:2:0 needs it."""
    pad_r, pad_c = rows - plane.shape[0], cols - plane.shape[1]
    if pad_r or pad_c:
        return np.pad(plane, ((0, pad_r), (0, pad_c)), mode="edge")
    return plane


def _yuv420(buf: npt.NDArray[np.uint8], layout: Layout, *, copy: bool) -> Yuv:
    """An I420 or NV12 frame in OpenCV's layout: the buffer as it lies when its planes are
    where OpenCV expects them (even sizes with 4-byte aligned rows; copied if ``copy``),
    else gathered (padded to even sizes)."""
    fmt, w, h = layout.format, layout.width, layout.height
    s, o = layout.strides, layout.offsets
    even_h, even_w = h + h % 2, w + w % 2
    ch, cw = even_h // 2, even_w // 2
    if fmt == "I420":
        as_opencv = s[:3] == (w, cw, cw) and o[:3] == (0, w * h, w * h + cw * ch)
    else:
        as_opencv = s[:2] == (w, w) and o[:2] == (0, w * h)
    if as_opencv and (even_h, even_w) == (h, w):
        yuv = buf[: w * h * 3 // 2].reshape(h * 3 // 2, w)
        if copy:
            yuv = yuv.copy()
    else:
        luma = _even(_plane(buf, o[0], s[0], h, w), even_h, even_w)
        if fmt == "I420":
            chroma = [_plane(buf, o[i], s[i], ch, cw).reshape(-1) for i in (1, 2)]
        else:
            chroma = [_plane(buf, o[1], s[1], ch, 2 * cw).reshape(-1)]
        yuv = np.concatenate([luma.reshape(-1), *chroma]).reshape(even_h * 3 // 2, even_w)
    return Yuv(yuv, fmt, w, h, layout.full_range)


def _yuy2(buf: npt.NDArray[np.uint8], layout: Layout) -> npt.NDArray[np.uint8]:
    """A YUY2 frame's rows (an odd width still fills its last Y-U-Y-V pair), a view."""
    even_w = layout.width + layout.width % 2
    plane = _plane(buf, layout.offsets[0], layout.strides[0], layout.height, even_w * 2)
    return plane.reshape(layout.height, even_w, 2)


def to_frame_data(
    buf: npt.NDArray[np.uint8], layout: Layout
) -> tuple[npt.NDArray[np.uint8] | None, Yuv | None]:
    """What a :class:`Frame` keeps of one raw frame (``buf`` may be mapped memory, gone
    after): YUV frames (4:2:0, and a USB webcam's YUY2) as they came, to be converted only if
    a stage wants colour (see :class:`~edgecam.types.Frame`); the others as BGR."""
    if layout.format in ("I420", "NV12"):
        return None, _yuv420(buf, layout, copy=True)
    if layout.format == "YUY2":
        yuy2 = _yuy2(buf, layout).copy()
        return None, Yuv(yuy2, "YUY2", layout.width, layout.height, layout.full_range)
    return to_bgr(buf, layout), None


def to_bgr(buf: npt.NDArray[np.uint8], layout: Layout) -> npt.NDArray[np.uint8]:
    """A BGR image of its own from one raw frame (``buf`` may be mapped memory, gone after).

    Each format costs one pass: a copy for BGR, one OpenCV conversion for the others. The
    4:2:0 formats are converted as they lie when their planes are where OpenCV expects them
    (even sizes with 4-byte aligned rows), else gathered first.
    """
    fmt, w, h = layout.format, layout.width, layout.height
    s, o = layout.strides, layout.offsets
    if fmt == "BGR":
        return np.array(_plane(buf, o[0], s[0], h, w * 3).reshape(h, w, 3))
    if fmt in ("BGRx", "BGRA"):
        plane = _plane(buf, o[0], s[0], h, w * 4).reshape(h, w, 4)
        return np.asarray(cv2.cvtColor(plane, cv2.COLOR_BGRA2BGR), np.uint8)
    if fmt == "YUY2":
        return Yuv(_yuy2(buf, layout), "YUY2", w, h, layout.full_range).bgr()
    if fmt in ("I420", "NV12"):
        return _yuv420(buf, layout, copy=False).bgr()
    raise SourceError(
        f"frames come as {fmt}, which edgecam does not convert: end the pipeline with "
        f"videoconvert ! video/x-raw,format=BGR ! appsink (or one of {', '.join(SINK_FORMATS)})"
    )


class BufferMapper:
    """A GstBuffer's memory as a numpy view, mapped in place (``gst_buffer_map`` via ctypes).

    PyGObject alone only offers ``extract_dup``/``map().data``, which copy the frame twice
    (into GLib memory, then into a Python bytes) and churn the heap: on a VGA I420 stream
    that halved the decode rate. The buffer's address is PyGObject's ``hash()`` of it (as
    NVIDIA's DeepStream bindings use), checked against its ``repr`` once; the field offsets
    of GstMapInfo come from the typelib. Where any of that fails, frames are copied out with
    ``extract_dup`` instead.
    """

    def __init__(self, gst: SimpleNamespace) -> None:
        self._extract_only = True
        try:
            lib = ctypes.CDLL("libgstreamer-1.0.so.0")
            info = gst.Gst.MapInfo.__info__
            offsets = {f.get_name(): f.get_offset() for f in info.get_fields()}
            self._info_size = int(info.get_size())
            self._data_at, self._size_at = offsets["data"], offsets["size"]
            self._map = lib.gst_buffer_map
            self._map.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int]
            self._map.restype = ctypes.c_int
            self._unmap = lib.gst_buffer_unmap
            self._unmap.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
            self._unmap.restype = None
            self._read = int(gst.Gst.MapFlags.READ)
            probe = gst.Gst.Buffer.new_wrapped(b"edgecam")
            match = re.search(r"GstBuffer at (0x[0-9a-fA-F]+)", repr(probe))
            if match is None or int(match.group(1), 16) != hash(probe):
                raise OSError("PyGObject's hash() is not the buffer's address")
            self._extract_only = False
            with self.view(probe) as data:
                self._extract_only = data.tobytes() != b"edgecam"
        except (OSError, AttributeError, KeyError, TypeError) as exc:
            log.debug("mapping buffers in place is unavailable (%s); copying them out", exc)
            self._extract_only = True

    @contextmanager
    def view(self, buffer: Any) -> Iterator[npt.NDArray[np.uint8]]:
        """The buffer's bytes, valid only inside the ``with``."""
        if self._extract_only:
            yield np.frombuffer(buffer.extract_dup(0, buffer.get_size()), np.uint8)
            return
        address = hash(buffer)
        info = ctypes.create_string_buffer(self._info_size)
        if not self._map(address, info, self._read):
            raise SourceError("a GStreamer buffer could not be mapped for reading")
        try:
            data = ctypes.c_void_p.from_buffer(info, self._data_at).value
            size = ctypes.c_size_t.from_buffer(info, self._size_at).value
            if not data or not size:
                yield np.empty(0, np.uint8)
            else:
                yield np.ctypeslib.as_array((ctypes.c_uint8 * size).from_address(data))
        finally:
            self._unmap(address, info)


@functools.cache
def mapper() -> BufferMapper:
    """One mapper per process: its self-check runs once."""
    return BufferMapper(load())


# --- the source ----------------------------------------------------------------------------


class _Lost(Exception):
    """A stream could not start or stopped; ``kind`` is error, end or stall."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(detail)
        self.kind = kind


@dataclass
class _Stream:
    """One built pipeline and what is known about it."""

    pipeline: Any
    sink: Any
    bus: Any
    started: float
    last_frame: float
    frames: int = 0
    mono_clock: bool | None = None
    plug_handler: int = 0  # deep-element-added, connected until the preroll


class GstSource(RecoveryCounters):
    """Frames from a GStreamer launch string that ends in the ``edgecam`` appsink.

    ``live`` sources keep one buffer and drop the older; the others hand over every buffer.
    ``recover`` (default: ``live``; cameras, RTSP, test patterns) rebuilds a lost stream as
    ``recovery`` says; without it (files) a source is checked by decoding its first frame
    before this returns, and ends at EOS (or starts over, with ``loop``). ``name`` is what
    logs call it: give it redacted.

    Counters: ``outages`` (a playing stream was lost), ``stalls`` (a stream gave no frame in
    time, while playing or starting), ``reconnects`` (rebuilds after a loss); ``status`` is
    starting, playing, reconnecting, ended or closed, and ``events`` keeps the last changes.
    """

    def __init__(
        self,
        launch: str,
        *,
        name: str,
        camera_id: str = "cam0",
        live: bool = True,
        recover: bool | None = None,
        loop: bool = False,
        realtime: bool = False,
        recovery: Recovery | None = None,
        expert: bool = False,
        width: int = 0,
        height: int = 0,
        fps: float = 0.0,
        decoder_threads: int = 0,
    ) -> None:
        try:
            self._gst = load()
        except GstUnavailable as exc:
            raise SourceError(
                f"source {name}: GStreamer is unavailable ({exc}): run scripts/setup.sh as root"
            ) from None
        self.launch = launch
        self.name = name
        self.id = camera_id
        self.live = live
        self.recover = live if recover is None else recover
        self.loop = loop
        self.realtime = realtime  # a file paced at its own rate (the launch string's sync)
        self.recovery = recovery or Recovery()
        self.expert = expert
        self.width, self.height, self.fps = width, height, fps
        # libav decoders' max-threads (0: their own choice); only for a file read to its end
        self.decoder_threads = 0 if self.recover else decoder_threads
        self.loops = 0
        self.last_error = ""
        self.events: deque[tuple[float, str, str]] = deque(maxlen=64)
        self._seq = 0
        self._failures = 0
        self._retry_at = 0.0
        self._lost_at = 0.0
        self._closed = threading.Event()
        self._swap = threading.Lock()  # guards _stream against close() from another thread
        self._mapper = mapper()
        self._layout_caps: Any = None
        self._layout: Layout | None = None
        self._stream: _Stream | None = None
        self._event("starting", "")
        _open.add(self)
        try:
            stream = self._build()
            if not self.recover:
                self._preroll(stream)
        except _Lost as lost:
            if not self.recover:
                fix = (
                    "check the file, or re-encode it, e.g. ffmpeg -i IN -c:v libx264 OUT.mp4"
                    if "filesrc" in launch
                    else "check that the stream is up and the URI is right"
                )
                raise SourceError(
                    f"video {name} cannot be played through GStreamer ({lost}): {fix}"
                ) from None
            self._lose(lost)  # a camera that is not up yet is retried like a lost one
        else:
            self._stream = stream

    # -- building and tearing down --

    def _build(self) -> _Stream:
        Gst, GLib = self._gst.Gst, self._gst.GLib  # noqa: N806 - GObject namespaces
        try:
            pipeline = Gst.parse_launch(self.launch)
        except GLib.Error as exc:
            raise SourceError(
                f"source {self.name}: GStreamer cannot build it ({redact(exc.message)}): "
                "check the URI and options, and edgecam doctor for missing elements"
            ) from None
        sink = pipeline.get_by_name(APPSINK) if isinstance(pipeline, Gst.Bin) else None
        if sink is None or not isinstance(sink, self._gst.GstApp.AppSink):
            pipeline.set_state(Gst.State.NULL)
            raise SourceError(
                f"source {self.name}: no appsink named {APPSINK} at the end of the pipeline"
            )
        if self.expert:  # the user's own appsink: make it behave like edgecam's
            sink.set_property("emit-signals", False)
            sink.set_property("enable-last-sample", False)
            sink.set_property("max-buffers", 1 if self.live else 8)
            sink.set_property("drop", self.live)
            if sink.get_property("caps") is None:
                formats = ",".join(SINK_FORMATS)
                sink.set_property("caps", Gst.Caps.from_string(f"video/x-raw,format={{{formats}}}"))
        now = time.monotonic()
        stream = _Stream(pipeline, sink, pipeline.get_bus(), now, now)
        if self.decoder_threads:
            stream.plug_handler = pipeline.connect("deep-element-added", self._plugged)
        if pipeline.set_state(Gst.State.PLAYING) == Gst.StateChangeReturn.FAILURE:
            detail = self._bus_problem(stream) or ("error", "it would not start")
            self._teardown(stream)
            raise _Lost(*detail)
        return stream

    def _preroll(self, stream: _Stream) -> None:
        """Wait for a file's first frame, so a bad file is an error before anything runs."""
        Gst = self._gst.Gst  # noqa: N806
        ret, _, _ = stream.pipeline.get_state(int(PREROLL_S * Gst.SECOND))
        if stream.plug_handler:
            stream.pipeline.disconnect(stream.plug_handler)
            stream.plug_handler = 0
        problem = self._bus_problem(stream)
        if ret == Gst.StateChangeReturn.FAILURE or problem is not None:
            self._teardown(stream)
            raise _Lost(*(problem or ("error", "it would not start")))
        pad = stream.sink.get_static_pad("sink")
        caps = pad.get_current_caps() if pad is not None else None
        if caps is None:
            self._teardown(stream)
            raise _Lost("error", f"no video frame within {PREROLL_S:g} s")
        self._learn(caps)

    def _plugged(self, _bin: Any, _parent: Any, element: Any) -> None:
        """On a streaming thread, as decodebin adds an element: cap a libav decoder's threads
        before it opens its codec."""
        factory = element.get_factory()
        if factory is not None and factory.get_name().startswith("avdec_"):
            element.set_property("max-threads", self.decoder_threads)

    def _teardown(self, stream: _Stream) -> None:
        """NULL state on a helper thread; one that outlasts TEARDOWN_S is left behind."""
        Gst = self._gst.Gst  # noqa: N806
        done = threading.Event()

        def stop() -> None:
            try:
                stream.pipeline.set_state(Gst.State.NULL)
                stream.pipeline.get_state(int(TEARDOWN_S * Gst.SECOND))
            finally:
                done.set()

        threading.Thread(target=stop, name="edgecam-gst-stop", daemon=True).start()
        if not done.wait(TEARDOWN_S):
            log.warning("source %s: GStreamer did not stop within %g s", self.name, TEARDOWN_S)

    def _end_stream(self) -> None:
        with self._swap:
            stream, self._stream = self._stream, None
        if stream is not None:
            self._teardown(stream)

    # -- reading --

    def read(self) -> Frame | None:
        Gst = self._gst.Gst  # noqa: N806
        while not self._closed.is_set():
            stream = self._stream
            if stream is None:
                if self.status in ("ended", "closed"):
                    return None
                wait = self._retry_at - time.monotonic()
                if wait > 0:
                    self._closed.wait(min(wait, POLL_S))
                    continue
                self._reconnect()
                continue
            sample = stream.sink.try_pull_sample(int(POLL_S * Gst.SECOND))
            if sample is not None:
                return self._deliver(stream, sample)
            if self._closed.is_set():
                break
            try:
                self._check(stream)
            except _Lost as lost:
                if lost.kind == "end" and self.loop and self._rewind(stream):
                    continue
                if not self.recover:
                    self._end_stream()
                    self.status = "ended"
                    if lost.kind == "end":
                        self._event("ended", "")
                        return None
                    raise SourceError(f"source {self.name} failed: {lost}") from None
                self._end_stream()
                self._lose(lost)
        return None

    def _check(self, stream: _Stream) -> None:
        """Raise :class:`_Lost` for an error or end on the bus, or a live stream gone quiet."""
        problem = self._bus_problem(stream)
        if problem is None and stream.sink.is_eos():
            problem = ("end", "the stream ended")
        if problem is None and self.recover:
            now = time.monotonic()
            limit = self.recovery.stall_s if stream.frames else self.recovery.open_s
            since = stream.last_frame if stream.frames else stream.started
            if now - since > limit:
                what = "no frame" if stream.frames else "no first frame"
                problem = ("stall", f"{what} for {limit:g} s")
        if problem is not None:
            raise _Lost(*problem)

    def _bus_problem(self, stream: _Stream) -> tuple[str, str] | None:
        Gst = self._gst.Gst  # noqa: N806
        problem: tuple[str, str] | None = None
        while (msg := stream.bus.pop()) is not None:
            if msg.type == Gst.MessageType.ERROR and problem is None:
                err, debug = msg.parse_error()
                src = msg.src.get_name() if msg.src is not None else "?"
                log.debug("source %s: %s: %s (%s)", self.name, src, err.message, debug)
                problem = ("error", f"{src}: {redact(err.message)}")
            elif msg.type == Gst.MessageType.EOS and problem is None:
                problem = ("end", "the stream ended")
            elif msg.type == Gst.MessageType.WARNING:
                warning, _ = msg.parse_warning()
                log.debug("source %s: warning: %s", self.name, redact(warning.message))
        return problem

    def _rewind(self, stream: _Stream) -> bool:
        Gst = self._gst.Gst  # noqa: N806
        flags = Gst.SeekFlags.FLUSH | Gst.SeekFlags.KEY_UNIT
        if not stream.pipeline.seek_simple(Gst.Format.TIME, flags, 0):
            return False
        self.loops += 1
        log.debug("source %s: looping (%d)", self.name, self.loops)
        return True

    def _deliver(self, stream: _Stream, sample: Any) -> Frame:
        buf = sample.get_buffer()
        caps = sample.get_caps()
        if self._layout is None or not caps.is_equal(self._layout_caps):
            self._learn(caps)
        assert self._layout is not None
        mono, wall = self._stamp(stream, sample, buf)
        with self._mapper.view(buf) as data:
            image, yuv = to_frame_data(data, self._layout)
        stream.frames += 1
        stream.last_frame = time.monotonic()
        if self.status != "playing":
            self._playing()
        frame = Frame(image, self._seq, mono, wall, self.id, yuv=yuv)
        self._seq += 1
        return frame

    def _learn(self, caps: Any) -> None:
        info = self._gst.GstVideo.VideoInfo.new_from_caps(caps)
        fmt = self._gst.GstVideo.VideoFormat.to_string(info.finfo.format)
        full = int(info.colorimetry.range) == _RANGE_0_255
        self._layout = Layout(
            str(fmt), info.width, info.height, tuple(info.stride), tuple(info.offset), full
        )
        self._layout_caps = caps
        self.width, self.height = int(info.width), int(info.height)
        if info.fps_n > 0 and info.fps_d > 0:
            self.fps = info.fps_n / info.fps_d

    def _stamp(self, stream: _Stream, sample: Any, buf: Any) -> tuple[float, float]:
        """Monotonic and wall capture time: the buffer's own on a live monotonic clock."""
        Gst = self._gst.Gst  # noqa: N806
        now, wall = time.monotonic(), time.time()
        if not self.live or buf.pts == Gst.CLOCK_TIME_NONE:
            return now, wall
        if stream.mono_clock is None:
            clock = stream.pipeline.get_clock()
            stream.mono_clock = clock is not None and abs(clock.get_time() / 1e9 - now) < 0.05
        if not stream.mono_clock:
            return now, wall
        running = sample.get_segment().to_running_time(Gst.Format.TIME, buf.pts)
        if running == Gst.CLOCK_TIME_NONE:
            return now, wall
        mono = (stream.pipeline.get_base_time() + running) / 1e9
        if not now - 5.0 <= mono <= now + 0.05:  # a stream with its own idea of time
            return now, wall
        mono = min(mono, now)
        return mono, wall - (now - mono)

    # -- recovery --

    def _playing(self) -> None:
        with self._swap:  # a frame pulled just before close() must not undo its "closed"
            if self._closed.is_set():
                return
            self.status = "playing"
        if self._lost_at:
            log.info(
                "source %s: playing again after %.1f s (%d outages, %d reconnects)",
                self.name,
                time.monotonic() - self._lost_at,
                self.outages,
                self.reconnects,
            )
        else:
            log.info(
                "source %s: playing %dx%d at %.3g fps", self.name, self.width, self.height, self.fps
            )
        self._failures = 0
        self._lost_at = 0.0
        self._event("playing", "")

    def _lose(self, lost: _Lost) -> None:
        if self._closed.is_set():  # torn down by close(): not an outage
            return
        now = time.monotonic()
        detail = str(lost)
        self.last_error = detail
        if lost.kind == "stall":
            self.stalls += 1
        if self.status == "playing":
            self.outages += 1
            self._lost_at = now
            log.warning("source %s lost (%s); reconnecting", self.name, detail)
        elif self._failures == 0:
            log.warning("source %s will not start (%s); retrying", self.name, detail)
        else:
            log.info("source %s: try %d failed (%s)", self.name, self._failures, detail)
        self._failures += 1
        self.status = "reconnecting"
        self._retry_at = now + self.recovery.delay(self._failures)
        self._event("reconnecting", detail)

    def _reconnect(self) -> None:
        self.reconnects += 1
        try:
            stream = self._build()
        except _Lost as lost:
            self._lose(lost)
            return
        with self._swap:
            closed = self._closed.is_set()
            if not closed:
                self._stream = stream
        if closed:  # close() came while this was building
            self._teardown(stream)

    def _event(self, status: str, detail: str) -> None:
        self.events.append((time.monotonic(), status, detail))

    def counters(self) -> dict[str, object]:
        """The recovery counters, and the last error while there is one."""
        return super().counters() | ({"last_error": self.last_error} if self.last_error else {})

    def close(self) -> None:
        """Stop at once: a read in progress returns ``None`` within :data:`POLL_S`."""
        with self._swap:
            self._closed.set()
        self._end_stream()
        if self.status != "closed":
            self.status = "closed"
            self._event("closed", "")
        _open.discard(self)

    def __del__(self) -> None:
        # A source dropped unclosed (an error path, a test) must not take a playing pipeline
        # with it: disposing one under its own streaming threads can hang or crash.
        with contextlib.suppress(Exception):
            self.close()


# Sources still open when the interpreter exits are stopped first, for the same reason.
_open: weakref.WeakSet[GstSource] = weakref.WeakSet()


@atexit.register
def _close_all() -> None:
    for source in list(_open):
        with contextlib.suppress(Exception):
            source.close()

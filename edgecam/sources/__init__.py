"""Where frames come from: one module per capture backend behind one protocol, and a URI parser.

URIs (jetson-inference's, plus edgecam's own):

* ``demo`` (the bundled recording, looping, paced like a camera), ``synthetic`` or
  ``synthetic:DIGITS[,DIGITS...]`` (a drawn sheet, endless);
* ``csi://N`` (a Jetson CSI sensor), ``v4l2:///dev/videoN`` (or ``/dev/videoN``; a USB
  camera), ``rtsp://[user:pass@]host[:port]/path``, ``test://PATTERN`` (videotestsrc), and
  ``gst:LAUNCH ! appsink`` — all through GStreamer (:mod:`edgecam.sources.gst`);
* ``file://PATH`` through GStreamer, and a bare video path through OpenCV
  (:mod:`edgecam.sources.video`) — both decode with libavcodec in software, measured level
  (``scripts/bench_gst.py``), and OpenCV's needs no GStreamer start-up — except on a Jetson,
  where bare paths too go through GStreamer to reach the hardware decoder.

Without PyGObject or GStreamer, files and V4L2 cameras are read with OpenCV (one log line
says why) and the other cameras are a one-line error naming the fix.
"""

from __future__ import annotations

import logging
import platform
from pathlib import Path
from urllib.parse import unquote, urlsplit

from edgecam.sources import gstlib
from edgecam.sources.base import (
    CaptureOptions,
    Recovery,
    Source,
    SourceError,
    redact,
    replay_decoder_threads,
)

log = logging.getLogger(__name__)

DEMO_VIDEO = Path(__file__).resolve().parent.parent / "data" / "demo.mp4"
GST_SCHEMES = ("csi", "rtsp", "rtsps", "test")
# What decodebin will load to open a recording or a stream: the demuxers, the software
# decoders, a Jetson's hardware one (those installed). Loaded by :func:`preload`.
_DECODE = ("playback", "typefindfunctions", "libav", "nvvideo4linux2")
_RTSP = ("rtsp", "rtp", "rtpmanager", "udp", *_DECODE)
DECODERS = {"file": ("isomp4", "matroska", *_DECODE), "rtsp": _RTSP, "rtsps": _RTSP}

__all__ = [
    "DEMO_VIDEO",
    "CaptureOptions",
    "Recovery",
    "Source",
    "SourceError",
    "open_source",
    "preload",
    "redact",
]


def preload(uri: str) -> None:
    """Initialise GStreamer now when ``uri`` names a GStreamer source.

    Start-up calls this on a helper thread before it imports the rest of the daemon, so the
    registry (and, for a recording or a stream, the plugins that will demux and decode it,
    :data:`DECODERS`: gst-libav alone took ~57 ms of opening a recording) loads on the other
    core while the main thread imports numpy, OpenCV and the rest. It goes through
    GStreamer's C library alone (:func:`gstlib.warm`): PyGObject is imported where the
    source opens. Only the URI's form is looked at (``gst:``, ``file://``, ``v4l2://`` and
    the camera schemes), and importing this package costs no numpy. Failing here changes
    nothing: opening the source tries again and reports it.
    """
    text = uri.strip()
    scheme = urlsplit(text).scheme
    if not text.startswith("gst:") and scheme not in (*GST_SCHEMES, "file", "v4l2"):
        return
    gstlib.warm(DECODERS.get(scheme, ()))


def open_source(
    uri: str,
    *,
    camera_id: str = "cam0",
    realtime: bool = False,
    loop: bool = False,
    live: bool | None = None,
    options: CaptureOptions | None = None,
    recovery: Recovery | None = None,
) -> Source:
    """The source a URI names. ``realtime``/``loop`` apply to files; ``live`` (default: true
    for cameras and the demo, false for files) picks freshest-frame delivery; ``options``
    (size, rate, flip) apply to GStreamer sources and OpenCV cameras; ``recovery`` to live
    GStreamer sources and OpenCV cameras."""
    from edgecam.sources.video import VideoFileSource

    opts = options or CaptureOptions()
    text = uri.strip()
    if not text:
        raise SourceError("empty source: give a video path, 'demo' or 'synthetic'")
    if text in ("demo", "synthetic") or text.startswith("synthetic:"):
        return _builtin(text, camera_id, live)
    if text.startswith("gst:"):
        from edgecam.sources.launch import expert_launch

        launch = expert_launch(text[4:])
        return _gst_source(
            text, launch, camera_id=camera_id, live=live is not False, recovery=recovery
        )
    parts = urlsplit(text)
    scheme = parts.scheme
    if scheme in GST_SCHEMES:
        return _camera(
            text, parts.netloc, camera_id=camera_id, live=live, opts=opts, recovery=recovery
        )
    if scheme == "v4l2" or (not scheme and Path(text).is_char_device()):
        device = _v4l2_device(text, parts.netloc, parts.path)
        return _v4l2(device, camera_id=camera_id, live=live, opts=opts, recovery=recovery)
    if scheme in ("http", "https"):
        raise SourceError(
            f"source {redact(text)}: HTTP streams have no URI of their own: use "
            "gst:souphttpsrc location=URL ! decodebin ! videoconvert ! appsink"
        )
    path = Path(unquote(parts.path)) if scheme == "file" else Path(text)
    if scheme not in ("", "file") and not path.exists():
        raise SourceError(
            f"source {redact(text)}: unknown scheme {scheme!r} (use a video path, file://, "
            "v4l2://, csi://, rtsp://, test://, gst:, demo or synthetic)"
        )
    # A replay read as fast as it decodes leaves the decoder the cores its loop threads do not
    # use; a paced or live file leaves it its own choice.
    decoder_threads = 0 if live or realtime else replay_decoder_threads()
    if path.is_file() and (scheme == "file" or _hardware_decoding()):
        from edgecam.sources import gst

        reason = gstlib.unavailable()
        if reason is None:
            from edgecam.sources.launch import file_launch

            launch = file_launch(
                str(path), opts, gst.available_elements(), live=bool(live), realtime=realtime
            )
            return gst.GstSource(
                launch,
                name=str(path),
                camera_id=camera_id,
                live=bool(live),
                recover=False,
                loop=loop,
                realtime=realtime,
                decoder_threads=decoder_threads,
            )
        log.warning("GStreamer capture unavailable (%s): reading %s with OpenCV", reason, path)
    return VideoFileSource(
        path,
        camera_id=camera_id,
        realtime=realtime,
        live=bool(live),
        loop=loop,
        decoder_threads=decoder_threads,
    )


def _builtin(text: str, camera_id: str, live: bool | None) -> Source:
    """The demo recording and the synthetic sheet: live unless told otherwise."""
    from edgecam.sources.synthetic import SyntheticSource
    from edgecam.sources.video import VideoFileSource

    if text == "demo":
        if not DEMO_VIDEO.is_file():
            raise SourceError(
                f"demo recording {DEMO_VIDEO} is missing: reinstall edgecam or run "
                "scripts/make_replay.py --demo"
            )
        return VideoFileSource(
            DEMO_VIDEO,
            camera_id=camera_id,
            realtime=True,
            live=True if live is None else live,
            loop=True,
        )
    spec = text.partition(":")[2]
    rows = tuple(r for r in spec.split(",") if r) or ("0123456789",)
    if not all(r.isdigit() for r in rows):
        raise SourceError(f"source {text!r}: synthetic rows must be digits, e.g. synthetic:123")
    return SyntheticSource(rows, camera_id=camera_id, live=True if live is None else live)


def _hardware_decoding() -> bool:
    """A Jetson's decoder is there: bare paths go through GStreamer to use it.

    Only looked for on aarch64, so elsewhere a replay does not pay GStreamer's start-up.
    """
    if platform.machine() != "aarch64":
        return False
    from edgecam.sources import gst
    from edgecam.sources.launch import JETSON_DECODE, is_jetson

    return gstlib.unavailable() is None and is_jetson(gst.available_elements(JETSON_DECODE))


def _v4l2_device(text: str, netloc: str, path: str) -> str:
    if not text.startswith("v4l2:"):
        return text
    if netloc.isdigit():  # v4l2://0, as a shorthand
        return f"/dev/video{netloc}"
    if netloc or not path:
        raise SourceError(f"source {text}: write a V4L2 camera as v4l2:///dev/videoN")
    return unquote(path)


def _v4l2(
    device: str,
    *,
    camera_id: str,
    live: bool | None,
    opts: CaptureOptions,
    recovery: Recovery | None,
) -> Source:
    if not Path(device).exists():
        raise SourceError(
            f"camera {device} not found: list the cameras with edgecam sources "
            "(a USB camera may need replugging, or membership of the video group)"
        )
    from edgecam.sources import gst

    reason = gstlib.unavailable()
    if reason is None:
        from edgecam.sources.launch import choose_v4l2_codec, parse_v4l2_modes, v4l2_launch

        codec = choose_v4l2_codec(parse_v4l2_modes(gst.probe_v4l2_caps(device)), opts)
        launch = v4l2_launch(device, opts, gst.available_elements(), codec)
        return _gst_source(
            f"v4l2://{device}",
            launch,
            camera_id=camera_id,
            live=live is not False,
            recovery=recovery,
        )
    from edgecam.sources.cvcamera import OpenCVCameraSource

    log.warning("GStreamer capture unavailable (%s): reading %s with OpenCV", reason, device)
    return OpenCVCameraSource(device, camera_id=camera_id, options=opts, recovery=recovery)


def _camera(
    text: str,
    netloc: str,
    *,
    camera_id: str,
    live: bool | None,
    opts: CaptureOptions,
    recovery: Recovery | None,
) -> Source:
    """csi://, rtsp:// and test://: GStreamer or nothing."""
    from edgecam.sources import gst
    from edgecam.sources.launch import csi_launch, pattern_launch, rtsp_launch

    scheme = text.partition(":")[0]
    shown = redact(text)
    reason = gstlib.unavailable()
    if reason is not None:
        raise SourceError(
            f"source {shown}: {scheme}:// needs GStreamer capture, unavailable here "
            f"({reason}): run scripts/setup.sh as root (it installs GStreamer and PyGObject)"
        )
    elements = gst.available_elements()
    is_live = live is not False
    if scheme == "csi":
        if not netloc.isdigit():
            raise SourceError(f"source {shown}: write a CSI sensor as csi://N, e.g. csi://0")
        launch = csi_launch(int(netloc), opts, elements)
    elif scheme == "test":
        pattern = text.split("://", 1)[1].strip("/") or "smpte"
        launch = pattern_launch(pattern, opts, elements, live=is_live)
    else:
        if not netloc.rpartition("@")[2]:
            raise SourceError(f"source {shown}: an RTSP URI needs a host, rtsp://HOST[:PORT]/PATH")
        launch = rtsp_launch(text, opts, elements)
    return _gst_source(
        shown, launch, camera_id=camera_id, live=is_live, recovery=recovery, opts=opts
    )


def _gst_source(
    name: str,
    launch: str,
    *,
    camera_id: str,
    live: bool,
    recovery: Recovery | None,
    opts: CaptureOptions | None = None,
) -> Source:
    from edgecam.sources.gst import GstSource
    from edgecam.sources.launch import CSI_DEFAULT, TEST_DEFAULT

    # The size a camera will deliver, until its first frame says for sure.
    default = TEST_DEFAULT if name.startswith("test:") else CSI_DEFAULT
    known = name.startswith(("test:", "csi:"))
    width = (opts.width if opts else None) or (default[0] if known else 0)
    height = (opts.height if opts else None) or (default[1] if known else 0)
    fps = (opts.fps if opts else None) or (default[2] if known else 0.0)
    return GstSource(
        launch,
        name=redact(name),
        camera_id=camera_id,
        live=live,
        recovery=recovery,
        expert=name.startswith("gst:"),
        width=width,
        height=height,
        fps=fps,
    )

"""GStreamer launch strings for every camera URI, as pure functions of what is installed.

Each builder takes the set of element names the machine has (``gst.available_elements()``),
so the pipelines a Jetson would run are built and unit-tested on any machine, and a missing
element is a one-line error naming its package before anything starts. Every pipeline ends
in the same tail: a ``videoconvert`` that passes the decoder's own format through when it is
one OpenCV converts quickly (I420, NV12, YUY2, BGRx, BGR), and an appsink named ``edgecam``
— GStreamer's own I420→BGR conversion costs about 1 ms a VGA frame on one core, OpenCV's a
fraction of that.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

from edgecam.sources.base import CaptureOptions, SourceError, redact

APPSINK = "edgecam"
# Formats the appsink accepts, most preferred first; edgecam.sources.gst converts each to BGR.
SINK_FORMATS = ("I420", "NV12", "YUY2", "BGRx", "BGR")
RTSP_LATENCY_MS = 100  # jitter buffer: enough for a LAN, small enough to stay live
CSI_DEFAULT = (1280, 720, 30.0)  # Argus would otherwise pick the sensor's full, slow mode
TEST_DEFAULT = (640, 480, 30.0)
JETSON_DECODE = ("nvv4l2decoder", "nvvidconv")

# Where each element comes from, for the error that says what to install.
PACKAGES = {
    "nvarguscamerasrc": "nvidia-l4t-gstreamer (JetPack)",
    "nvvidconv": "nvidia-l4t-gstreamer (JetPack)",
    "nvv4l2decoder": "nvidia-l4t-gstreamer (JetPack)",
    "nvjpegdec": "nvidia-l4t-gstreamer (JetPack)",
    "v4l2src": "gstreamer1.0-plugins-good",
    "rtspsrc": "gstreamer1.0-plugins-good",
    "jpegdec": "gstreamer1.0-plugins-good",
    "videoflip": "gstreamer1.0-plugins-good",
    "videotestsrc": "gstreamer1.0-plugins-base",
    "decodebin": "gstreamer1.0-plugins-base",
    "videoconvert": "gstreamer1.0-plugins-base",
    "videoscale": "gstreamer1.0-plugins-base",
    "videorate": "gstreamer1.0-plugins-base",
    "appsink": "gstreamer1.0-plugins-base",
    "filesrc": "libgstreamer1.0-0",
}

# edgecam's flip names (jetson-inference's) → videoflip's video-direction, nvvidconv's method.
_VIDEOFLIP: dict[str, str] = {
    "none": "identity",
    "clockwise": "90r",
    "counterclockwise": "90l",
    "rotate-180": "180",
    "horizontal": "horiz",
    "vertical": "vert",
    "upper-left-diagonal": "ul-lr",
    "upper-right-diagonal": "ur-ll",
}
_NVVIDCONV: dict[str, int] = {
    "none": 0,
    "counterclockwise": 1,
    "rotate-180": 2,
    "clockwise": 3,
    "horizontal": 4,
    "upper-right-diagonal": 5,
    "vertical": 6,
    "upper-left-diagonal": 7,
}

V4l2Codec = Literal["raw", "mjpeg", "auto"]


def quote(value: str) -> str:
    """A property value as parse_launch reads it back unchanged, spaces and quotes included."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def fraction(fps: float) -> str:
    """``30000/1001`` for 29.97: caps hold rates as fractions."""
    rate = Fraction(fps).limit_denominator(1001)
    return f"{rate.numerator}/{rate.denominator}"


def require(elements: Collection[str], what: str, *names: str) -> None:
    """Raise the one-line error naming the first missing element and where it comes from."""
    for name in names:
        if name not in elements:
            package = PACKAGES.get(name, "a GStreamer plugin package")
            fix = (
                "run on a Jetson with JetPack"
                if "JetPack" in package
                else "run scripts/setup.sh as root"
            )
            raise SourceError(
                f"source {what} needs the GStreamer element {name} (from {package}): "
                f"{fix}, then check with edgecam doctor"
            )


def is_jetson(elements: Collection[str]) -> bool:
    """NVIDIA's decoder and converter are there, so decoding can leave the CPU."""
    return all(name in elements for name in JETSON_DECODE)


def appsink(*, live: bool, sync: bool = False) -> str:
    """One buffer and drop the older for a live source; for replay, wait for the reader.

    ``enable-last-sample=false`` so the sink holds no extra buffer (on a Jetson those come
    from a small hardware pool).
    """
    queue = "max-buffers=1 drop=true" if live else "max-buffers=8 drop=false"
    return (
        f"appsink name={APPSINK} emit-signals=false enable-last-sample=false qos=false "
        f"sync={str(sync).lower()} {queue}"
    )


def _size_caps(opts: CaptureOptions) -> str:
    return f",width={opts.width},height={opts.height}" if opts.width and opts.height else ""


def _rate_caps(opts: CaptureOptions) -> str:
    return f",framerate={fraction(opts.fps)}" if opts.fps else ""


def cpu_tail(
    opts: CaptureOptions,
    elements: Collection[str],
    what: str,
    *,
    live: bool,
    sync: bool = False,
    flip: bool = True,
    scale: bool = True,
    rate: bool = False,
    upright: bool = False,
) -> str:
    """Flip, scale and rate on the CPU where asked (and not done upstream), then the sink.

    ``upright``: with no flip asked, turn frames as the stream's orientation tag says (a
    phone records portrait video as landscape frames marked "rotate 90"), as OpenCV's capture
    does by itself; videoflip passes frames through untouched when there is no such tag."""
    parts: list[str] = []
    if flip and opts.flip != "none":
        require(elements, what, "videoflip")
        parts.append(f"videoflip video-direction={_VIDEOFLIP[opts.flip]}")
    elif upright and opts.flip == "none":
        require(elements, what, "videoflip")
        parts.append("videoflip video-direction=auto")
    caps = ""
    if rate and opts.fps:
        require(elements, what, "videorate")
        parts.append("videorate drop-only=true")
        caps += _rate_caps(opts)
    if scale and opts.width and opts.height:
        require(elements, what, "videoscale")
        parts.append("videoscale")
        caps += _size_caps(opts)
    require(elements, what, "videoconvert", "appsink")
    formats = ",".join(SINK_FORMATS)
    parts.append("videoconvert")
    parts.append(f"video/x-raw,format={{{formats}}}{caps}")
    parts.append(appsink(live=live, sync=sync))
    return " ! ".join(parts)


def _nvvidconv(opts: CaptureOptions, *, scale: bool) -> str:
    """Out of NVMM as I420: half BGRx's bytes to copy, and kept as it is until a stage wants
    colour (see :class:`~edgecam.types.Frame`); the gate reads its luma."""
    size = _size_caps(opts) if scale else ""
    return f"nvvidconv flip-method={_NVVIDCONV[opts.flip]} ! video/x-raw,format=I420{size}"


def csi_launch(sensor: int, opts: CaptureOptions, elements: Collection[str]) -> str:
    """A Jetson CSI sensor through Argus; NVMM frames leave the GPU once, as I420."""
    what = f"csi://{sensor}"
    require(elements, what, "nvarguscamerasrc", "nvvidconv")
    width = opts.width or CSI_DEFAULT[0]
    height = opts.height or CSI_DEFAULT[1]
    fps = opts.fps or CSI_DEFAULT[2]
    return (
        f"nvarguscamerasrc sensor-id={sensor} ! "
        f"video/x-raw(memory:NVMM),width={width},height={height},"
        f"framerate={fraction(fps)},format=NV12 ! "
        f"{_nvvidconv(opts, scale=False)} ! "
        + cpu_tail(opts, elements, what, live=True, flip=False, scale=False)
    )


@dataclass(frozen=True)
class V4l2Mode:
    """One size a V4L2 device offers in one encoding, at its fastest rate."""

    codec: Literal["raw", "mjpeg"]
    width: int
    height: int
    fps: float


_STRUCT = re.compile(r"(video/x-raw|image/jpeg)(?:\([^)]*\))?,([^;]*)")


def parse_v4l2_modes(caps: str) -> list[V4l2Mode]:
    """The modes in a device's caps string (``gst-device-monitor-1.0``'s form).

    Sizes given as ranges (some drivers) are skipped: such a device takes what is asked.
    """
    modes: list[V4l2Mode] = []
    for media, body in _STRUCT.findall(caps):
        width = re.search(r"width=\(int\)(\d+)", body)
        height = re.search(r"height=\(int\)(\d+)", body)
        if not width or not height:
            continue
        rates = [
            int(n) / int(d)
            for n, d in re.findall(r"(\d+)/(\d+)", body.partition("framerate=")[2])
            if int(d)
        ]
        modes.append(
            V4l2Mode(
                "raw" if media == "video/x-raw" else "mjpeg",
                int(width.group(1)),
                int(height.group(1)),
                max(rates, default=0.0),
            )
        )
    return modes


def choose_v4l2_codec(modes: list[V4l2Mode], opts: CaptureOptions) -> V4l2Codec:
    """Raw when the device gives the asked size and rate uncompressed (no decode at all),
    else MJPEG when it has that, else let decodebin negotiate whatever comes."""

    def fits(mode: V4l2Mode) -> bool:
        size = not (opts.width and opts.height) or (mode.width, mode.height) == (
            opts.width,
            opts.height,
        )
        return size and (not opts.fps or mode.fps + 1e-3 >= opts.fps)

    if any(m.codec == "raw" and fits(m) for m in modes):
        return "raw"
    if any(m.codec == "mjpeg" and fits(m) for m in modes):
        return "mjpeg"
    return "auto"


def v4l2_launch(
    device: str,
    opts: CaptureOptions,
    elements: Collection[str],
    codec: V4l2Codec = "auto",
) -> str:
    """A USB (UVC) or other V4L2 camera: raw frames as they are, MJPEG through the Jetson's
    JPEG decoder where there is one, else ``jpegdec``."""
    what = f"v4l2://{device}"
    require(elements, what, "v4l2src")
    head = f"v4l2src device={quote(device)} do-timestamp=true"
    ask = f"{_size_caps(opts)}{_rate_caps(opts)}"
    if codec == "raw":
        return f"{head} ! video/x-raw{ask} ! " + cpu_tail(
            opts, elements, what, live=True, scale=False
        )
    if codec == "mjpeg":
        if is_jetson(elements):
            return (
                f"{head} ! image/jpeg{ask} ! nvv4l2decoder mjpeg=1 ! "
                f"{_nvvidconv(opts, scale=False)} ! "
                + cpu_tail(opts, elements, what, live=True, flip=False, scale=False)
            )
        decoder = "nvjpegdec ! video/x-raw" if "nvjpegdec" in elements else "jpegdec"
        if decoder == "jpegdec":
            require(elements, what, "jpegdec")
        return f"{head} ! image/jpeg{ask} ! {decoder} ! " + cpu_tail(
            opts, elements, what, live=True, scale=False
        )
    require(elements, what, "decodebin")
    caps = f"video/x-raw{ask};image/jpeg{ask}" if ask else ""
    if caps:
        head = f"{head} ! capsfilter caps={quote(caps)}"
    filtered = f"{head} ! decodebin"
    return f"{filtered} ! " + _decoded_tail(opts, elements, what, live=True, scale=False)


def _decoded_tail(
    opts: CaptureOptions,
    elements: Collection[str],
    what: str,
    *,
    live: bool,
    sync: bool = False,
    scale: bool = True,
    rate: bool = False,
    upright: bool = False,
) -> str:
    """After decodebin: on a Jetson nvvidconv takes its NVMM (or plain) frames, flips and
    scales them; elsewhere the CPU does. ``upright``: see :func:`cpu_tail` (on a Jetson the
    CPU turns a tagged stream, after nvvidconv)."""
    if is_jetson(elements):
        return f"{_nvvidconv(opts, scale=scale)} ! " + cpu_tail(
            opts,
            elements,
            what,
            live=live,
            sync=sync,
            flip=False,
            scale=False,
            rate=rate,
            upright=upright,
        )
    return cpu_tail(
        opts, elements, what, live=live, sync=sync, scale=scale, rate=rate, upright=upright
    )


def file_launch(
    path: str,
    opts: CaptureOptions,
    elements: Collection[str],
    *,
    live: bool = False,
    realtime: bool = False,
) -> str:
    """A recording through decodebin (which ranks nvv4l2decoder first on a Jetson).

    ``realtime`` lets the sink keep the file's own pace (``sync=true``).
    """
    what = f"file://{path}"
    require(elements, what, "filesrc", "decodebin")
    return f"filesrc location={quote(path)} ! decodebin ! " + _decoded_tail(
        opts, elements, what, live=live, sync=realtime, rate=True, upright=True
    )


def rtsp_launch(uri: str, opts: CaptureOptions, elements: Collection[str]) -> str:
    """An IP camera: a short jitter buffer that drops rather than lags, video stream only."""
    what = redact(uri)
    require(elements, what, "rtspsrc", "decodebin")
    return (
        f"rtspsrc location={quote(uri)} latency={RTSP_LATENCY_MS} drop-on-latency=true "
        "! application/x-rtp,media=video ! decodebin ! "
        + _decoded_tail(opts, elements, what, live=True, rate=True)
    )


_PATTERN = re.compile(r"[a-z0-9-]+")


def pattern_launch(
    pattern: str, opts: CaptureOptions, elements: Collection[str], *, live: bool = True
) -> str:
    """videotestsrc as a camera (``is-live``: frames come at the clock's pace)."""
    what = f"test://{pattern}"
    if not _PATTERN.fullmatch(pattern):
        raise SourceError(
            f"source {what}: a test pattern is a name like smpte, ball or snow "
            "(see gst-inspect-1.0 videotestsrc)"
        )
    require(elements, what, "videotestsrc")
    width = opts.width or TEST_DEFAULT[0]
    height = opts.height or TEST_DEFAULT[1]
    fps = opts.fps or TEST_DEFAULT[2]
    return (
        f"videotestsrc is-live={str(live).lower()} pattern={pattern} ! "
        f"video/x-raw,width={width},height={height},framerate={fraction(fps)} ! "
        + cpu_tail(opts, elements, what, live=live, scale=False)
    )


def expert_launch(text: str) -> str:
    """A user's own pipeline (``gst:...``); it must end in an appsink, which edgecam names
    ``edgecam`` and sets up (queue, drop policy, and BGR-friendly caps unless given)."""
    head, _, last = text.strip().rpartition("!")
    sink = last.strip()
    if not re.fullmatch(r"appsink\b.*", sink):
        raise SourceError(
            "source gst:...: the pipeline must end in an appsink, e.g. "
            "gst:videotestsrc ! videoconvert ! appsink"
        )
    sink = re.sub(r"\s+name=\S+", "", sink) + f" name={APPSINK}"
    return f"{head.strip()} ! {sink}" if head.strip() else sink

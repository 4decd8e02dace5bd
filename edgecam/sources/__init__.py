"""Where frames come from: one module per capture backend behind one protocol, and a URI parser.

URIs: ``demo`` (the bundled recording, looping, paced like a camera), ``synthetic`` or
``synthetic:DIGITS[,DIGITS...]`` (a drawn sheet, endless), a video path or ``file:///path``.
Camera URIs (``v4l2://``, ``csi://``, ``rtsp://``) need the GStreamer source.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

from edgecam.sources.base import Source, SourceError

DEMO_VIDEO = Path(__file__).resolve().parent.parent / "data" / "demo.mp4"
CAMERA_SCHEMES = ("v4l2", "csi", "rtsp", "rtsps", "http", "https", "gst")

__all__ = ["DEMO_VIDEO", "Source", "SourceError", "open_source", "redact"]


def redact(uri: str) -> str:
    """The URI with any password replaced, fit for a log line."""
    return re.sub(r"(//[^/@:]*):[^/@]*@", r"\1:***@", uri)


def open_source(
    uri: str,
    *,
    camera_id: str = "cam0",
    realtime: bool = False,
    loop: bool = False,
    live: bool | None = None,
) -> Source:
    """The source a URI names. ``realtime``/``loop`` apply to files; ``live`` (default: true
    for cameras and the demo, false for files) picks freshest-frame delivery."""
    from edgecam.sources.synthetic import SyntheticSource
    from edgecam.sources.video import VideoFileSource

    text = uri.strip()
    if not text:
        raise SourceError("empty source: give a video path, 'demo' or 'synthetic'")
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
    if text == "synthetic" or text.startswith("synthetic:"):
        spec = text.partition(":")[2]
        rows = tuple(r for r in spec.split(",") if r) or ("0123456789",)
        if not all(r.isdigit() for r in rows):
            raise SourceError(f"source {text!r}: synthetic rows must be digits, e.g. synthetic:123")
        return SyntheticSource(rows, camera_id=camera_id, live=True if live is None else live)
    parts = urlsplit(text)
    if parts.scheme in CAMERA_SCHEMES:
        raise SourceError(
            f"source {redact(text)}: {parts.scheme}:// cameras need the GStreamer capture "
            "backend, which this build does not have yet: replay a recording instead"
        )
    path = Path(unquote(parts.path)) if parts.scheme == "file" else Path(text)
    if parts.scheme not in ("", "file") and not path.exists():
        raise SourceError(
            f"source {redact(text)}: unknown scheme {parts.scheme!r} "
            "(use a video path, file://, demo or synthetic)"
        )
    return VideoFileSource(
        path,
        camera_id=camera_id,
        realtime=realtime,
        live=bool(live),
        loop=loop,
    )

"""The few types every stage speaks: a frame, columnar detections, and a published result."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import numpy as np
import numpy.typing as npt

BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Detections:
    """Digits found in one picture, stored column-wise so stages can filter with one mask.

    ``boxes`` are ``(x, y, w, h)`` in the picture's own pixels; ``labels`` are 0-9 and
    ``confidences`` the backend's probability for that label. ``track_ids`` is -1 until a
    tracker assigns ids.
    """

    boxes: npt.NDArray[np.int32]
    labels: npt.NDArray[np.int64]
    confidences: npt.NDArray[np.float32]
    track_ids: npt.NDArray[np.int64] = field(default_factory=lambda: np.empty(0, np.int64))

    def __post_init__(self) -> None:
        n = len(self.boxes)
        if self.boxes.shape != (n, 4):
            raise ValueError(f"boxes must have shape (n, 4), got {self.boxes.shape}")
        if self.labels.shape != (n,) or self.confidences.shape != (n,):
            raise ValueError(
                f"labels {self.labels.shape} and confidences {self.confidences.shape} "
                f"must have shape ({n},)"
            )
        if self.track_ids.shape == (0,) and n:
            object.__setattr__(self, "track_ids", np.full(n, -1, np.int64))
        elif self.track_ids.shape != (n,):
            raise ValueError(f"track_ids must have shape ({n},), got {self.track_ids.shape}")

    @classmethod
    def empty(cls) -> Detections:
        return cls(
            boxes=np.empty((0, 4), np.int32),
            labels=np.empty(0, np.int64),
            confidences=np.empty(0, np.float32),
        )

    def __len__(self) -> int:
        return len(self.boxes)

    def records(self, *, tracks: bool = True) -> list[dict[str, Any]]:
        """One published record per digit (``label``, ``confidence`` to 4 places, ``box``,
        and ``track`` unless ``tracks`` is false), for a frame's result and a picture's
        ``classify --json`` line alike. The columns become Python lists once, not element by
        element: every result of every frame passes here (49 -> 28 µs for 11 digits)."""
        boxes = self.boxes.astype(np.int64, copy=False).tolist()
        labels = self.labels.astype(np.int64, copy=False).tolist()
        confidences = [round(c, 4) for c in self.confidences.tolist()]
        if not tracks:
            return [
                {"label": label, "confidence": conf, "box": box}
                for box, label, conf in zip(boxes, labels, confidences, strict=True)
            ]
        ids = self.track_ids.astype(np.int64, copy=False).tolist()
        return [
            {"label": label, "confidence": conf, "box": box, "track": track}
            for box, label, conf, track in zip(boxes, labels, confidences, ids, strict=True)
        ]

    def __getitem__(self, mask: BoolArray | npt.NDArray[np.intp]) -> Detections:
        """Select rows by boolean mask or index array, keeping every column aligned."""
        return Detections(
            boxes=self.boxes[mask],
            labels=self.labels[mask],
            confidences=self.confidences[mask],
            track_ids=self.track_ids[mask],
        )


@dataclass(frozen=True)
class Yuv:
    """A frame as a decoder or camera gave it, laid out as OpenCV's conversions take it:
    ``I420`` (Y, U, V planes) or ``NV12`` (Y, interleaved UV) in one
    ``(even_h * 3 // 2, even_w)`` array, or ``YUY2`` (a USB webcam's packed 4:2:2) as
    ``(h, even_w, 2)``; ``width`` × ``height`` of it the picture (odd sizes padded)."""

    data: npt.NDArray[np.uint8]
    format: str  # "I420", "NV12" or "YUY2"
    width: int
    height: int
    full_range: bool = False  # 0-255 (JPEG's, so an MJPEG camera's or file's), not 16-235

    def luma(self) -> npt.NDArray[np.uint8]:
        """The Y samples (a view): 16 black, 235 white, or 0 and 255 if ``full_range``."""
        if self.format == "YUY2":
            return self.data[: self.height, : self.width, 0]
        return self.data[: self.height, : self.width]

    def bgr(self) -> npt.NDArray[np.uint8]:
        """BGR by OpenCV's BT.601 conversion, which takes video range: a full-range frame's
        samples are brought into it first. Converted as if video range, a frame of
        GStreamer's JPEG decoder was 31 dB from OpenCV's own decoding of the same MJPEG
        file; now 48 dB."""
        import cv2

        code = {
            "I420": cv2.COLOR_YUV2BGR_I420,
            "NV12": cv2.COLOR_YUV2BGR_NV12,
            "YUY2": cv2.COLOR_YUV2BGR_YUY2,
        }[self.format]
        data = (
            _to_video_range(self.data, self.format, self.height) if self.full_range else self.data
        )
        bgr = np.asarray(cv2.cvtColor(data, code), np.uint8)
        if bgr.shape[:2] != (self.height, self.width):
            bgr = np.ascontiguousarray(bgr[: self.height, : self.width])
        return bgr


VIDEO_BLACK, VIDEO_WHITE = 16, 235  # luma in video range (chroma: 16-240 about 128)
_LEVELS = np.arange(256, dtype=np.float64)
_LUMA_TO_VIDEO = np.round(VIDEO_BLACK + _LEVELS * (VIDEO_WHITE - VIDEO_BLACK) / 255).astype(
    np.uint8
)
_CHROMA_TO_VIDEO = np.round(128 + (_LEVELS - 128) * 224 / 255).astype(np.uint8)


def _to_video_range(data: npt.NDArray[np.uint8], fmt: str, height: int) -> npt.NDArray[np.uint8]:
    """Full-range YUV samples mapped into video range (luma 16-235, chroma 16-240)."""
    out = np.empty_like(data)
    if fmt == "YUY2":
        out[:, :, 0] = _LUMA_TO_VIDEO[data[:, :, 0]]
        out[:, :, 1] = _CHROMA_TO_VIDEO[data[:, :, 1]]
    else:  # the Y plane's rows, then the chroma's
        rows = height + height % 2
        out[:rows] = _LUMA_TO_VIDEO[data[:rows]]
        out[rows:] = _CHROMA_TO_VIDEO[data[rows:]]
    return out


class Frame:
    """One picture from a source, stamped so every later stage can say how old its data is.

    ``seq`` counts frames the source produced (0-based; for a file, the frame's index in it),
    so a gap between consecutive frames a consumer sees is the number it dropped.
    ``captured_mono`` (``time.monotonic()``) measures latency; ``captured_wall``
    (``time.time()``) is what results publish.

    Frozen, as every stage may hold it. A source whose decoder or camera gives YUV hands the
    frame over as it came (``yuv``) and ``image`` converts it to BGR on first use (and keeps
    that), as DeepStream keeps NV12 until a stage needs RGB. Most frames are never looked at
    in colour: the motion gate looks at luma, and only the frames read in full, drawn or
    streamed need BGR. Keeping the planes is a 17 µs copy of a VGA frame against an 80 µs
    conversion at best (cache warm; more on a board's ARM cores); replaying the bench video
    through GStreamer took 7 % less CPU (4.46 → 4.14 s).
    """

    __slots__ = ("_image", "_lock", "captured_mono", "captured_wall", "seq", "source_id", "yuv")
    _image: npt.NDArray[np.uint8] | None
    _lock: threading.Lock
    yuv: Yuv | None
    seq: int
    captured_mono: float
    captured_wall: float
    source_id: str

    def __init__(
        self,
        image: npt.NDArray[np.uint8] | None,
        seq: int,
        captured_mono: float,
        captured_wall: float,
        source_id: str,
        *,
        yuv: Yuv | None = None,
    ) -> None:
        if image is None and yuv is None:
            raise ValueError("a frame needs an image or its YUV planes")
        fields = {
            "_image": image,
            "yuv": yuv,
            "seq": seq,
            "captured_mono": captured_mono,
            "captured_wall": captured_wall,
            "source_id": source_id,
            "_lock": threading.Lock(),
        }
        for name, value in fields.items():
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"Frame is frozen: {name} cannot be set")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"Frame is frozen: {name} cannot be deleted")

    @property
    def image(self) -> npt.NDArray[np.uint8]:
        """The picture in BGR (converted from ``yuv`` once, by whichever thread asks first)."""
        image = self._image
        if image is None:
            with self._lock:
                image = self._image
                if image is None:
                    assert self.yuv is not None
                    image = self.yuv.bgr()
                    object.__setattr__(self, "_image", image)  # the same picture, cached
        return image

    @property
    def width(self) -> int:
        return self.yuv.width if self.yuv is not None else int(self.image.shape[1])

    @property
    def height(self) -> int:
        return self.yuv.height if self.yuv is not None else int(self.image.shape[0])

    def __repr__(self) -> str:
        kind = self.yuv.format if self._image is None and self.yuv else "bgr"
        return (
            f"Frame(seq={self.seq}, {self.width}x{self.height} {kind}, "
            f"source_id={self.source_id!r}, captured_mono={self.captured_mono:.3f})"
        )


RESULT_SCHEMA = "edgecam.result/1"


def iso_utc(wall: float) -> str:
    """``time.time()`` as ISO 8601 UTC with milliseconds, the form every result publishes."""
    stamp = datetime.fromtimestamp(wall, tz=timezone.utc)
    return stamp.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Result:
    """What the daemon publishes for one frame (schema ``edgecam.result/1``).

    ``detections`` carry stable labels and track ids; ``latency_ms`` has one entry per stage
    plus ``capture_to_result``, measured from the frame's monotonic capture time.
    """

    camera: str
    frame: int
    captured_wall: float
    width: int
    height: int
    detections: Detections
    text: str
    latency_ms: dict[str, float]
    keyframe: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": RESULT_SCHEMA,
            "camera": self.camera,
            "frame": self.frame,
            "captured_at": iso_utc(self.captured_wall),
            "width": self.width,
            "height": self.height,
            "detections": self.detections.records(),
            "text": self.text,
            "latency_ms": {k: round(v, 3) for k, v in self.latency_ms.items()},
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"))

"""Drawing a Result on a frame: small annotators, each testable pixel by pixel, run in order.

Every annotator draws into the BGR uint8 image it is given (in place) and returns it, and never
writes outside it: shapes are cut to the image with numpy slices, and text is drawn into a
small patch first, so a box at the image's edge cannot wrap round to the other side.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

import cv2
import numpy as np
import numpy.typing as npt

from edgecam.types import Frame, Result

Image = npt.NDArray[np.uint8]
Color = tuple[int, int, int]
"""Blue, green, red, as OpenCV stores them."""

PALETTE: tuple[Color, ...] = (
    (255, 128, 0),  # azure
    (0, 200, 255),  # amber
    (255, 0, 200),  # violet
    (0, 220, 0),  # green
    (0, 64, 255),  # orange-red
    (255, 255, 0),  # cyan
    (128, 0, 255),  # pink
    (0, 255, 200),  # lime
    (200, 100, 100),  # slate blue
    (80, 160, 255),  # apricot
)
"""Saturated colours, none close to the status bar's near-black and white."""

STATUS_BACKGROUND: Color = (32, 32, 32)
STATUS_FOREGROUND: Color = (255, 255, 255)
FONT = cv2.FONT_HERSHEY_SIMPLEX


def track_color(track_id: int, label: int) -> Color:
    """Colour by track id, so a digit keeps its colour while it moves and its label settles;
    a digit the tracker has not named yet (-1) takes its label's colour."""
    key = track_id if track_id >= 0 else label
    return PALETTE[key % len(PALETTE)]


def ui_scale(scene: Image) -> float:
    """Font scale that keeps text readable from 320×240 up to 4K (0.5 at 480 lines)."""
    return max(0.35, min(int(scene.shape[0]), int(scene.shape[1])) / 960)


def text_color(background: Color) -> Color:
    """Black on light backgrounds, white on dark ones, so the label stays readable."""
    blue, green, red = background
    return (0, 0, 0) if 0.114 * blue + 0.587 * green + 0.299 * red > 140 else (255, 255, 255)


def paste(scene: Image, patch: Image, x: int, y: int) -> None:
    """Copy ``patch`` with its top-left at (x, y), keeping only what falls inside ``scene``."""
    height, width = scene.shape[:2]
    ph, pw = patch.shape[:2]
    x0, y0 = max(x, 0), max(y, 0)
    x1, y1 = min(x + pw, width), min(y + ph, height)
    if x0 < x1 and y0 < y1:
        scene[y0:y1, x0:x1] = patch[y0 - y : y1 - y, x0 - x : x1 - x]


def fill(scene: Image, rect: tuple[int, int, int, int], color: Color) -> None:
    """Fill ``rect`` = (x0, y0, x1, y1), end exclusive, cut to the image (so negative
    coordinates are clipped, not counted from the far side as numpy would)."""
    height, width = scene.shape[:2]
    x0, y0 = max(rect[0], 0), max(rect[1], 0)
    x1, y1 = min(rect[2], width), min(rect[3], height)
    if x0 < x1 and y0 < y1:
        scene[y0:y1, x0:x1] = color


def text_patch(
    text: str, scale: float, background: Color, foreground: Color, padding: int
) -> Image:
    """Text on a filled rectangle, drawn apart from the scene so it can be cut to fit."""
    thickness = max(1, round(scale * 2))
    (tw, th), _baseline = cv2.getTextSize(text, FONT, scale, thickness)
    patch = np.empty((th + 2 * padding + thickness, tw + 2 * padding, 3), np.uint8)
    patch[:] = background
    cv2.putText(
        patch, text, (padding, padding + th), FONT, scale, foreground, thickness, cv2.LINE_AA
    )
    return patch


@runtime_checkable
class Annotator(Protocol):
    """One drawing step: draws ``result`` on ``scene`` (in place) and returns the scene."""

    def annotate(self, scene: Image, result: Result) -> Image: ...


@dataclass
class BoxAnnotator:
    """A rectangle per detection, drawn inside the box's own pixels so it never covers the
    label above it; edges outside the image are left out rather than moved onto its border.

    ``thickness`` None scales with the image (2 px at 480 lines), capped at a quarter of the
    box's smaller side so a small digit is outlined, not painted over.
    """

    thickness: int | None = None

    def annotate(self, scene: Image, result: Result) -> Image:
        det = result.detections
        base = self.thickness or max(1, round(min(scene.shape[:2]) / 240))
        for box, label, track in zip(det.boxes, det.labels, det.track_ids, strict=True):
            x, y, w, h = (int(v) for v in box)
            if w <= 0 or h <= 0:
                continue
            t = max(1, min(base, min(w, h) // 4))
            color = track_color(int(track), int(label))
            fill(scene, (x, y, x + w, y + t), color)  # top
            fill(scene, (x, y + h - t, x + w, y + h), color)  # bottom
            fill(scene, (x, y, x + t, y + h), color)  # left
            fill(scene, (x + w - t, y, x + w, y + h), color)  # right
        return scene


@dataclass
class LabelAnnotator:
    """Label and confidence ("7 0.98") on the track's colour, sitting on the box's top edge;
    below the box when there is no room above, inside its top when there is room for neither,
    and shifted left to stay in the picture at the right edge. ``scale`` None follows
    :func:`ui_scale`."""

    scale: float | None = None
    padding: int | None = None

    def annotate(self, scene: Image, result: Result) -> Image:
        det = result.detections
        height, width = scene.shape[:2]
        scale = self.scale or ui_scale(scene)
        padding = self.padding if self.padding is not None else max(2, round(6 * scale))
        for box, label, conf, track in zip(
            det.boxes, det.labels, det.confidences, det.track_ids, strict=True
        ):
            x, y, _, h = (int(v) for v in box)
            color = track_color(int(track), int(label))
            patch = text_patch(
                f"{int(label)} {float(conf):.2f}", scale, color, text_color(color), padding
            )
            ph, pw = patch.shape[:2]
            if y - ph >= 0:
                top = y - ph
            elif y + h + ph <= height:
                top = y + h
            else:
                top = max(y, 0)
            left = max(0, min(x, width - pw))
            paste(scene, patch, left, top)
        return scene


Position = Literal["top", "bottom"]


@dataclass
class StatusBar:
    """A strip across the top (or bottom) with frame rate, latency, digit count and reading.

    The frame rate is measured here from the capture times of the last ``window`` results
    seen (drawn, or passed to :meth:`observe` when a window skips drawing), so it is the rate
    the pipeline delivers after any drops, with no rate to pass in. A result seen twice (one
    overlay shared by two sinks) counts once; a camera change, a frame number going back or a
    clock step back starts the window again.

    ``extras`` maps a field's name to a function returning its text ("temp" -> "52C"): a
    monitor adds one without changing this class. The functions run on the drawing thread for
    every frame, so they should only read a value kept up to date elsewhere; one that raises
    shows "?" and the frame is still drawn. Keep the text ASCII ("52C"): OpenCV 5 draws any
    UTF-8, but OpenCV 4's Hershey fonts (JetPack's build) draw "?" for the rest.
    """

    position: Position = "top"
    window: int = 30
    extras: dict[str, Callable[[], str]] = field(default_factory=dict)
    scale: float | None = None
    _times: deque[float] = field(init=False, repr=False)
    _last: tuple[str, int] | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.position not in ("top", "bottom"):
            raise ValueError(f"position must be 'top' or 'bottom', got {self.position!r}")
        if self.window < 2:
            raise ValueError(f"window must be at least 2 results, got {self.window}")
        self._times = deque(maxlen=self.window)

    def fps(self) -> float | None:
        """Results per second over the window; None until two results a moment apart."""
        if len(self._times) < 2 or self._times[-1] <= self._times[0]:
            return None
        return (len(self._times) - 1) / (self._times[-1] - self._times[0])

    def observe(self, result: Result) -> None:
        key = (result.camera, result.frame)
        if key == self._last:
            return
        restart = self._last is not None and (key[0] != self._last[0] or key[1] < self._last[1])
        if restart or (self._times and result.captured_wall < self._times[-1]):
            self._times.clear()
        self._last = key
        self._times.append(result.captured_wall)

    def fields(self, result: Result) -> list[str]:
        fps = self.fps()
        parts = [f"{fps:.1f} fps" if fps is not None else "-- fps"]
        latency = result.latency_ms.get("capture_to_result")
        parts.append(f"{latency:.0f} ms" if latency is not None else "-- ms")
        n = len(result.detections)
        parts.append(f"{n} digit" if n == 1 else f"{n} digits")
        if result.text:
            parts.append(f'"{result.text}"')
        for name, read in self.extras.items():
            try:
                value = read()
            except Exception:  # a monitor's hiccup must not cost the frame
                value = "?"
            parts.append(f"{name} {value}")
        return parts

    def height(self, scene: Image) -> int:
        return int(
            text_patch("0", self._scale(scene), (0, 0, 0), (0, 0, 0), self._pad(scene)).shape[0]
        )

    def annotate(self, scene: Image, result: Result) -> Image:
        self.observe(result)
        height, width = scene.shape[:2]
        patch = text_patch(
            "  |  ".join(self.fields(result)),
            self._scale(scene),
            STATUS_BACKGROUND,
            STATUS_FOREGROUND,
            self._pad(scene),
        )
        bar = np.empty((patch.shape[0], width, 3), np.uint8)
        bar[:] = STATUS_BACKGROUND
        paste(bar, patch, 0, 0)
        paste(scene, bar, 0, 0 if self.position == "top" else height - bar.shape[0])
        return scene

    def _scale(self, scene: Image) -> float:
        return self.scale or ui_scale(scene)

    def _pad(self, scene: Image) -> int:
        return max(2, round(8 * self._scale(scene)))


@dataclass
class Overlay:
    """Annotators applied in order. Sinks may share one (all emit on the output thread, and
    the status bar counts a result once) or each build their own."""

    annotators: list[Annotator] = field(default_factory=list)

    @classmethod
    def default(
        cls,
        status_bar: bool = True,
        position: Position = "top",
        extras: Mapping[str, Callable[[], str]] | None = None,
    ) -> Overlay:
        """Boxes, then labels over them, then the status bar over both."""
        steps: list[Annotator] = [BoxAnnotator(), LabelAnnotator()]
        if status_bar:
            steps.append(StatusBar(position=position, extras=dict(extras or {})))
        return cls(steps)

    @property
    def status_bar(self) -> StatusBar | None:
        """The first status bar, where a monitor adds its field."""
        return next((a for a in self.annotators if isinstance(a, StatusBar)), None)

    def annotate(self, scene: Image, result: Result) -> Image:
        for annotator in self.annotators:
            scene = annotator.annotate(scene, result)
        return scene

    def observe(self, result: Result) -> None:
        """Count a result that is not drawn (a window's rate cap), so the status bar's frame
        rate stays the pipeline's rather than the screen's."""
        for annotator in self.annotators:
            if isinstance(annotator, StatusBar):
                annotator.observe(result)

    def render(self, frame: Frame, result: Result) -> Image:
        """A drawn copy of the frame; the frame itself stays as captured for other sinks."""
        return self.annotate(as_bgr(frame.image), result)


def as_bgr(image: npt.NDArray[np.uint8]) -> Image:
    """A BGR copy of a grey, BGR or BGRA picture, ready to draw on in colour."""
    if image.ndim == 2:
        return np.asarray(cv2.cvtColor(image, cv2.COLOR_GRAY2BGR), np.uint8)
    if image.ndim == 3 and image.shape[2] == 3:
        return np.array(image, np.uint8, copy=True)
    if image.ndim == 3 and image.shape[2] == 4:
        return np.asarray(cv2.cvtColor(image, cv2.COLOR_BGRA2BGR), np.uint8)
    raise ValueError(f"cannot draw on an image of shape {image.shape}: expected grey or BGR")

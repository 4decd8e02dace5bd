"""A camera made of code: a sheet with known digits drifting in view, for demos and tests.

It needs no camera, file or display, and it knows its own truth (:meth:`truth`), so tests of
the whole loop can check what was read and where. The digits are drawn with OpenCV's
handwriting-like Hershey script strokes in a pen width a camera would see.
"""

from __future__ import annotations

import math
import time

import cv2
import numpy as np
import numpy.typing as npt

from edgecam.sources.base import FramePacer
from edgecam.types import Frame

_FONT = cv2.FONT_HERSHEY_SIMPLEX


class SyntheticSource:
    """``rows`` of digits on paper, drifting slowly as a hand-held camera would.

    ``frames`` bounds the source (``None``: endless); ``fps`` > 0 with ``live=True`` paces
    it like a camera, otherwise frames come as fast as they are read. ``seed`` sets the
    sensor noise.
    """

    def __init__(
        self,
        rows: tuple[str, ...] = ("0123456789",),
        *,
        width: int = 640,
        height: int = 480,
        fps: float = 30.0,
        frames: int | None = None,
        live: bool = False,
        drift: float = 6.0,
        noise: float = 3.0,
        seed: int = 0,
        camera_id: str = "synthetic",
    ) -> None:
        if not rows or not all(r.isdigit() for r in rows):
            raise ValueError(f"rows must be strings of digits, got {rows!r}")
        self.id = camera_id
        self.live = live
        self.fps = fps
        self.width, self.height = width, height
        self.frames = frames
        self.drift = drift
        self.noise = noise
        self._rng = np.random.default_rng(seed)
        self._seq = 0
        self._pacer = FramePacer(fps)
        self._closed = False
        self._sheet, self._boxes, self._labels = self._draw_sheet(rows)
        # A few grain fields drawn once and cycled: fresh noise per frame would cost more
        # than reading the frame.
        self._grain = [
            np.repeat(np.round(self._rng.normal(0, noise, (height, width, 1))), 3, axis=2).astype(
                np.int16
            )
            for _ in range(3)
        ]

    def _draw_sheet(
        self, rows: tuple[str, ...]
    ) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int32], npt.NDArray[np.int64]]:
        """The sheet once, with every digit's tight ink box."""
        w, h = self.width, self.height
        sheet = np.full((h, w, 3), (222, 228, 232), np.uint8)
        # Soft light falling off to one corner, as under a desk lamp.
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        light = 1.0 - 0.12 * ((xx / w) * 0.6 + (yy / h) * 0.4)
        sheet = (sheet * light[:, :, None]).astype(np.uint8)
        longest = max(len(r) for r in rows)
        digit_h = int(min(0.6 * h / len(rows), 0.8 * w / (longest * 0.75), 0.25 * h))
        scale = cv2.getFontScaleFromHeight(_FONT, digit_h, 3)
        pen = max(2, digit_h // 12)
        boxes: list[tuple[int, int, int, int]] = []
        labels: list[int] = []
        row_gap = h / (len(rows) + 1)
        for r, row in enumerate(rows):
            pitch = w / (len(row) + 1)
            base_y = int(row_gap * (r + 1) + digit_h / 2)
            for i, ch in enumerate(row):
                (tw, _), _ = cv2.getTextSize(ch, _FONT, scale, pen)
                x = int(pitch * (i + 1) - tw / 2)
                ink = np.zeros((h, w), np.uint8)
                cv2.putText(ink, ch, (x, base_y), _FONT, scale, 255, pen, cv2.LINE_AA)
                ys, xs = np.nonzero(ink > 96)
                boxes.append(
                    (int(xs.min()), int(ys.min()), int(np.ptp(xs)) + 1, int(np.ptp(ys)) + 1)
                )
                labels.append(int(ch))
                alpha = (ink.astype(np.float32) / 255.0)[:, :, None]
                pen_colour = np.array((70, 40, 30), np.float32)  # blue-black ballpoint
                sheet = (sheet * (1 - alpha) + pen_colour * alpha).astype(np.uint8)
        return sheet, np.array(boxes, np.int32), np.array(labels, np.int64)

    def offset(self, seq: int) -> tuple[int, int]:
        """Where the sheet sits in frame ``seq``: a slow figure of eight."""
        t = seq / max(self.fps, 1.0)
        return (
            round(self.drift * math.sin(2 * math.pi * 0.25 * t)),
            round(self.drift * math.sin(2 * math.pi * 0.5 * t)),
        )

    def truth(self, seq: int) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int64]]:
        """Boxes and labels of the digits in frame ``seq``."""
        dx, dy = self.offset(seq)
        boxes = self._boxes.copy()
        boxes[:, 0] += dx
        boxes[:, 1] += dy
        return boxes, self._labels.copy()

    def read(self) -> Frame | None:
        if self._closed or (self.frames is not None and self._seq >= self.frames):
            return None
        if self.live:
            self._pacer.wait(self._seq)
        mono, wall = time.monotonic(), time.time()
        dx, dy = self.offset(self._seq)
        m = np.array([[1, 0, dx], [0, 1, dy]], np.float32)
        image = cv2.warpAffine(
            self._sheet,
            m,
            (self.width, self.height),
            borderMode=cv2.BORDER_REPLICATE,
        )
        if self.noise > 0:
            grain = self._grain[self._seq % len(self._grain)]
            image = cv2.add(image.astype(np.int16), grain, dtype=cv2.CV_8U)
        frame = Frame(np.asarray(image, np.uint8), self._seq, mono, wall, self.id)
        self._seq += 1
        return frame

    def close(self) -> None:
        self._closed = True

"""A V4L2 camera read with OpenCV: the fallback where PyGObject or GStreamer is missing.

OpenCV's ``read`` blocks inside the driver, so unlike the GStreamer source this one cannot
notice a stall; a camera that errors or disappears is reopened with the same capped back-off.
"""

from __future__ import annotations

import logging
import threading
import time

import cv2
import numpy as np

from edgecam.sources.base import CaptureOptions, Recovery, RecoveryCounters, SourceError
from edgecam.types import Frame

log = logging.getLogger(__name__)

# edgecam's flip names → OpenCV's rotate codes, or flip codes (negative: cv2.flip, -1 - code).
_ROTATE = {
    "clockwise": cv2.ROTATE_90_CLOCKWISE,
    "counterclockwise": cv2.ROTATE_90_COUNTERCLOCKWISE,
    "rotate-180": cv2.ROTATE_180,
}
_FLIP = {"horizontal": 1, "vertical": 0}


def flip_image(image: np.ndarray, flip: str) -> np.ndarray:
    """The frame turned as ``flip`` says (the diagonals are a transpose, and a turn)."""
    if flip in _ROTATE:
        return cv2.rotate(image, _ROTATE[flip])
    if flip in _FLIP:
        return cv2.flip(image, _FLIP[flip])
    if flip == "upper-left-diagonal":
        return np.ascontiguousarray(image.transpose(1, 0, 2))
    if flip == "upper-right-diagonal":
        return cv2.rotate(np.ascontiguousarray(image.transpose(1, 0, 2)), cv2.ROTATE_180)
    return image


class OpenCVCameraSource(RecoveryCounters):
    """A live V4L2 device through ``cv2.VideoCapture(path, CAP_V4L2)``; ``stalls`` stays 0,
    since OpenCV cannot see one."""

    def __init__(
        self,
        device: str,
        *,
        camera_id: str = "cam0",
        options: CaptureOptions | None = None,
        recovery: Recovery | None = None,
    ) -> None:
        self.device = device
        self.id = camera_id
        self.live = True
        self.options = options or CaptureOptions()
        self.recovery = recovery or Recovery()
        self._seq = 0
        self._failures = 0
        self._closed = threading.Event()
        self._reading = threading.Lock()  # VideoCapture must not be released mid-read
        self._cap = self._open()
        if self._cap is None:
            raise SourceError(
                f"camera {device} cannot be opened with OpenCV (busy, or not a capture "
                "device): list the cameras with edgecam sources"
            )
        self.width = int(self._cap.get(cv2.CAP_PROP_FRAME_WIDTH))
        self.height = int(self._cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        if self.options.flip in ("clockwise", "counterclockwise") or "diagonal" in (
            self.options.flip
        ):
            self.width, self.height = self.height, self.width
        fps = float(self._cap.get(cv2.CAP_PROP_FPS) or 0.0)
        self.fps = fps if 0 < fps < 1000 else 0.0

    def _open(self) -> cv2.VideoCapture | None:
        cap = cv2.VideoCapture(self.device, cv2.CAP_V4L2)
        if not cap.isOpened():
            cap.release()
            return None
        opts = self.options
        if opts.width and opts.height:
            cap.set(cv2.CAP_PROP_FRAME_WIDTH, opts.width)
            cap.set(cv2.CAP_PROP_FRAME_HEIGHT, opts.height)
        if opts.fps:
            cap.set(cv2.CAP_PROP_FPS, opts.fps)
        cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # freshest frame: no driver queue to drain
        return cap

    def read(self) -> Frame | None:
        with self._reading:
            frame = self._read()
            if self._closed.is_set() and self._cap is not None:
                self._cap.release()
                self._cap = None
            return frame

    def _read(self) -> Frame | None:
        while not self._closed.is_set():
            if self._cap is None:
                if self._closed.wait(self.recovery.delay(self._failures)):
                    return None
                self.reconnects += 1
                self._cap = self._open()
                if self._cap is None:
                    self._failures += 1
                    continue
            ok, image = self._cap.read()
            if ok and image is not None:
                mono, wall = time.monotonic(), time.time()
                if self.status != "playing":
                    log.info("camera %s: playing", self.device)
                self.status, self._failures = "playing", 0
                frame = Frame(
                    np.asarray(flip_image(image, self.options.flip), np.uint8),
                    self._seq,
                    mono,
                    wall,
                    self.id,
                )
                self._seq += 1
                return frame
            if self._closed.is_set():
                break
            if self.status == "playing":
                self.outages += 1
                log.warning("camera %s lost; reopening", self.device)
            self.status = "reconnecting"
            self._failures += 1
            self._cap.release()
            self._cap = None
        return None

    def close(self) -> None:
        """Release the device unless a read is blocked in the driver: that read releases
        it when it returns (the pipeline does not wait for it)."""
        self._closed.set()
        self.status = "closed"
        if self._reading.acquire(timeout=0.2):
            try:
                if self._cap is not None:
                    self._cap.release()
                    self._cap = None
            finally:
                self._reading.release()

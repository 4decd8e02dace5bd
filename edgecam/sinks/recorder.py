"""Recording the overlay video: what the window shows, written to an .mp4 or .avi file."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import cv2

from edgecam.errors import UserError
from edgecam.overlay import Overlay
from edgecam.types import Frame, Result

log = logging.getLogger(__name__)

CODECS = {".mp4": "mp4v", ".avi": "MJPG"}
"""Codecs every OpenCV build with FFmpeg (pip wheels, JetPack) can write without extras."""


class RecorderError(UserError):
    """The video file cannot be written; the message is one line naming the path and the fix."""


class OverlayRecorder:
    """Writes each result drawn on its frame as one video frame at a fixed ``fps``.

    The size is the first frame's; a frame of another size (a camera renegotiating) is
    resized to it, since a video file has one size. Frames the pipeline dropped are simply
    absent, so a live recording plays faster than real time when the pipeline falls behind.
    The folder is checked when the recorder is made, so a bad path fails at start-up rather
    than at the first frame.
    """

    name = "recorder"

    def __init__(
        self, path: str | os.PathLike[str], fps: float = 30.0, overlay: Overlay | None = None
    ) -> None:
        self.path = Path(path)
        if fps <= 0:
            raise ValueError(f"fps must be positive, got {fps}")
        codec = CODECS.get(self.path.suffix.lower())
        if codec is None:
            raise RecorderError(
                f"cannot record to {self.path}: unknown video type {self.path.suffix!r}; "
                "name the file .mp4 or .avi"
            )
        folder = self.path.parent
        if not folder.is_dir():
            raise RecorderError(
                f"cannot record to {self.path}: folder {folder} does not exist; create it first"
            )
        if not os.access(folder, os.W_OK | os.X_OK):
            raise RecorderError(
                f"cannot record to {self.path}: folder {folder} is not writable; "
                "choose another folder or fix its permissions"
            )
        if self.path.is_dir():
            raise RecorderError(f"cannot record to {self.path}: it is a folder; name a file")
        self.fps = fps
        self.fourcc = codec
        self.overlay = overlay if overlay is not None else Overlay.default()
        self.frames = 0
        self.size: tuple[int, int] | None = None  # (width, height) of the video
        self._writer: cv2.VideoWriter | None = None
        self._closed = False

    def emit(self, result: Result, frame: Frame) -> None:
        if self._closed:
            raise RecorderError(f"recorder for {self.path} is closed")
        image = self.overlay.render(frame, result)
        height, width = image.shape[:2]
        if self._writer is None:
            self._writer = self._open(width, height)
            self.size = (width, height)
        if self.size != (width, height):
            self._writer.write(cv2.resize(image, self.size, interpolation=cv2.INTER_AREA))
        else:
            self._writer.write(image)
        self.frames += 1

    def close(self) -> None:
        """Finish the file (the index an .mp4 needs to play is written here)."""
        self._closed = True
        if self._writer is not None:
            self._writer.release()
            self._writer = None
            log.info("recorder: wrote %d frames to %s", self.frames, self.path)

    def _open(self, width: int, height: int) -> cv2.VideoWriter:
        fourcc = cv2.VideoWriter.fourcc(*self.fourcc)
        writer = cv2.VideoWriter(str(self.path), fourcc, self.fps, (width, height))
        if not writer.isOpened():
            raise RecorderError(
                f"cannot record to {self.path}: OpenCV could not open a {self.fourcc} writer "
                "there; check the disk has room and the path is writable, or try .avi"
            )
        return writer

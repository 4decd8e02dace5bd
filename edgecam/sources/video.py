"""A recorded video read with OpenCV: replayed as fast as possible, paced, or looped as a camera."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import cv2
import numpy as np

from edgecam.sources.base import FramePacer, SourceError
from edgecam.types import Frame

log = logging.getLogger(__name__)


class VideoFileSource:
    """Frames of a video file in order; ``seq`` is the frame's index in the file.

    ``realtime`` paces frames at the file's own rate (from the first frame read), so the
    pipeline sees them as a camera would deliver them. ``live`` makes the pipeline treat the
    file as a camera (keep only the freshest frame) — the demo does this. ``loop`` starts over
    at the end, with ``seq`` still counting up so results stay in order. ``decoder_threads``
    caps FFmpeg's threads (0: its own choice, one per core); see
    :func:`~edgecam.sources.base.replay_decoder_threads`.
    """

    def __init__(
        self,
        path: Path,
        *,
        camera_id: str = "cam0",
        realtime: bool = False,
        live: bool = False,
        loop: bool = False,
        decoder_threads: int = 0,
    ) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            what = "is a directory" if self.path.is_dir() else "not found"
            raise SourceError(f"video {self.path} {what}: give the path of a video file")
        self.decoder_threads = decoder_threads
        self._cap = self._open()
        ok, first = self._cap.read() if self._cap.isOpened() else (False, None)
        if not ok or first is None:
            self._cap.release()
            raise SourceError(
                f"video {self.path} cannot be decoded (corrupt, empty or an unsupported "
                "codec): re-encode it, e.g. ffmpeg -i IN -c:v libx264 OUT.mp4"
            )
        self._pending: np.ndarray | None = first
        self.id = camera_id
        self.live = live
        self.realtime = realtime
        self.loop = loop
        fps = float(self._cap.get(cv2.CAP_PROP_FPS) or 0.0)
        self.fps = fps if 0 < fps < 1000 else 0.0
        self.height, self.width = int(first.shape[0]), int(first.shape[1])
        self.frames_in_file = int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        self._seq = 0
        self._pacer = FramePacer(self.fps)
        self._closed = False
        self._reading = threading.Lock()  # VideoCapture must not be released mid-read
        self.loops = 0

    def _open(self) -> cv2.VideoCapture:
        if self.decoder_threads > 0:
            threads = [cv2.CAP_PROP_N_THREADS, self.decoder_threads]
            return cv2.VideoCapture(str(self.path), cv2.CAP_ANY, threads)
        return cv2.VideoCapture(str(self.path))

    def read(self) -> Frame | None:
        if self._closed:
            return None
        if self.realtime:
            self._pacer.wait(self._seq)
        mono, wall = time.monotonic(), time.time()
        with self._reading:
            image = None if self._closed else self._next_image()
            if self._closed:
                self._cap.release()
        if image is None:
            return None
        frame = Frame(np.asarray(image, np.uint8), self._seq, mono, wall, self.id)
        self._seq += 1
        return frame

    def _next_image(self) -> np.ndarray | None:
        if self._pending is not None:
            image, self._pending = self._pending, None
            return image
        ok, image = self._cap.read()
        if ok:
            return image
        if not self.loop or self._seq == 0:
            return None
        self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
        ok, image = self._cap.read()
        if not ok:  # a file that cannot seek: reopen it
            self._cap.release()
            self._cap = self._open()
            ok, image = self._cap.read()
        self.loops += 1
        log.debug("video %s: looping (%d)", self.path, self.loops)
        return image if ok else None

    def close(self) -> None:
        """Release the file unless a read is under way on another thread: that read releases
        it when it returns (releasing mid-read can hang in FFmpeg)."""
        self._closed = True
        if self._reading.acquire(timeout=0.2):
            try:
                self._cap.release()
            finally:
                self._reading.release()

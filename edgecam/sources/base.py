"""The source protocol every capture backend speaks."""

from __future__ import annotations

import time
from typing import Protocol, runtime_checkable

from edgecam.errors import UserError
from edgecam.types import Frame


class SourceError(UserError):
    """A source cannot be opened or has failed for good; the message names it and the fix."""


class FramePacer:
    """Holds frame ``seq`` back until ``seq / fps`` seconds after the first, as a camera would
    deliver it; a reader that falls behind is not made to wait more."""

    def __init__(self, fps: float) -> None:
        self.fps = fps
        self._start: float | None = None

    def wait(self, seq: int) -> None:
        if self.fps <= 0:
            return
        now = time.monotonic()
        if self._start is None:
            self._start = now
        due = self._start + seq / self.fps
        if due > now:
            time.sleep(due - now)


@runtime_checkable
class Source(Protocol):
    """Frames from one camera, file or generator.

    ``read`` blocks until the next frame and returns ``None`` at the end of a finite source.
    ``live`` says whether frames keep coming at their own pace whether or not anyone reads
    them (a camera: the pipeline keeps only the freshest) or wait to be read (a file: the
    pipeline takes every one). ``fps`` is the nominal rate, 0 when unknown.
    """

    id: str
    live: bool
    fps: float
    width: int
    height: int

    def read(self) -> Frame | None: ...

    def close(self) -> None: ...

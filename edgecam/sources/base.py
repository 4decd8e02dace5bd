"""The source protocol every capture backend speaks."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from edgecam.errors import UserError
from edgecam.types import Frame


class SourceError(UserError):
    """A source cannot be opened or has failed for good; the message names it and the fix."""


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

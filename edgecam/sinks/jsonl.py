"""Results as JSON lines, to a file or standard output: the simplest sink, and the replay's."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO

from edgecam.errors import UserError
from edgecam.types import Frame, Result


class SinkError(UserError):
    """A sink cannot be set up; the message names the target and the fix."""


class JsonlSink:
    """One ``edgecam.result/1`` object per line, flushed every ``flush_every`` results and on
    close, so a reader tailing the file sees results as they come and none is lost at exit."""

    name = "jsonl"

    def __init__(self, target: str | Path, *, flush_every: int = 1) -> None:
        self.target = str(target)
        self.flush_every = max(1, flush_every)
        self._pending = 0
        self._own = self.target != "-"
        if self._own:
            path = Path(self.target)
            try:
                self._out: TextIO = path.open("a" if path.is_fifo() else "w", encoding="utf-8")
            except OSError as exc:
                raise SinkError(
                    f"results file {path}: {exc.strerror or exc}: choose a writable path "
                    "(or '-' for standard output)"
                ) from None
        else:
            self._out = sys.stdout

    def emit(self, result: Result, frame: Frame) -> None:
        self._out.write(result.to_json() + "\n")
        self._pending += 1
        if self._pending >= self.flush_every:
            self._out.flush()
            self._pending = 0

    def close(self) -> None:
        try:
            self._out.flush()
        finally:
            if self._own:
                self._out.close()

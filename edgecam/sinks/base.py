"""The sink interface and the fan-out that keeps one failing sink from stopping the others."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from edgecam.types import Frame, Result

log = logging.getLogger(__name__)


@runtime_checkable
class Sink(Protocol):
    """Takes every result in frame order, with the frame it was read from.

    ``emit`` runs on the pipeline's output thread and should return quickly; a sink that talks
    to the network queues and sends from its own thread. ``close`` flushes what was accepted.
    A sink that wants the daemon to stop (the window's ``q``) sets ``stop_requested``.
    """

    name: str

    def emit(self, result: Result, frame: Frame) -> None: ...

    def close(self) -> None: ...


@dataclass
class SinkStats:
    emitted: int = 0
    failures: int = 0
    last_error: str = ""


@dataclass
class FanOut:
    """Sends each result to every sink; a sink that raises is logged (once per new error
    message, so a dead disk does not flood the log) and counted, and the others go on."""

    sinks: Sequence[Sink]
    stats: dict[str, SinkStats] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        for sink in self.sinks:
            self.stats.setdefault(sink.name, SinkStats())

    def emit(self, result: Result, frame: Frame) -> None:
        for sink in self.sinks:
            st = self.stats[sink.name]
            try:
                sink.emit(result, frame)
            except Exception as exc:  # isolation is the point of this class
                self._failed(sink.name, st, exc)
            else:
                st.emitted += 1

    def close(self) -> None:
        for sink in self.sinks:
            try:
                sink.close()
            except Exception as exc:
                self._failed(sink.name, self.stats[sink.name], exc)

    def _failed(self, name: str, st: SinkStats, exc: Exception) -> None:
        message = f"{type(exc).__name__}: {exc}"
        with self._lock:
            st.failures += 1
            first = message != st.last_error
            st.last_error = message
        if first:
            log.warning("sink %s failed (%s); counting further failures", name, message)

"""Wires the stages: a capture thread, processing and sinks, with a named drop policy.

A live camera goes on producing frames whether or not the reader keeps up, so the capture
thread keeps only the *freshest* frame and counts every one it overwrites (Frigate's queue of
two, Roboflow's ``BufferFillingStrategy``): results are never about a stale picture. A file
waits to be read, so replay takes *every* frame through a small blocking queue. Processing
and the sinks run on the calling thread (the main thread, where a GUI window must live);
signal handlers only set :attr:`Pipeline.stop`, and shutdown is bounded: the frame being
processed is finished and published, sinks are flushed and closed, the capture thread is
given a moment and then abandoned (it is a daemon thread blocked in a driver call).
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from edgecam.processor import FrameProcessor, Inspection
from edgecam.sinks.base import FanOut, Sink
from edgecam.sources.base import RecoveryCounters, Source, check_frame_size
from edgecam.telemetry import Telemetry
from edgecam.types import Frame

log = logging.getLogger(__name__)

_END = object()  # the capture thread's last word: no more frames


def _queue_frames(width: int, height: int, budget: int = 24 << 20) -> int:
    """How many frames of this size the replay queue holds: ~24 MB, 4 to 32 frames."""
    return max(4, min(32, budget // max(1, width * height * 3)))


class LatencyLog:
    """Per-stage latencies in fixed-size rings, so a week-long run keeps constant memory."""

    def __init__(self, capacity: int = 1 << 15) -> None:
        self.capacity = capacity
        self._rings: dict[str, npt.NDArray[np.float32]] = {}
        self._counts: dict[str, int] = {}

    def add(self, timings: dict[str, float]) -> None:
        for stage, ms in timings.items():
            ring = self._rings.get(stage)
            if ring is None:
                ring = self._rings[stage] = np.zeros(self.capacity, np.float32)
                self._counts[stage] = 0
            ring[self._counts[stage] % self.capacity] = ms
            self._counts[stage] += 1

    def percentiles(self, qs: Sequence[float] = (50, 99)) -> dict[str, dict[str, float]]:
        out: dict[str, dict[str, float]] = {}
        for stage, ring in self._rings.items():
            values = ring[: min(self._counts[stage], self.capacity)]
            out[stage] = {f"p{q:g}": round(float(np.percentile(values, q)), 3) for q in qs} | {
                "n": int(self._counts[stage])
            }
        return out


class FreshestSlot:
    """Holds one frame; a newer frame replaces an unread one, which is counted as dropped.

    ``period`` (the camera's frame period in seconds, 0 while unknown) makes :meth:`get`
    hand over nothing older than one period while the camera keeps its rate: a held frame
    older than that means the next one was captured and is on its way through the source's
    conversion (a millisecond or two), so it waits for it, a quarter period at most.
    """

    def __init__(self, period: Callable[[], float] = lambda: 0.0) -> None:
        self._cond = threading.Condition()
        self._item: Any = None
        self._has = False
        self._puts = 0
        self._period = period
        self.dropped = 0
        self.waited = 0  # hand-offs that waited for a frame already due

    def put(self, item: Any, stop: threading.Event) -> None:
        with self._cond:
            if self._has and self._item is not _END:
                self.dropped += 1
            self._item, self._has = item, True
            self._puts += 1
            self._cond.notify_all()

    def get(self, timeout: float) -> Any:
        with self._cond:
            if not self._has:
                self._cond.wait(timeout)
            if not self._has:
                raise queue.Empty
            period = self._period()
            item = self._item
            if period > 0 and isinstance(item, tuple) and isinstance(item[0], Frame):
                overdue = time.monotonic() - item[0].captured_mono - period
                if overdue > 0:
                    puts = self._puts
                    self.waited += 1
                    self._cond.wait_for(lambda: self._puts != puts, period / 4)
            item, self._item, self._has = self._item, None, False
            return item

    def pending(self) -> int:
        with self._cond:
            return int(self._has and self._item is not _END)


class EveryFrameQueue:
    """A small blocking queue: the capture thread waits for the reader, nothing is dropped."""

    def __init__(self, size: int = 4) -> None:
        self._q: queue.Queue[Any] = queue.Queue(maxsize=size)
        self.dropped = 0

    def put(self, item: Any, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self._q.put(item, timeout=0.05)
                return
            except queue.Full:
                continue
        if item is _END:  # stopping: the reader is going anyway, the end is only a courtesy
            with contextlib.suppress(queue.Full):
                self._q.put_nowait(item)

    def get(self, timeout: float) -> Any:
        return self._q.get(timeout=timeout)

    def pending(self) -> int:
        return self._q.qsize()


@dataclass
class PipelineStats:
    captured: int = 0
    processed: int = 0
    dropped: int = 0  # frames a live source overwrote before they were read
    unprocessed: int = 0  # frames queued when a stop came
    source_error: str = ""
    started_mono: float = 0.0
    first_frame_mono: float = 0.0
    last_result_mono: float = 0.0
    latency: LatencyLog = field(default_factory=LatencyLog)


class Pipeline:
    """Runs one camera's frames through the processor into the sinks until stopped or done."""

    def __init__(
        self,
        source: Source,
        processor: FrameProcessor,
        sinks: Sequence[Sink],
        *,
        max_frames: int | None = None,
        tick: Callable[[], None] | None = None,
        tick_s: float = 1.0,
        shutdown_s: float = 1.5,
        telemetry: Telemetry | None = None,
    ) -> None:
        self.source = source
        self.processor = processor
        self.sinks = list(sinks)
        self.fanout = FanOut(self.sinks)
        self.max_frames = max_frames
        self.tick = tick  # periodic work off the frame path: watchdog ping, thermal sampling
        self.telemetry = telemetry  # live counters for /metrics and MQTT stats, fed each tick
        self.tick_s = tick_s
        self.shutdown_s = shutdown_s
        self.stop = threading.Event()
        self.stats = PipelineStats()
        # Replay gates each frame on the capture thread (see FrameProcessor), so the queue
        # holds enough frames (~24 MB) for the gate to run ahead while a keyframe is read.
        self._ahead = not source.live
        self._buffer: FreshestSlot | EveryFrameQueue = (
            FreshestSlot(lambda: 1.0 / source.fps if source.fps > 0 else 0.0)
            if source.live
            else EveryFrameQueue(_queue_frames(source.width, source.height))
        )
        self._capture_done = threading.Event()
        # A paced file's next frame is not due yet: decoding it ahead would hold back this one.
        paced = bool(getattr(source, "realtime", False))
        self._decode_ahead = 0 if paced else _queue_frames(source.width, source.height) // 2

    def _next(self) -> Frame | None:
        frame = self.source.read()
        if frame is not None:
            if not self.stats.captured:  # a camera's size may be known only now
                check_frame_size(f"source {self.source.id}", frame.width, frame.height)
            self.stats.captured += 1
        return frame

    def _capture(self) -> None:
        # Replay gates frames here, ahead of the reads. When the gate's next decision waits
        # for the read in progress, the thread decodes the following frames meanwhile
        # instead of idling (the decisions, and so the results, are the same).
        decoded: deque[Frame] = deque()
        ended = False
        try:
            while not self.stop.is_set():
                if decoded:
                    frame: Frame | None = decoded.popleft()
                else:
                    frame = None if ended else self._next()
                if frame is None:
                    break
                inspection = None
                if self._ahead:
                    while (
                        not ended
                        and len(decoded) < self._decode_ahead
                        and self.processor.inspect_would_wait()
                        and not self.stop.is_set()
                    ):
                        following = self._next()
                        if following is None:
                            ended = True
                        else:
                            decoded.append(following)
                    inspection = self.processor.inspect(frame, stop=self.stop)
                self._buffer.put((frame, inspection), self.stop)
        except Exception as exc:  # a driver's failure ends this source; the loop reports it
            detail = " ".join(str(exc).split())  # drivers' messages span lines
            self.stats.source_error = f"{type(exc).__name__}: {detail}"
            log.error("source %s failed: %s", self.source.id, self.stats.source_error)
        finally:
            self._capture_done.set()
            self._buffer.put(_END, self.stop)

    def run(self) -> PipelineStats:
        """Process until the source ends, ``max_frames`` are done, a sink asks to stop, or
        :attr:`stop` is set (by a signal handler); returns the counters."""
        st = self.stats
        st.started_mono = time.monotonic()
        capture = threading.Thread(target=self._capture, name="edgecam-capture", daemon=True)
        capture.start()
        next_tick = time.monotonic() + self.tick_s
        try:
            while not self.stop.is_set():
                try:
                    item = self._buffer.get(timeout=0.05)
                except queue.Empty:
                    item = None
                now = time.monotonic()
                if now >= next_tick:
                    next_tick = now + self.tick_s
                    self._tick()
                if item is None:
                    continue
                if item is _END:
                    break
                self._handle(item, now)
                if self.max_frames is not None and st.processed >= self.max_frames:
                    break
                if any(getattr(s, "stop_requested", False) for s in self.sinks):
                    log.info("stopping: asked by the %s sink", self._stopper())
                    break
        finally:
            self.stop.set()
            self._shutdown(capture)
        return st

    def _handle(self, item: tuple[Frame, Inspection | None], dequeued: float) -> None:
        frame, inspection = item
        st = self.stats
        if not st.first_frame_mono:
            st.first_frame_mono = frame.captured_mono
        if inspection is None:
            result = self.processor.process(frame, dequeued_mono=dequeued)
        else:
            result = self.processor.finish(frame, inspection, dequeued_mono=dequeued)
        self.fanout.emit(result, frame)
        st.processed += 1
        st.last_result_mono = time.monotonic()
        st.latency.add(result.latency_ms)

    def _tick(self) -> None:
        if self.telemetry is not None:
            self.telemetry.tick(
                dropped=self._buffer.dropped,
                sink_failures={n: st.failures for n, st in self.fanout.stats.items()},
            )
        if self.tick is not None:
            self.tick()

    def _stopper(self) -> str:
        return next((s.name for s in self.sinks if getattr(s, "stop_requested", False)), "?")

    def _shutdown(self, capture: threading.Thread) -> None:
        deadline = time.monotonic() + self.shutdown_s
        self.stats.unprocessed = self._buffer.pending()
        self.fanout.close()  # flush every accepted result first: nothing published is lost
        try:
            self.source.close()
        except Exception as exc:  # a source that fails to close must not hang shutdown
            log.warning("closing source %s: %s", self.source.id, exc)
        capture.join(max(0.0, deadline - time.monotonic()))
        if capture.is_alive():
            log.warning("capture thread still blocked in the source; leaving it behind")
        st = self.stats
        st.dropped = self._buffer.dropped
        # Queued, or decoded ahead and not yet queued, when the stop came.
        st.unprocessed = max(st.unprocessed, st.captured - st.processed - st.dropped)

    def summary(self) -> dict[str, Any]:
        """The counters and latency percentiles as one JSON-able object."""
        st = self.stats
        span = max(st.last_result_mono - st.first_frame_mono, 1e-9)
        proc = self.processor
        return {
            "frames": st.processed,
            "fps": round(st.processed / span, 2) if st.processed > 1 else 0.0,
            "captured": st.captured,
            "dropped": st.dropped,
            "unprocessed": st.unprocessed,
            "keyframes": proc.stats.keyframes,
            "keyframe_reasons": dict(proc.reasons),
            "rekeys": proc.gate.rekeys,
            "tracks": proc.tracker.created,
            "latency_ms": st.latency.percentiles(),
            "sinks": {
                name: {"emitted": s.emitted, "failures": s.failures}
                for name, s in self.fanout.stats.items()
            },
            "source": self._source_counters(),
            **(
                {"handoff_waits": self._buffer.waited}
                if isinstance(self._buffer, FreshestSlot)
                else {}
            ),
            **({"source_error": st.source_error} if st.source_error else {}),
        }

    def _source_counters(self) -> dict[str, object]:
        """A camera's recovery counters (outages, stalls, reconnects), where it keeps them."""
        return self.source.counters() if isinstance(self.source, RecoveryCounters) else {}

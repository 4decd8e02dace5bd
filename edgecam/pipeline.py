"""Wires the stages: a capture thread, processing and sinks, with a named drop policy.

A live camera goes on producing frames whether or not the reader keeps up, so the capture
thread keeps only the *freshest* frame and counts every one it overwrites (Frigate's queue of
two, Roboflow's ``BufferFillingStrategy``): results are never about a stale picture. A file
waits to be read, so replay takes *every* frame, gated ahead of the reads by whichever
thread is free (:class:`GatedFeed`). Processing
and the sinks run on the calling thread (the main thread, where a GUI window must live);
signal handlers only set :attr:`Pipeline.stop`, and shutdown is bounded: the frame being
processed is finished and published, sinks are flushed and closed, the capture thread is
given a moment and then abandoned (it is a daemon thread blocked in a driver call).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from edgecam.processor import FrameProcessor, Inspection
from edgecam.sinks.base import FanOut, Sink
from edgecam.sources.base import RecoveryCounters, Source, check_frame_size
from edgecam.types import Frame

if TYPE_CHECKING:
    from edgecam.telemetry import Telemetry

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
            values = np.sort(ring[: min(self._counts[stage], self.capacity)])
            out[stage] = {f"p{q:g}": round(_percentile(values, q), 3) for q in qs} | {
                "n": int(self._counts[stage])
            }
        return out


def _percentile(ordered: npt.NDArray[np.float32], q: float) -> float:
    """numpy's default (linear) percentile of sorted values. ``np.percentile`` itself imports
    ``numpy.ma`` on its first call, ~13 ms of every replay's start."""
    if len(ordered) == 0:
        return 0.0
    pos = (len(ordered) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return float(ordered[lo]) + (float(ordered[hi]) - float(ordered[lo])) * (pos - lo)


class FreshestSlot:
    """Holds one frame; a newer frame replaces an unread one, which is counted as dropped.

    ``period`` (the camera's frame period in seconds, 0 while unknown) makes :meth:`get`
    hand over nothing older than one period while the camera keeps its rate: a held frame
    older than that means the next one was captured and is on its way through the source's
    conversion (a millisecond or two), so it waits for it. It waits up to one period: on a
    busy machine the camera's thread now and then delivers a few periods late (a 76 ms old
    frame once in the full suite when it waited a quarter period), and the frame that then
    comes is still fresher than the one held; a camera that has stopped costs one period.
    """

    def __init__(self, period: Callable[[], float] = lambda: 0.0) -> None:
        self._cond = threading.Condition()
        self._item: Any = None
        self._has = False
        self._puts = 0
        self._period = period
        self.dropped = 0
        self.waited = 0  # hand-offs that waited for a frame already due

    def put(self, item: Any) -> None:
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
                    self._cond.wait_for(lambda: self._puts != puts, period)
            item, self._item, self._has = self._item, None, False
            return item


class GatedFeed:
    """Replay's frames on their way from the decoder to the reads, gated in frame order by
    whichever of the two threads is free; nothing is dropped.

    Every frame must pass the motion gate, in order, before it is read. The capture thread
    decodes frames and gates them as it goes. The processing thread, when it has nothing
    to read, gates the next decoded frame itself rather than wait; and when the gate's next
    decision waits for the read in progress (whether a steady view is due depends on what
    it finds), the capture thread decodes further instead. Only the capture thread takes
    a decision that may wait, so the reader never waits for itself. At most ``size``
    frames are held.
    """

    def __init__(
        self,
        inspect: Callable[[Frame, threading.Event | None], Inspection],
        would_wait: Callable[[], bool],
        size: int = 4,
    ) -> None:
        self._inspect = inspect
        self._would_wait = would_wait
        self.size = size
        self.dropped = 0  # never: every frame of a file is read
        self._cond = threading.Condition()
        self._decoded: deque[Frame] = deque()
        self._gated: deque[tuple[Frame, Inspection]] = deque()
        self._gating = False  # a thread is running the gate on the oldest decoded frame
        self._reader_idle = False
        self._ended = False

    # -- the capture thread --

    def room(self) -> bool:
        with self._cond:
            return len(self._decoded) + len(self._gated) + self._gating < self.size

    def add(self, frame: Frame) -> None:
        with self._cond:
            self._decoded.append(frame)
            self._cond.notify_all()

    def end(self) -> None:
        with self._cond:
            self._ended = True
            self._cond.notify_all()

    def gate_next(self, *, can_decode: bool, stop: threading.Event) -> bool:
        """Gate the oldest decoded frame unless the reader is idle and can, or the decision
        would wait and decoding can go on meanwhile; whether a frame was gated."""
        with self._cond:
            if not self._decoded or self._gating:
                return False
            waits = self._would_wait()
            if (self._reader_idle and not waits) or (waits and can_decode):
                return False
            self._gating = True
            frame = self._decoded.popleft()
        self._run_gate(frame, stop)
        return True

    def wait_for_change(self, timeout: float) -> None:
        with self._cond:
            self._cond.wait(timeout)

    def all_gated(self) -> bool:
        with self._cond:
            return not (self._decoded or self._gating)

    # -- the processing thread --

    def get(self, timeout: float) -> Any:
        """The next gated frame, gating it here if it is next and the gate can decide at
        once; :data:`_END` after the last; ``queue.Empty`` after ``timeout``."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                if self._gated:
                    item = self._gated.popleft()
                    self._cond.notify_all()
                    return item
                if self._decoded and not self._gating and not self._would_wait():
                    self._gating = True
                    frame = self._decoded.popleft()
                    break
                if self._ended and not self._decoded and not self._gating:
                    return _END
                left = deadline - time.monotonic()
                if left <= 0:
                    raise queue.Empty
                self._reader_idle = True
                self._cond.wait(left)
                self._reader_idle = False
        self._run_gate(frame, None)
        with self._cond:
            return self._gated.popleft()

    def _run_gate(self, frame: Frame, stop: threading.Event | None) -> None:
        try:
            inspection = self._inspect(frame, stop)
        except BaseException:
            with self._cond:
                self._gating = False
                self._cond.notify_all()
            raise
        with self._cond:  # queued and released at once, so the next frame queues after it
            self._gated.append((frame, inspection))
            self._gating = False
            self._cond.notify_all()


@dataclass
class PipelineStats:
    captured: int = 0
    processed: int = 0
    dropped: int = 0  # frames a live source overwrote before they were read
    unprocessed: int = 0  # frames held, neither read nor dropped, when a stop came
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
        # Replay gates frames ahead of the reads (see FrameProcessor and GatedFeed), with
        # room for enough frames (~24 MB) for the gate to run ahead while a keyframe is read.
        self._buffer: FreshestSlot | GatedFeed = (
            FreshestSlot(lambda: 1.0 / source.fps if source.fps > 0 else 0.0)
            if source.live
            else GatedFeed(
                lambda frame, stop: processor.inspect(frame, stop=stop),
                processor.inspect_would_wait,
                _queue_frames(source.width, source.height),
            )
        )
        # A paced file's next frame is not due yet: decoding it ahead would hold back this one.
        self._paced = bool(getattr(source, "realtime", False))

    def _next(self) -> Frame | None:
        frame = self.source.read()
        if frame is not None:
            if not self.stats.captured:  # a camera's size may be known only now
                check_frame_size(f"source {self.source.id}", frame.width, frame.height)
            self.stats.captured += 1
        return frame

    def _capture(self) -> None:
        try:
            if isinstance(self._buffer, GatedFeed):
                self._decode_and_gate(self._buffer)
            else:
                slot = self._buffer
                while not self.stop.is_set():
                    frame = self._next()
                    if frame is None:
                        break
                    slot.put((frame, None))
        except Exception as exc:  # a driver's failure ends this source; the loop reports it
            self._fail(exc)
        finally:
            if isinstance(self._buffer, GatedFeed):
                self._buffer.end()
            else:
                self._buffer.put(_END)

    def _fail(self, exc: Exception) -> None:
        detail = " ".join(str(exc).split())  # drivers' messages span lines
        self.stats.source_error = f"{type(exc).__name__}: {detail}"
        log.error("source %s failed: %s", self.source.id, self.stats.source_error)

    def _decode_and_gate(self, feed: GatedFeed) -> None:
        """Replay: decode every frame and gate it, or leave it to an idle reader."""
        ended = False
        while not self.stop.is_set():
            room = not ended and feed.room()
            if room:
                frame = self._next()
                if frame is None:
                    ended = True
                else:
                    feed.add(frame)
            # A paced file's next frame is not due: decoding it would hold back this one.
            can_decode = not ended and not self._paced and feed.room()
            gated = feed.gate_next(can_decode=can_decode, stop=self.stop)
            if ended and feed.all_gated():
                return
            if not gated and not can_decode:
                feed.wait_for_change(0.05)

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
                except Exception as exc:  # the gate, run here for a replay, failed on a frame
                    self._fail(exc)
                    break
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
                read_failures=self.processor.stats.read_failures,
            )
        if self.tick is not None:
            self.tick()

    def _stopper(self) -> str:
        return next((s.name for s in self.sinks if getattr(s, "stop_requested", False)), "?")

    def _shutdown(self, capture: threading.Thread) -> None:
        deadline = time.monotonic() + self.shutdown_s
        self.fanout.close()  # flush every accepted result first: nothing published is lost
        try:
            self.source.close()
        except Exception as exc:  # a source that fails to close must not hang shutdown
            log.warning("closing source %s: %s", self.source.id, exc)
        capture.join(max(0.0, deadline - time.monotonic()))
        self.processor.close(max(0.0, deadline - time.monotonic()))
        if capture.is_alive():
            log.warning("capture thread still blocked in the source; leaving it behind")
        st = self.stats
        st.dropped = self._buffer.dropped
        # Held when the stop came (queued, or decoded and not yet gated): neither read nor dropped.
        st.unprocessed = max(0, st.captured - st.processed - st.dropped)

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
            "region_reads": proc.stats.region_reads,
            "read_failures": proc.stats.read_failures,
            "keyframe_reasons": dict(proc.reasons),
            "rekeys": proc.gate.rekeys,
            "tracks": proc.tracker.created,
            "unconfirmed": proc.tracker.unconfirmed,
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

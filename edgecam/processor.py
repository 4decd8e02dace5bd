"""One frame in, one result out: full reads when the view changed, carried readings otherwise.

The processing stage of the pipeline. It owns the reader (locate + one backend batch), the
motion gate and the tracker, and stamps every result with its per-stage timings. With
``keyframe_interval=1`` every frame is read in full (the tutorial's behaviour, minus its
per-digit ``predict``); the default reads a steady view a few times a second and any change
at once, which is what lets a 2-core box keep up with a camera (see README, "How a frame
is read").

The work comes in two halves: :meth:`FrameProcessor.inspect` (the motion gate: pictures only)
and :meth:`FrameProcessor.finish` (the read, the tracker, the result). Replay runs the first
ahead of the second, in frame order, on whichever thread is free (the capture thread while a
keyframe is being read, the processing thread when it would otherwise wait); a live camera
runs both on the processing thread, only for the frames it keeps.

Reads run *beside* the loop on a worker thread: the frame read is published at once from
the carried reading, like any frame between reads, and what the read found is folded into
the tracks, moved by the camera's shift since, before the next frame's result, which then
carries the read's timings. The results do not depend on timing (the next frame waits for
the read when it comes sooner, as it does in a fast replay), and a paced camera's results
never stall for a read: a steady view's periodic re-read (``interval``) only confirms what
the tracks show, and a view that changed (new ink, a hand) or moved on is shown as it was
for that one frame, its new reading from the next. Only the first frame and a view the gate
lost, which have no reading to carry, wait for their own read. Every read starts as soon as
the gate asks for it (:meth:`FrameProcessor.inspect`), ahead of the frames still to be
finished before it in a replay. A steady view's re-read also looks only around the digits
shown (:func:`reread_region`), at a fraction of a whole read's cost, and at the whole frame
again once ``full_read_frames`` have gone by since it last did.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from edgecam.boxes import centres_in
from edgecam.errors import fault_line
from edgecam.tracking import Tracker
from edgecam.types import Frame, Result
from edgecam.vision.locate import MIN_SIDE
from edgecam.vision.motion import Motion, MotionGate, MotionParams
from edgecam.vision.reader import DigitReader, Reading, reading_text

Region = tuple[int, int, int, int]

log = logging.getLogger(__name__)


REGION_MARGIN = 1.5  # tallest tracked digit's heights a region re-read looks beyond the digits
REGION_MAX_SHARE = 0.5  # a region over this share of the frame is read whole: little to gain


def reread_region(
    boxes: npt.ArrayLike,
    size: tuple[int, int],
    *,
    margin: float = REGION_MARGIN,
    max_share: float = REGION_MAX_SHARE,
) -> Region | None:
    """Where a steady view's re-read need look: around the digits its tracks show (x, y, w, h
    boxes in a frame of ``size`` = width, height), grown on every side by ``margin`` times
    the tallest of them, within the frame. ``None``, the whole frame, when no digit is
    shown or the region would cover more than ``max_share`` of it."""
    b = np.asarray(boxes, np.float64).reshape(-1, 4)
    w, h = size
    if not len(b) or w <= 0 or h <= 0:
        return None
    m = margin * float(b[:, 3].max())
    x0, y0 = max(0, math.floor(b[:, 0].min() - m)), max(0, math.floor(b[:, 1].min() - m))
    x1 = min(w, math.ceil((b[:, 0] + b[:, 2]).max() + m))
    y1 = min(h, math.ceil((b[:, 1] + b[:, 3]).max() + m))
    if x1 - x0 < MIN_SIDE or y1 - y0 < MIN_SIDE or (x1 - x0) * (y1 - y0) > max_share * w * h:
        return None
    return (x0, y0, x1 - x0, y1 - y0)


@dataclass
class ProcessorStats:
    frames: int = 0
    keyframes: int = 0
    region_reads: int = 0  # keyframes read only around the tracked digits
    digits_read: int = 0
    read_failures: int = 0  # reads that raised: their frames carried the tracks over


@dataclass(frozen=True)
class Inspection:
    """The motion gate's verdict on one frame, what it cost, and the full read it asked for,
    already under way on the read worker."""

    motion: Motion
    ms: float
    # The camera's place: its shifts summed over every reference since the stream began,
    # so that two frames' difference is how far the tracks move from one to the other.
    place: tuple[float, float] = (0.0, 0.0)
    read: Future[Reading] | None = None
    region: Region | None = None  # where that read looks (None: everywhere)


def _read_frame(reader: DigitReader, frame: Frame, region: Region | None) -> Reading:
    """A read on the worker thread, ``frame.image`` taken there: a frame kept as YUV is
    converted to BGR beside the loop, not on it."""
    return reader.read(frame.image, region)


class FrameProcessor:
    """Turns frames of one camera into results, in order."""

    def __init__(
        self,
        reader: DigitReader,
        *,
        camera: str,
        tracker: Tracker | None = None,
        motion: MotionParams | None = None,
        full_read_frames: int = 128,
    ) -> None:
        self.reader = reader
        self.full_read_frames = full_read_frames
        self.camera = camera
        self.tracker = tracker or Tracker()
        self.gate = MotionGate(motion)
        self.stats = ProcessorStats()
        self.reasons: dict[str, int] = {}  # why keyframes were read: first, changed, ...
        self._carried = (0.0, 0.0)  # the shift since the keyframe the tracks already follow
        self._text_key: tuple[tuple[int, int], ...] = ()
        self._text = ""
        self._pending: Future[Reading] | None = None  # a re-read running beside the loop
        self._pending_region: Region | None = None  # ... and where it looks (None: everywhere)
        self._pending_confirming = False  # ... and whether it is a steady view's re-read
        self._pending_seq = 0  # ... and of which frame
        self._whole_seq = 0  # the frame last read whole (the gate's side: in gate order)
        self._worker: ThreadPoolExecutor | None = None  # made at the first read
        self._closed = False
        self._origin = (0.0, 0.0)  # the camera's place at the gate's reference
        self._place = (0.0, 0.0)  # ... at the frame being finished
        # The shown tracks' boxes as the last read left them, and the camera's place there:
        # a steady view's re-read looks around them, moved as far as the camera moved since.
        self._folded: tuple[tuple[float, float], npt.NDArray[np.float64]] = (
            (0.0, 0.0),
            np.empty((0, 4), np.float64),
        )

    def inspect(self, frame: Frame, *, stop: threading.Event | None = None) -> Inspection:
        """The gate's decision for this frame, and the full read it asks for, started at
        once on the read worker; every frame must then go to :meth:`finish` in the same
        order.

        The read starts here, not when the frame is finished, so that in a replay, whose
        gate runs ahead, it runs while the frames before it are finished and published,
        rather than after them. What it looks at depends only on the frame and, for a
        steady view's re-read, on the tracks the last read left, moved with the camera: the
        gate decides such a read only once every earlier read has been folded in
        (:meth:`MotionGate.check`), so the readings are the same whichever thread is where."""
        t0 = time.monotonic()
        motion = self.gate.check(frame, stop=stop)
        ms = (time.monotonic() - t0) * 1000
        place = (self._origin[0] + motion.dx, self._origin[1] + motion.dy)
        if motion.keyframe or motion.rekey:
            self._origin = place  # the reference moved to this frame
        if not motion.keyframe:
            return Inspection(motion, ms, place)
        region = None
        if motion.reason == "interval" and self._beside(motion):
            region = self._region(frame, place)
        if region is None:
            self._whole_seq = frame.seq
        return Inspection(motion, ms, place, self._start(frame, region), region)

    def inspect_would_wait(self) -> bool:
        """Whether :meth:`inspect` of the next frame may block until the read in progress is
        done (whether a steady view is due for a read depends on what that read finds)."""
        return self.gate.pending()

    def process(self, frame: Frame, *, dequeued_mono: float | None = None) -> Result:
        return self.finish(frame, self.inspect(frame), dequeued_mono=dequeued_mono)

    def finish(
        self, frame: Frame, inspection: Inspection, *, dequeued_mono: float | None = None
    ) -> Result:
        motion = inspection.motion
        timings: dict[str, float] = {"motion": inspection.ms}
        if dequeued_mono is not None:
            timings["queue"] = max(0.0, (dequeued_mono - frame.captured_mono) * 1000)
        # Tracks sit where they were at the keyframe plus the camera's shift since then (a
        # keyframe's tracks follow the camera to it before they meet its detections).
        self.tracker.shift(motion.dx - self._carried[0], motion.dy - self._carried[1])
        self._carried = (motion.dx, motion.dy)
        self._place = inspection.place
        read = False
        t2 = time.monotonic()  # "track": from here, less the reads, to the result
        if self._pending is not None:
            # The last frame started a read of itself, the reference of this frame's shift.
            pending, self._pending = self._pending, None
            waited, read = self._take(
                pending.result,
                timings,
                seq=self._pending_seq,
                offset=self._carried,
                confirming=self._pending_confirming,
                region=self._pending_region,
                size=(frame.width, frame.height),
            )
            timings["read_wait"] = waited
            t2 += waited / 1000
        if motion.keyframe:
            self.reasons[motion.reason] = self.reasons.get(motion.reason, 0) + 1
            # Only a steady view's re-read confirms, and (beside) looks around the digits shown.
            confirming = motion.reason == "interval"
            started = inspection.read
            assert started is not None  # inspect() starts the read of every keyframe
            if self._beside(motion):
                self._pending_confirming = confirming
                self._pending_region = inspection.region
                self._pending_seq = frame.seq
                self._pending = started
            else:
                read_ms, read = self._take(
                    started.result,
                    timings,
                    seq=frame.seq,
                    confirming=confirming,
                    size=(frame.width, frame.height),
                )
                t2 += read_ms / 1000
            # The tracks sit at this frame, the new reference (moved there, or just read).
            self._carried = (0.0, 0.0)
        elif motion.rekey:
            # The tracks already sit where the camera moved them; the reference followed.
            self._carried = (0.0, 0.0)
        det = self.tracker.current(frame.width, frame.height)
        text = self._reading_text(det.track_ids.tolist(), det.labels.tolist(), det.boxes)
        t3 = time.monotonic()
        timings["track"] = (t3 - t2) * 1000
        timings["capture_to_result"] = (t3 - frame.captured_mono) * 1000
        self.stats.frames += 1
        return Result(
            camera=self.camera,
            frame=frame.seq,
            captured_wall=frame.captured_wall,
            width=frame.width,
            height=frame.height,
            detections=det,
            text=text,
            latency_ms=timings,
            keyframe=read,
        )

    def close(self, timeout: float = 1.0) -> None:
        """Let a read still running beside the loop end (its findings have no frame left to
        go to) and stop its worker thread; reads started for frames not yet finished are
        cancelled."""
        self._closed = True
        pending, self._pending = self._pending, None
        if pending is not None:
            try:
                pending.result(timeout)
            except Exception:  # at shutdown a failed or slow check changes nothing
                pass
            finally:
                self.gate.confirm()
        if self._worker is not None:
            self._worker.shutdown(wait=False, cancel_futures=True)
            self._worker = None

    def _start(self, frame: Frame, region: Region | None) -> Future[Reading]:
        """A read of ``frame`` (around ``region``) queued on the read worker: one thread, so
        reads run one at a time, in frame order, on a reader that is not thread-safe."""
        if self._closed:  # a gate that ran on after close(): nothing will take its read
            dropped: Future[Reading] = Future()
            dropped.cancel()
            return dropped
        if self._worker is None:
            self._worker = ThreadPoolExecutor(1, "edgecam-read")
        return self._worker.submit(_read_frame, self.reader, frame, region)

    def _region(self, frame: Frame, place: tuple[float, float]) -> Region | None:
        """Where this steady view's re-read looks: around the digits shown at the frame (at
        the camera's ``place``), unless the whole frame was last read ``full_read_frames``
        or more frames ago: then all of it, for any digit that earlier reads missed."""
        since = frame.seq - self._whole_seq  # negative if the source restarted its count
        if not 0 <= since < self.full_read_frames:
            return None
        at, boxes = self._folded
        moved = boxes + np.array([place[0] - at[0], place[1] - at[1], 0.0, 0.0])
        w, h = frame.width, frame.height
        return reread_region(moved[centres_in(moved, (0, 0, w, h))], (w, h))

    def _fold_shown(self) -> None:
        """Keep the shown tracks' boxes as this read left them, for :meth:`_region` (on the
        gate's thread, while this one moves the tracks on)."""
        coast = self.tracker.coast
        shown = [t.box for t in self.tracker.tracks if t.missed <= coast]
        self._folded = (self._place, np.array(shown, np.float64).reshape(-1, 4))

    def _beside(self, motion: Motion) -> bool:
        """Whether this read runs beside the loop (see the module's docstring): all but the
        first frame's and a lost view's. With an interval of 1 every frame is asked to be
        read as itself."""
        beside = motion.reason in ("interval", "changed", "moved")
        return beside and self.gate.params.keyframe_interval > 1

    def _take(
        self,
        read: Callable[[], Reading],
        timings: dict[str, float],
        *,
        seq: int,
        offset: tuple[float, float] = (0.0, 0.0),
        confirming: bool,
        region: Region | None = None,
        size: tuple[int, int] | None = None,
    ) -> tuple[float, bool]:
        """Get the read of frame ``seq`` (made now, or waited for) and fold it into the
        tracks, moved by ``offset``, the camera's shift since the frame read; answers the
        gate in any case. ``confirming``: an interval read, whose unchanged reading lets the
        interval grow; ``region``: where it looked, if not at the whole frame, of ``size``
        (width, height). Returns the milliseconds spent getting the read, and whether it
        was folded in: a read that raised is logged and counted (:meth:`_read_failed`)."""
        t0 = time.monotonic()
        confirmed = False
        try:
            try:
                reading = read()
            except Exception as exc:  # one failed read costs that read, never the loop
                self._read_failed(seq, exc)
                return (time.monotonic() - t0) * 1000, False
            got_ms = (time.monotonic() - t0) * 1000
            before = self._stable_reading() if confirming else None
            self.tracker.update(
                reading.detections, offset=offset, region=region, recheck=confirming, size=size
            )
            self._fold_shown()
            confirmed = before is not None and before == self._stable_reading()
        finally:
            self.gate.confirm(confirmed)
        self._count_read(reading, timings)
        self.stats.region_reads += int(region is not None)
        return got_ms, True

    def _read_failed(self, seq: int, exc: Exception) -> None:
        """A read that raised (a backend fault, a picture the locator trips on): its frame
        and the ones after show the tracks carried over, the gate asks for the next read at
        the base interval, and the log says so, at the 1st, 2nd, 4th, 8th ... failure so
        that a lasting fault does not flood it (the traceback with ``--verbose``)."""
        self.stats.read_failures += 1
        n = self.stats.read_failures
        log.debug("camera %s: the read of frame %d failed", self.camera, seq, exc_info=exc)
        if n & (n - 1) == 0:
            log.warning(
                "camera %s: the read of frame %d failed (%s); its digits are carried "
                "over from the last read (failed reads so far: %d; --verbose for the traceback)",
                self.camera,
                seq,
                fault_line(exc),
                n,
            )

    def _count_read(self, reading: Reading, timings: dict[str, float]) -> None:
        timings["locate"] = reading.timings_ms["locate"]
        timings["inference"] = reading.timings_ms["inference"]
        self.stats.keyframes += 1
        self.stats.digits_read += len(reading.detections)

    def _reading_text(self, ids: list[int], labels: list[int], boxes: npt.NDArray[np.int32]) -> str:
        """The text of the shown tracks. Carried frames move every box by the same shift,
        which keeps the reading order, so it is worked out again only when the set of
        tracks or a label changed, or at a read (where boxes are measured anew)."""
        key = tuple(zip(ids, labels, strict=True))
        if key != self._text_key or self._carried == (0.0, 0.0):
            self._text_key = key
            self._text = reading_text(boxes, np.asarray(labels, np.int64))
        return self._text

    def _stable_reading(self) -> tuple[tuple[int, int], ...]:
        """Each shown track's id and voted label: equal before and after a read that
        confirmed the view."""
        return tuple((t.id, t.label()[0]) for t in self.tracker.tracks if t.missed == 0)

"""One frame in, one result out: full reads when the view changed, carried readings otherwise.

The processing stage of the pipeline. It owns the reader (locate + one backend batch), the
motion gate and the tracker, and stamps every result with its per-stage timings. With
``keyframe_interval=1`` every frame is read in full (the tutorial's behaviour, minus its
per-digit ``predict``); the default reads a steady view a few times a second and any change
at once, which is what lets a 2-core box keep up with a camera (see README, "How a frame
is read").
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from edgecam.tracking import Tracker
from edgecam.types import Frame, Result
from edgecam.vision.motion import MotionGate, MotionParams
from edgecam.vision.reader import DigitReader, reading_text


@dataclass
class ProcessorStats:
    frames: int = 0
    keyframes: int = 0
    digits_read: int = 0


class FrameProcessor:
    """Turns frames of one camera into results, in order."""

    def __init__(
        self,
        reader: DigitReader,
        *,
        camera: str,
        tracker: Tracker | None = None,
        motion: MotionParams | None = None,
    ) -> None:
        self.reader = reader
        self.camera = camera
        self.tracker = tracker or Tracker()
        self.gate = MotionGate(motion)
        self.stats = ProcessorStats()
        self.reasons: dict[str, int] = {}  # why keyframes were read: first, changed, ...
        self._carried = (0.0, 0.0)  # the shift since the keyframe the tracks already follow

    def process(self, frame: Frame, *, dequeued_mono: float | None = None) -> Result:
        t0 = time.monotonic()
        motion, small = self.gate.check(frame.image)
        t1 = time.monotonic()
        timings: dict[str, float] = {"motion": (t1 - t0) * 1000}
        if dequeued_mono is not None:
            timings["queue"] = max(0.0, (dequeued_mono - frame.captured_mono) * 1000)
        # Tracks sit where they were at the keyframe plus the camera's shift since then (a
        # keyframe's tracks follow the camera to it before they meet its detections).
        self.tracker.shift(motion.dx - self._carried[0], motion.dy - self._carried[1])
        self._carried = (motion.dx, motion.dy)
        if motion.keyframe:
            self.reasons[motion.reason] = self.reasons.get(motion.reason, 0) + 1
            reading = self.reader.read(frame.image)
            self.gate.keyframe(small)
            t2 = time.monotonic()
            self.tracker.update(reading.detections)
            timings["locate"] = reading.timings_ms["locate"]
            timings["inference"] = reading.timings_ms["inference"]
            self.stats.keyframes += 1
            self.stats.digits_read += len(reading.detections)
            self._carried = (0.0, 0.0)
        else:
            t2 = time.monotonic()
        det = self.tracker.current(frame.width, frame.height)
        text = reading_text(det.boxes, det.labels)
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
            keyframe=motion.keyframe,
        )

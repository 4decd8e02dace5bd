"""The source protocol every capture backend speaks."""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol, runtime_checkable

from edgecam.errors import UserError

if TYPE_CHECKING:  # at run time only the annotation names it: importing the sources package
    from edgecam.types import Frame  # stays free of numpy, for start-up's preload thread


class SourceError(UserError):
    """A source cannot be opened or has failed for good; the message names it and the fix."""


MIN_FRAME_SIDE = 16  # pixels: the smallest digit the reader looks for is ~15 px tall


def check_frame_size(what: str, width: int, height: int) -> None:
    """Refuse frames too small to hold a digit: the reader and the motion gate need room."""
    if 0 < min(width, height) < MIN_FRAME_SIDE:
        raise SourceError(
            f"{what} gives {width}×{height} frames, too small to read digits in: use a "
            f"source of at least {MIN_FRAME_SIDE}×{MIN_FRAME_SIDE} pixels"
        )


def redact(text: str) -> str:
    """A URI (or a message or launch string quoting one) with any password hidden, fit for
    a log line. The user may follow one slash, not two: a path-like argument folds
    ``rtsp://u:p@h`` into ``rtsp:/u:p@h``."""
    return re.sub(r"(/[^/@:\s]*):[^/@\s]*@", r"\1:***@", text)


def replay_decoder_threads() -> int:
    """Threads for a software decoder feeding a replay that runs as fast as it can read
    (GStreamer's libav decoders and OpenCV's FFmpeg alike).

    While a replay runs, the capture thread and the processing thread each keep a core busy,
    so the decoder gets what is left, at least one thread. On two cores that is one: libav's
    frame threads cost 25-40 % more CPU per frame (MPEG-4 part 2 and H.264, 640×480, on the
    2-core development VM) that the reader then lacked: the whole replay of the bench video
    ran at 0.72-0.79× OpenCV's speed with them, 0.78-0.86× without (MPEG-4 part 2), and at
    0.97× and 1.11-1.15× (H.264). OpenCV's own replay of the bench video spent ~4 % less CPU
    with one FFmpeg thread than with its default two (mean of 6 alternating runs). A hardware
    decoder is not a libav one and is left alone.
    """
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    return max(1, cores - 2)


Flip = Literal[
    "none",
    "clockwise",
    "counterclockwise",
    "rotate-180",
    "horizontal",
    "vertical",
    "upper-left-diagonal",
    "upper-right-diagonal",
]


@dataclass(frozen=True)
class CaptureOptions:
    """What the user asks of a camera: ``None`` leaves each to the device (or the file)."""

    width: int | None = None
    height: int | None = None
    fps: float | None = None
    flip: Flip = "none"


@dataclass(frozen=True)
class Recovery:
    """How a live source comes back after it ends, fails or stalls.

    A lost stream is rebuilt after ``initial_s``, doubling per failed try up to ``max_s``;
    ``stall_s`` without a frame while playing, or ``open_s`` before the first frame of a
    (re)built stream, counts as lost.
    """

    stall_s: float = 2.0
    open_s: float = 10.0
    initial_s: float = 0.25
    max_s: float = 2.0

    def delay(self, failures: int) -> float:
        """The wait before try number ``failures`` (1-based) after a loss."""
        return float(min(self.max_s, self.initial_s * 2 ** max(0, failures - 1)))


class RecoveryCounters:
    """What a self-healing live source reports in the run's summary: its state and how often
    its stream was lost (``outages``), gave no frame in time (``stalls``) and was rebuilt."""

    status: str = "starting"
    outages: int = 0
    stalls: int = 0
    reconnects: int = 0

    def counters(self) -> dict[str, object]:
        return {
            "status": self.status,
            "outages": self.outages,
            "stalls": self.stalls,
            "reconnects": self.reconnects,
        }


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

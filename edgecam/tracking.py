"""Stable readings across frames: detections associated into tracks, labels voted per track.

A single frame's reading can waver: a motion-blurred 7 reads as a 1 once in ten frames, a
faint digit is rejected now and then. The tracker keeps each digit's identity from read to
read (greedy IoU association after the camera's shift is undone, as SORT does without its
Kalman filter: digits on paper only move with the camera), and publishes for each track the
label most of its recent reads agreed on, weighted by confidence. A digit missed by one read
stays on screen for ``coast`` more reads, so it does not blink; a track remembers its votes
for ``max_missed`` reads, so a digit uncovered after a hand passed over it gets its id back.

A digit first found by a read that only re-checked a steady view, where the read before
had looked too, is held back until a later read finds it again (*tentative*): nothing new
can have come into a view that did not change, so such a find is more often a one-read
fluke (a squared sheet's line cut into stubs by a small region's read, read as 1s) than a
digit; a real one that earlier reads missed is shown at the next read. What comes in at
the view's edge as the camera drifts, and what reads of a view that changed or moved find,
is shown at once.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from edgecam.boxes import centres_in, iou_matrix
from edgecam.types import Detections


@dataclass
class Track:
    """One digit followed across reads."""

    id: int
    box: npt.NDArray[np.float64]  # x, y, w, h in the current frame
    votes: deque[tuple[int, float]]
    missed: int = 0
    hits: int = 1
    tentative: bool = False  # found by a steady view's re-read: shown once found again
    _voted: tuple[int, float] | None = None  # cached until the next vote

    def vote(self, label: int, confidence: float) -> None:
        self.votes.append((label, confidence))
        self._voted = None

    def label(self) -> tuple[int, float]:
        """The voted label and the mean confidence of the reads that gave it."""
        if self._voted is not None:
            return self._voted
        weight = np.zeros(10)
        count = np.zeros(10)
        for label, conf in self.votes:
            weight[label] += conf
            count[label] += 1
        best = int(weight.argmax())
        self._voted = (best, float(weight[best] / max(count[best], 1)))
        return self._voted


@dataclass
class Tracker:
    """Associates each read's detections with the tracks of earlier reads."""

    iou: float = 0.3
    max_missed: int = 15
    votes: int = 9
    coast: int = 1
    tracks: list[Track] = field(default_factory=list)
    _next_id: int = 1
    created: int = 0
    unconfirmed: int = 0  # tentative finds no later read repeated (see the module)
    # Where the last read looked (x0, y0, x1, y1), moved with the camera like the tracks.
    _seen: tuple[float, float, float, float] | None = None

    def shift(self, dx: float, dy: float) -> None:
        """Move every track with the camera (the content moved by ``dx, dy`` pixels)."""
        for t in self.tracks:
            t.box[0] += dx
            t.box[1] += dy
        if self._seen is not None:
            x0, y0, x1, y1 = self._seen
            self._seen = (x0 + dx, y0 + dy, x1 + dx, y1 + dy)

    def update(
        self,
        det: Detections,
        offset: tuple[float, float] = (0.0, 0.0),
        region: tuple[float, float, float, float] | None = None,
        *,
        recheck: bool = False,
        size: tuple[int, int] | None = None,
    ) -> None:
        """Fold one full read into the tracks; ``offset``: how far the camera's view moved
        since the frame that was read (a read that ran beside the loop lands a frame late).
        ``region`` (x, y, w, h in the frame read): the read looked only there, so a track
        whose centre lies outside it was not missed, only not looked for. ``recheck``: the
        read re-checked a steady view, so what it finds new where the read before looked
        too is tentative (see the module); ``size``: the frame's width and height (without
        it, a whole read's view has no edge)."""
        boxes = det.boxes.astype(np.float64)
        boxes[:, 0] += offset[0]
        boxes[:, 1] += offset[1]
        matched_d: set[int] = set()
        matched_t: set[int] = set()
        if self.tracks and len(det):
            ious = iou_matrix(np.stack([t.box for t in self.tracks]), boxes)
            order = np.argsort(-ious, axis=None)
            for flat in order.tolist():
                ti, di = divmod(flat, len(det))
                if ious[ti, di] < self.iou:
                    break
                if ti in matched_t or di in matched_d:
                    continue
                matched_t.add(ti)
                matched_d.add(di)
                track = self.tracks[ti]
                track.box = boxes[di].copy()
                track.vote(int(det.labels[di]), float(det.confidences[di]))
                track.missed = 0
                track.hits += 1
                track.tentative = False
        seen, self._seen = self._seen, self._view(region, offset, size)
        looked = self._looked_at(region, offset)
        for ti, track in enumerate(self.tracks):
            if ti not in matched_t and looked[ti]:
                track.missed += 1
        # A tentative find that the next look does not repeat was a fluke.
        flukes = sum(t.tentative and t.missed > 0 for t in self.tracks)
        self.unconfirmed += flukes
        if flukes:
            self.tracks = [t for t in self.tracks if not (t.tentative and t.missed > 0)]
        self.tracks = [t for t in self.tracks if t.missed <= self.max_missed]
        self._drop_shadowed()
        for di in range(len(det)):
            if di in matched_d:
                continue
            votes: deque[tuple[int, float]] = deque(maxlen=self.votes)
            votes.append((int(det.labels[di]), float(det.confidences[di])))
            box = boxes[di].copy()
            tentative = recheck and seen is not None and _inside(box, seen)
            self.tracks.append(Track(self._next_id, box, votes, tentative=tentative))
            self._next_id += 1
            self.created += 1

    @staticmethod
    def _view(
        region: tuple[float, float, float, float] | None,
        offset: tuple[float, float],
        size: tuple[int, int] | None,
    ) -> tuple[float, float, float, float]:
        """What a read of ``region`` (or of the whole frame of ``size``) looked at, as x0,
        y0, x1, y1 in the current frame (moved by ``offset``)."""
        if region is not None:
            x, y, w, h = region
        elif size is not None:
            x, y, w, h = 0, 0, size[0], size[1]
        else:
            return (-np.inf, -np.inf, np.inf, np.inf)
        return (x + offset[0], y + offset[1], x + w + offset[0], y + h + offset[1])

    def _looked_at(
        self, region: tuple[float, float, float, float] | None, offset: tuple[float, float]
    ) -> list[bool]:
        """For each track, whether a read of ``region`` (moved by ``offset``) covered it."""
        if region is None:
            return [True] * len(self.tracks)
        x, y, w, h = region
        return self.centred_in((x + offset[0], y + offset[1], w, h))

    def centred_in(self, rect: tuple[float, float, float, float]) -> list[bool]:
        """For each track, whether its box's centre lies in ``rect`` (x, y, w, h)."""
        inside: list[bool] = centres_in([t.box for t in self.tracks], rect).tolist()
        return inside

    def _drop_shadowed(self) -> None:
        """Forget unseen tracks that lie on a track seen just now: the same digit boxed a
        little differently earlier, which would otherwise be shown twice while it coasts."""
        seen = [t for t in self.tracks if t.missed == 0]
        unseen = [t for t in self.tracks if t.missed > 0]
        if not seen or not unseen:
            return
        ious = iou_matrix(np.stack([t.box for t in unseen]), np.stack([t.box for t in seen]))
        shadowed = {id(t) for t, row in zip(unseen, ious, strict=True) if row.max() >= self.iou}
        self.tracks = [t for t in self.tracks if id(t) not in shadowed]

    def current(self, width: int, height: int) -> Detections:
        """The tracks seen in the last ``coast + 1`` reads whose box is inside the frame,
        tentative ones aside."""
        shown = [
            t
            for t in self.tracks
            if t.missed <= self.coast
            and not t.tentative
            and t.box[0] >= 0
            and t.box[1] >= 0
            and t.box[0] + t.box[2] <= width
            and t.box[1] + t.box[3] <= height
        ]
        if not shown:
            return Detections.empty()
        voted = [t.label() for t in shown]
        return Detections(
            boxes=np.round(np.stack([t.box for t in shown])).astype(np.int32),
            labels=np.array([v[0] for v in voted], np.int64),
            confidences=np.array([v[1] for v in voted], np.float32),
            track_ids=np.array([t.id for t in shown], np.int64),
        )

    def reset(self) -> None:
        self.tracks.clear()
        self._seen = None


def _inside(box: npt.NDArray[np.float64], rect: tuple[float, float, float, float]) -> bool:
    """Whether an x, y, w, h box lies within ``rect`` (x0, y0, x1, y1), a pixel in from its
    edges: a digit the edge cut was not seen whole there (the locator drops such groups)."""
    x0, y0, x1, y1 = rect
    x, y, w, h = box.tolist()
    return bool(x >= x0 + 1 and y >= y0 + 1 and x + w <= x1 - 1 and y + h <= y1 - 1)

"""Reading one picture: locate candidates, classify them in one batch, keep the sure ones.

The network has no "not a digit" class: a letter, a speck or a hand still gets ten
probabilities that sum to one, but it was trained to spread them evenly over the ten classes
for such candidates (outlier exposure on camera tiles). Two cheap signals separate them from
real digits well enough once the locator's geometric filters have removed most clutter: the
top probability, and how far it stands above the runner-up (the log-ratio of the two, which
is the logit margin of the softmax).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from statistics import median

import numpy as np
import numpy.typing as npt

from edgecam.backends.base import Backend
from edgecam.types import Detections
from edgecam.vision.locate import (
    DEFAULT_PARAMS,
    Box,
    Candidates,
    LocateParams,
    find_candidates,
    middle,
)

IntArray = npt.NDArray[np.int32]


@dataclass(frozen=True)
class Reading:
    """What one picture says: its digits, the text they spell, and where the time went."""

    detections: Detections
    text: str
    timings_ms: dict[str, float] = field(default_factory=dict)


def reading_order(boxes: npt.NDArray[np.integer]) -> list[list[int]]:
    """Indices of ``boxes`` (x, y, w, h) grouped into rows top to bottom, left to right in each.

    A box joins a row when it overlaps the row's vertical span by at least half of the smaller
    height, so digits of one line written with a slight drift or different sizes stay together
    while the next line (which overlaps little or not at all) starts a new row.
    """
    if len(boxes) == 0:
        return []
    b = np.asarray(boxes, np.float64).tolist()  # plain floats: rows are few, numpy calls cost more
    slope = row_slope(b)
    if slope:  # a sheet turned askew: judge rows as if it were level
        b = [[x, y - slope * (x + w / 2), w, h] for x, y, w, h in b]
    order = sorted(range(len(b)), key=lambda i: b[i][1] + b[i][3] / 2)
    rows: list[tuple[float, float, list[int]]] = []  # (top, bottom, members)
    for i in order:
        top, bottom = b[i][1], b[i][1] + b[i][3]
        best, best_overlap = -1, 0.0
        for r, (rt, rb, members) in enumerate(rows):
            overlap = min(bottom, rb) - max(top, rt)
            row_h = median([b[m][3] for m in members])
            need = 0.5 * min(b[i][3], row_h)
            if overlap >= need and overlap > best_overlap:
                best, best_overlap = r, overlap
        if best < 0:
            rows.append((top, bottom, [i]))
        else:
            rt, rb, members = rows[best]
            members.append(i)
            rows[best] = (min(rt, top), max(rb, bottom), members)
    rows.sort(key=lambda row: median([b[m][1] + b[m][3] / 2 for m in row[2]]))
    return [sorted(members, key=lambda m: (b[m][0], b[m][1])) for _, _, members in rows]


def row_slope(b: list[list[float]], *, min_deg: float = 4.0, max_deg: float = 35.0) -> float:
    """How steeply the rows of a turned sheet run (dy/dx), or 0 for level ones.

    Each box's step to its nearest neighbour on the right, within three heights and less
    steep than 45°, is one vote; two or more that agree (within 5° of their median) on a
    slope between ``min_deg`` and ``max_deg`` decide it. A row turned 20° drops a third of
    a digit's height from one digit to the next, so the row-by-overlap grouping cut it into
    one row per digit, read from the top: "4716" came out as "6 1 7 4".
    """
    a = np.asarray(b, np.float64)
    cx, cy, h = a[:, 0] + a[:, 2] / 2, a[:, 1] + a[:, 3] / 2, a[:, 3]
    if len(b) < 2 or h.max() > 2 * h.min():
        return 0.0  # digits of different sizes: different groups, each at its own slant
    dx, dy = cx[None, :] - cx[:, None], cy[None, :] - cy[:, None]
    near = (dx > 0) & (np.abs(dy) < dx) & (dx <= 3 * np.maximum(h[:, None], h[None, :]))
    dist = np.where(near, dx * dx + dy * dy, np.inf)
    right = dist.argmin(axis=1)
    has = np.isfinite(dist.min(axis=1))
    rows = np.flatnonzero(has)
    steps = (dy[rows, right[rows]] / dx[rows, right[rows]]).tolist()
    if len(steps) < 2:
        return 0.0
    angles = np.degrees(np.arctan(steps))
    typical = middle(angles)
    agree = np.abs(angles - typical) <= 5.0
    if agree.sum() < max(2, 0.6 * len(angles)) or not min_deg <= abs(typical) <= max_deg:
        return 0.0
    return float(np.tan(np.radians(middle(angles[agree]))))


def reading_text(boxes: npt.NDArray[np.integer], labels: npt.NDArray[np.integer]) -> str:
    """The digits in reading order, rows joined by one space."""
    return " ".join("".join(str(int(labels[i])) for i in row) for row in reading_order(boxes))


def glyph_boxes(cands: Candidates) -> IntArray:
    """One box per group of ink the locator offered: each whole, and the span of the parts of
    a group too wide to be one digit (``whole`` -1), which has no whole."""
    wholes = cands.boxes.astype(np.int64).reshape(-1, 4)
    if len(cands.joins):  # another look at two glyphs, not a third
        wholes = np.delete(wholes, cands.joins[:, 0], axis=0)
    boxes = [wholes]
    seen: set[int] = set()
    for group, whole, first, count in cands.splits.tolist():
        if whole >= 0 or group in seen:
            continue
        seen.add(group)
        parts = cands.part_boxes[first : first + count].astype(np.int64)
        x0, y0 = parts[:, 0].min(), parts[:, 1].min()
        x1, y1 = (parts[:, 0] + parts[:, 2]).max(), (parts[:, 1] + parts[:, 3]).max()
        boxes.append(np.array([[x0, y0, x1 - x0, y1 - y0]]))
    return np.concatenate(boxes).astype(np.int32)


def printed_words(
    boxes: npt.NDArray[np.integer],
    *,
    gap: float = 0.25,
    level: float = 0.05,
    rise: float = 0.18,
    span: float = 3.0,
) -> list[IntArray]:
    """Runs of glyphs that look like lowercase words: indices into ``boxes``, one array a run.

    A run is three or more glyphs side by side, each at most ``gap`` times the taller one's
    height from the next and at most ``span`` times as tall (a word's letters are of one size
    of type; a digit that a ruled line joins is many times its row's height, and its reach
    had joined the rows above and below into one "word"). It looks like a word when two or
    more of them stand on a taller neighbour's baseline (bottoms within ``level`` of the
    run's height) with their tops ``rise`` or more below its top, and those tops agree with
    each other within ``level``: an x-height line under ascenders, as in "apple" or "hello".
    Digits share one height; handwritten ones of mixed sizes have tops scattered, not on a
    second line.
    """
    b = np.asarray(boxes, np.float64).reshape(-1, 4)
    n = len(b)
    if n < 3:
        return []
    x, y, w, h = b.T
    right, bottom = x + w, y + h
    space = np.maximum(x[:, None], x[None, :]) - np.minimum(right[:, None], right[None, :])
    overlap = np.minimum(bottom[:, None], bottom[None, :]) - np.maximum(y[:, None], y[None, :])
    taller, narrower = np.maximum(h[:, None], h[None, :]), np.minimum(w[:, None], w[None, :])
    shorter = np.minimum(h[:, None], h[None, :])
    near = (
        (space <= gap * taller)
        & (taller <= span * shorter)  # letters of one size of type
        & (space > -0.3 * narrower)  # side by side, not one inside the other
        & (overlap >= 0.5 * shorter)
    )
    np.fill_diagonal(near, False)
    parent = list(range(n))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j in zip(*np.nonzero(np.triu(near)), strict=True):
        parent[root(int(i))] = root(int(j))
    runs: dict[int, list[int]] = {}
    for i in range(n):
        runs.setdefault(root(i), []).append(i)
    words = []
    for members in runs.values():
        if len(members) < 3:
            continue
        m = np.array(members)
        tall = h[m].max()
        same_base = np.abs(bottom[m][:, None] - bottom[m][None, :]) <= level * tall
        lower_top = y[m][:, None] - y[m][None, :] >= rise * tall
        xs = m[(same_base & lower_top).any(axis=1)]
        if len(xs) < 2:
            continue
        on_line = (np.abs(y[xs][:, None] - y[xs][None, :]) <= level * tall).sum(axis=1) >= 2
        if on_line.any():
            words.append(m.astype(np.int32))
    return words


class DigitReader:
    """Turns a picture into read digits with a ready backend.

    ``min_confidence`` 0.5 and ``min_margin`` 0.5 (top-to-second probability ratio
    e^0.5 ≈ 1.6), tuned on rendered *tuning* photos (``make_photos.py --seed 1``; the
    evaluation seeds are never tuned on). The network learnt to give letters, clutter and
    digit fragments flat outputs (a top probability near 0.1-0.4), so a moderate threshold
    rejects them, while a high one (the old 0.95) only drops blurred or faint real digits the
    camera makes less certain: F1 is flat within half a point for ``min_confidence`` 0.3-0.6
    and ``min_margin`` 0-1, and falls above 0.7. The margin keeps out shapes halfway between
    two classes at no cost.
    """

    def __init__(
        self,
        backend: Backend,
        *,
        min_confidence: float = 0.5,
        min_margin: float = 0.5,
        split_confidence: float = 0.96,
        params: LocateParams = DEFAULT_PARAMS,
    ) -> None:
        self.backend = backend
        self.min_confidence = min_confidence
        self.min_margin = min_margin
        self.split_confidence = split_confidence
        self.params = params

    def locate(self, image: npt.NDArray[np.generic], region: Box | None = None) -> Candidates:
        """The locator's candidates before the network judges them (for diagnostics)."""
        return find_candidates(image, self.params, region=region)

    def judge(self, cands: Candidates, probs: npt.NDArray[np.float32]) -> Detections:
        """The candidates the network is sure are digits, with their labels.

        ``probs`` holds a row per tile of ``cands.all_tiles()``. A group
        cut into parts is read as that many digits when the network is sure of every part
        (``split_confidence``) and less sure of the group read whole; of several ways to
        cut it, the one whose least sure part is surest. Where no way is sure in every part
        and the whole is unsure, a cut into three or more whose parts are all sure but one
        keeps those (a row of touching digits, one of them blurred, lost the others with it);
        a group that cannot be one digit keeps the firm parts of its firmest cut, however
        many others are unsure. Two groups offered joined as well (``cands.joins``: a 4
        in two strokes) are read as the join when it is firm and they are not both firm.
        """
        n = len(cands)
        if len(probs) == 0:
            return Detections.empty()
        labels = probs.argmax(axis=1).astype(np.int64)
        conf = probs.max(axis=1).astype(np.float32)
        top2 = np.sort(probs, axis=1)[:, -2:]
        margin = np.log(np.maximum(top2[:, 1], 1e-9)) - np.log(np.maximum(top2[:, 0], 1e-9))
        sure = (conf >= self.min_confidence) & (margin >= self.min_margin)
        keep = sure.copy()
        keep[n:] = False
        firm = sure & (conf >= self.split_confidence)
        # Per group, the surest way to cut it, judged by its least sure part; failing one
        # sure in every part, the surest way with all parts firm but one (for a group that
        # cannot be one digit, with the most firm).
        best: dict[int, tuple[float, int, list[int]]] = {}
        most: dict[int, tuple[float, list[int]]] = {}
        for group, whole, first, count in cands.splits.tolist():
            idx = list(range(n + first, n + first + count))
            held = [i for i in idx if firm[i]]
            if len(held) == count:
                least = float(conf[idx].min())
                if group not in best or least > best[group][0]:
                    best[group] = (least, whole, idx)
            elif held and (whole < 0 or (len(held) == count - 1 >= 2 and not sure[whole])):
                # Firm parts are over 0.96 each: the sum also prefers the cut with more.
                score = float(conf[held].sum())
                if group not in most or score > most[group][0]:
                    most[group] = (score, held)
        for least, whole, idx in best.values():
            if whole >= 0 and sure[whole] and conf[whole] >= least:
                continue  # as sure read whole: one wide digit
            if whole >= 0:
                keep[whole] = False
            keep[idx] = True
        # A row of three or more written so fast that one digit smudged into the next: the
        # others, read firmly, stand and the unsure one is dropped (the whole was unsure
        # anyway). Not for a cut in two nor two unsure parts: a word cut apart often reads
        # its letters firmly as digits (an "o" as 0, an "l" as 1). Rows of three cost pages
        # of printed and script words 1 % more false digits (1,610 -> 1,624 on 320 pages)
        # and gave touching photo seed 11 0.9084 -> 0.9127. A group that cannot be one digit
        # (no whole tile: too wide, or more loops than a digit has) is no word read whole
        # either, and the locator has already judged its shape writing: its firm parts
        # stand, one of two included. Touching photo seeds 11 / 12 0.9222 / 0.9103 ->
        # 0.9251 / 0.9157, fresh seed 15 0.9153 -> 0.9227; word pages 1,625 -> 1,630 false
        # digits.
        for group, (_, held) in most.items():
            if group not in best:
                keep[held] = True
        if len(cands.under):  # a big digit read replaces the groups it covers ...
            # ... unless one of those is read surer: the wider look also joins a shadow's
            # edge to the digits along it, and such a join can read, unsurely, as a digit
            for big in np.unique(cands.under[cands.under >= 0]).tolist():
                whole = keep & (cands.group == big)
                covered = keep & (cands.under == big)
                if whole.any() and covered.any() and conf[whole].max() < conf[covered].max():
                    keep &= ~whole
            keep &= ~np.isin(cands.under, cands.group[keep])
        # Two side by side read joined: one digit in two strokes when the join reads
        # firmly and they did not both read as digits (two digits written close do).
        if len(cands.joins):
            taken: set[int] = set()  # parts a surer join took
            js, lefts, rights = cands.joins.T
            for k in np.argsort(-conf[js], kind="stable").tolist():
                j, a, b = int(js[k]), int(lefts[k]), int(rights[k])
                if firm[j] and keep[j] and not (firm[a] and firm[b]) and not {a, b} & taken:
                    keep[[a, b]] = False
                    taken |= {a, b}
                else:
                    keep[j] = False
        det = Detections(boxes=cands.all_boxes(), labels=labels, confidences=conf)[keep]
        return self._without_words(det, glyph_boxes(cands)) if len(det) else det

    def _without_words(self, det: Detections, glyphs: IntArray) -> Detections:
        """``det`` less what lies in a printed word (:func:`printed_words`) that the network
        did not read wholly as digits.

        Letters read alone are rejected by the network, but in a word many look like digits:
        an "o" is a 0, an "l" a 1, an "e" an 8, a "u" a 4. Pages of printed words read 405
        and 429 digits (60 pages each, three words a page); dropping the readings of word-like
        runs that hold a glyph left unread takes 45-52 % of them, and no digit of the photo
        sets, the touching rows or the videos (their digit rows are read whole, or have no
        second line of tops). Written words are left to the network: their letters' heights
        wander as digits' do.
        """
        words = printed_words(glyphs)
        if not words:
            return det
        cx = det.boxes[:, 0] + det.boxes[:, 2] / 2
        cy = det.boxes[:, 1] + det.boxes[:, 3] / 2
        g = glyphs.astype(np.float64)
        inside = (
            (cx[None, :] >= g[:, 0:1])
            & (cx[None, :] <= g[:, 0:1] + g[:, 2:3])
            & (cy[None, :] >= g[:, 1:2])
            & (cy[None, :] <= g[:, 1:2] + g[:, 3:4])
        )  # glyph x detection
        drop = np.zeros(len(det), bool)
        for run in words:
            if not inside[run].any(axis=1).all():  # a glyph the network would not read
                drop |= inside[run].any(axis=0)
        return det[~drop] if drop.any() else det

    def read(self, image: npt.NDArray[np.generic], region: Box | None = None) -> Reading:
        """Read the picture, or only ``region`` of it (x, y, w, h; see
        :func:`~edgecam.vision.locate.find_candidates`): boxes are the whole picture's."""
        t0 = time.perf_counter()
        cands = self.locate(image, region)
        t1 = time.perf_counter()
        probs = self.backend.predict(cands.all_tiles())
        t2 = time.perf_counter()
        det = self.judge(cands, probs)
        text = reading_text(det.boxes, det.labels)
        t3 = time.perf_counter()
        timings = {
            "locate": (t1 - t0) * 1000,
            "inference": (t2 - t1) * 1000,
            "total": (t3 - t0) * 1000,
        }
        return Reading(det, text, timings)

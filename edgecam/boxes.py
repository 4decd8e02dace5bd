"""Box arithmetic on ``(x, y, w, h)`` boxes, shared by evaluation, training and tracking."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

BoxLike = Sequence[float] | npt.NDArray[np.integer] | npt.NDArray[np.floating]


def intersection(a: BoxLike, b: BoxLike) -> float:
    """Area shared by two boxes (0 when they do not touch)."""
    ax, ay, aw, ah = (float(v) for v in a)
    bx, by, bw, bh = (float(v) for v in b)
    ix = max(0.0, min(ax + aw, bx + bw) - max(ax, bx))
    iy = max(0.0, min(ay + ah, by + bh) - max(ay, by))
    return ix * iy


def iou(a: BoxLike, b: BoxLike) -> float:
    """Intersection over union; 0 for two empty boxes."""
    inter = intersection(a, b)
    union = float(a[2]) * float(a[3]) + float(b[2]) * float(b[3]) - inter
    return inter / union if union > 0 else 0.0


def intersection_matrix(a: npt.ArrayLike, b: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Area shared by every box in ``a`` (n, 4) with every box in ``b`` (m, 4), as (n, m)."""
    aa = np.asarray(a, np.float64).reshape(-1, 4)
    bb = np.asarray(b, np.float64).reshape(-1, 4)
    ax0, ay0 = aa[:, 0:1], aa[:, 1:2]
    ax1, ay1 = ax0 + aa[:, 2:3], ay0 + aa[:, 3:4]
    bx0, by0 = bb[:, 0], bb[:, 1]
    bx1, by1 = bx0 + bb[:, 2], by0 + bb[:, 3]
    iw = np.clip(np.minimum(ax1, bx1) - np.maximum(ax0, bx0), 0, None)
    ih = np.clip(np.minimum(ay1, by1) - np.maximum(ay0, by0), 0, None)
    inter: npt.NDArray[np.float64] = iw * ih
    return inter


def iou_matrix(a: npt.ArrayLike, b: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """IoU of every box in ``a`` (n, 4) with every box in ``b`` (m, 4), as an (n, m) array."""
    aa = np.asarray(a, np.float64).reshape(-1, 4)
    bb = np.asarray(b, np.float64).reshape(-1, 4)
    inter = intersection_matrix(aa, bb)
    union = (aa[:, 2:3] * aa[:, 3:4]) + (bb[:, 2] * bb[:, 3]) - inter
    out: npt.NDArray[np.float64] = np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)
    return out


def centres_in(boxes: npt.ArrayLike, rect: BoxLike) -> npt.NDArray[np.bool_]:
    """For each box (n, 4), whether its centre lies in ``rect`` (x, y, w, h): left and top
    edges in, right and bottom out, so that tiling rects claim each centre once."""
    bb = np.asarray(boxes, np.float64).reshape(-1, 4)
    x0, y0, w, h = (float(v) for v in rect)
    cx, cy = bb[:, 0] + bb[:, 2] / 2, bb[:, 1] + bb[:, 3] / 2
    inside: npt.NDArray[np.bool_] = (x0 <= cx) & (cx < x0 + w) & (y0 <= cy) & (cy < y0 + h)
    return inside


def same_place(a: BoxLike, b: BoxLike) -> bool:
    """Evaluation's notion of one object: IoU ≥ 0.3, or either box's centre inside the other."""
    if iou(a, b) >= 0.3:
        return True
    ax, ay, aw, ah = (float(v) for v in a)
    bx, by, bw, bh = (float(v) for v in b)
    acx, acy, bcx, bcy = ax + aw / 2, ay + ah / 2, bx + bw / 2, by + bh / 2
    return (bx <= acx <= bx + bw and by <= acy <= by + bh) or (
        ax <= bcx <= ax + aw and ay <= bcy <= ay + ah
    )


def match_labelled(
    truth_boxes: npt.ArrayLike,
    truth_labels: npt.ArrayLike,
    boxes: npt.ArrayLike,
    labels: npt.ArrayLike,
) -> int:
    """How many detections match a true digit one to one: same place and same label.

    Pairs are taken best IoU first, so two detections on one digit count once.
    """
    tb = np.asarray(truth_boxes, np.float64).reshape(-1, 4)
    db = np.asarray(boxes, np.float64).reshape(-1, 4)
    tl = np.asarray(truth_labels).reshape(-1)
    dl = np.asarray(labels).reshape(-1)
    if len(tb) == 0 or len(db) == 0:
        return 0
    ious = iou_matrix(tb, db)
    pairs = [
        (-ious[t, d], t, d)
        for t in range(len(tb))
        for d in range(len(db))
        if tl[t] == dl[d] and same_place(tb[t], db[d])
    ]
    pairs.sort()
    used_t: set[int] = set()
    used_d: set[int] = set()
    for _, t, d in pairs:
        if t not in used_t and d not in used_d:
            used_t.add(t)
            used_d.add(d)
    return len(used_t)

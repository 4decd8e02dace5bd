"""Box arithmetic on ``(x, y, w, h)`` boxes, shared by evaluation, training and (later) tracking."""

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

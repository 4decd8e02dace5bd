"""Normalise one digit to a 28×28 MNIST-style tile.

MNIST was made by fitting each bilevel NIST digit into a 20×20 box keeping its aspect ratio
(anti-aliasing gives grey levels), then centring it in 28×28 by its centre of mass. A camera
crop must go through the same steps or the network sees a different distribution than it was
trained on.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

TILE = 28
BOX = 20

FloatImage = npt.NDArray[np.float32]


def normalise_digit(ink: npt.NDArray[np.generic], *, threshold: float = 0.0) -> FloatImage:
    """Return a 28×28 float32 tile in [0, 1], white ink on black, from an ink map.

    ``ink`` is any 2-D array where larger means more ink (white on black); uint8 is scaled
    by 1/255. Pixels at or below ``threshold`` (after scaling) count as background when the
    bounding box is found. An ink map with no ink gives an all-zero tile.
    """
    img = np.asarray(ink, dtype=np.float32)
    if img.ndim != 2:
        raise ValueError(f"ink must be 2-D, got shape {img.shape}")
    if np.issubdtype(np.asarray(ink).dtype, np.integer):
        img = img / 255.0
    x0, y0, w, h = cv2.boundingRect((img > threshold).view(np.uint8))
    if w == 0 or h == 0:
        return np.zeros((TILE, TILE), np.float32)
    crop = img[y0 : y0 + h, x0 : x0 + w]
    scale = BOX / max(h, w)
    nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    small = np.asarray(cv2.resize(crop, (nw, nh), interpolation=interp), np.float32)
    peak = float(small.max())
    if peak > 0:
        # A faint pencil digit and a bold marker digit should look alike to the network.
        small = small / peak
    total = float(small.sum())
    cy = float((small.sum(axis=1) * np.arange(nh)).sum()) / total
    cx = float((small.sum(axis=0) * np.arange(nw)).sum()) / total
    # MNIST's centres of mass sit at pixel index (14, 14), measured on its training digits.
    shift = np.array([[1, 0, TILE / 2 - cx], [0, 1, TILE / 2 - cy]], np.float32)
    tile = cv2.warpAffine(
        small, shift, (TILE, TILE), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT
    )
    return np.clip(tile, 0.0, 1.0).astype(np.float32, copy=False)

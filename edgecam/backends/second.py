"""A second network asked only about the tiles the first one is unsure of.

Two networks trained alike from different seeds make different mistakes on the hard tiles a
camera cuts (a blurred 3, a pencil 8 broken by a ruled line), and where they disagree their
averaged probabilities are flatter, so the reader's thresholds drop a doubtful reading instead
of keeping a wrong one. On the rendered photo sets (11 sets, 9,231 digits) the pair read F1
0.9393 -> 0.9416 and 320 pages of words 1,678 -> 1,526 false digits. Asking the second only
about tiles the first reads below ``below`` keeps nearly all of that (both on every tile:
0.9419 and 1,480) while a steady scene, whose digits the first network reads firmly, costs
one network as before.
"""

from __future__ import annotations

import numpy as np

from edgecam.backends.base import Backend, Batch, Probs

SECOND_DIR = "second"  # beside the model file: the second network, same file names
SURE = 0.96  # the reader's firm reading (``DigitReader.split_confidence``): no second look


class SecondOpinion:
    """``first``'s probabilities, averaged with ``second``'s where ``first`` is unsure."""

    def __init__(self, first: Backend, second: Backend, below: float = SURE) -> None:
        self.first = first
        self.second = second
        self.below = below
        self.name = first.name
        self.asked = 0  # tiles the second network was asked about
        self.tiles = 0

    def predict(self, batch: Batch) -> Probs:
        probs = self.first.predict(batch)
        self.tiles += len(probs)
        if len(probs) == 0:
            return probs
        unsure = np.flatnonzero(probs.max(axis=1) < self.below)
        if len(unsure) == 0:
            return probs
        self.asked += len(unsure)
        other = self.second.predict(np.ascontiguousarray(batch[unsure]))
        mixed: Probs = probs.copy()
        mixed[unsure] = (probs[unsure] + other) * np.float32(0.5)
        return mixed

    def close(self) -> None:
        self.first.close()
        self.second.close()

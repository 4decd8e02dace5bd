"""A second network asked only about the tiles the first one is unsure of.

Two networks trained alike from different seeds make different mistakes on the hard tiles a
camera cuts (a blurred 3, a pencil 8 broken by a ruled line), and where they disagree their
averaged probabilities are flatter, so the reader's thresholds drop a doubtful reading instead
of keeping a wrong one. On the rendered photo sets (11 sets, 9,231 digits) the pair read F1
0.9393 -> 0.9417, 320 pages of printed words 1,678 -> 1,521 false digits, the 17 rendered
videos 0.9756 -> 0.9779 and the MNIST test set 99.19 -> 99.40 % (int8 99.41 %). Both
networks on every tile read the photos alike (0.9419, 1,480 false digits) at twice the cost;
asked only about the unsure tiles, the second costs nothing on a steady scene whose digits
the first reads firmly. (Measured asking about every unsure tile: another seed's network,
7 777, paired as well on the photos, 0.9425, but read 1,804 false digits on the word pages;
all three 0.9435 and 1,692, and the bench video 0.9724 against the pair's 0.9775.)
"""

from __future__ import annotations

import numpy as np

from edgecam.backends.base import Backend, Batch, Probs

SECOND_DIR = "second"  # beside the model file: the second network, same file names
# The reader's firm reading (``DigitReader.split_confidence``), not imported: the backends do
# not depend on the vision core. tests/test_config.py holds the two equal.
SURE = 0.96  # a reading this firm gets no second look
FLAT = 0.2  # ... nor below this: the first network's "no digit" (a flat output, ~0.1 a class)


class SecondOpinion:
    """``first``'s probabilities, averaged with ``second``'s where ``first`` is unsure.

    A tile the first network reads flat (top probability under ``FLAT``) would stay rejected
    unless the second read it at 0.8 or more: on a replay of the bench video 28 % of the
    tiles are such clutter, 20 % lie between ``FLAT`` and ``SURE``. Asking about those alone
    read the photo sets alike (F1 0.9417 against 0.9418), asking about less than half as
    many tiles.
    """

    def __init__(
        self, first: Backend, second: Backend, below: float = SURE, above: float = FLAT
    ) -> None:
        self.first = first
        self.second = second
        self.below = below
        self.above = above
        self.name = first.name
        self.asked = 0  # tiles the second network was asked about
        self.tiles = 0

    def predict(self, batch: Batch) -> Probs:
        probs = self.first.predict(batch)
        self.tiles += len(probs)
        if len(probs) == 0:
            return probs
        top = probs.max(axis=1)
        unsure = np.flatnonzero((top < self.below) & (top >= self.above))
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

"""The few types every stage speaks: columnar detections and a read picture."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Detections:
    """Digits found in one picture, stored column-wise so stages can filter with one mask.

    ``boxes`` are ``(x, y, w, h)`` in the picture's own pixels; ``labels`` are 0-9 and
    ``confidences`` the backend's probability for that label. ``track_ids`` is -1 until a
    tracker assigns ids.
    """

    boxes: npt.NDArray[np.int32]
    labels: npt.NDArray[np.int64]
    confidences: npt.NDArray[np.float32]
    track_ids: npt.NDArray[np.int64] = field(default_factory=lambda: np.empty(0, np.int64))

    def __post_init__(self) -> None:
        n = len(self.boxes)
        if self.boxes.shape != (n, 4):
            raise ValueError(f"boxes must have shape (n, 4), got {self.boxes.shape}")
        if self.labels.shape != (n,) or self.confidences.shape != (n,):
            raise ValueError(
                f"labels {self.labels.shape} and confidences {self.confidences.shape} "
                f"must have shape ({n},)"
            )
        if self.track_ids.shape == (0,) and n:
            object.__setattr__(self, "track_ids", np.full(n, -1, np.int64))
        elif self.track_ids.shape != (n,):
            raise ValueError(f"track_ids must have shape ({n},), got {self.track_ids.shape}")

    @classmethod
    def empty(cls) -> Detections:
        return cls(
            boxes=np.empty((0, 4), np.int32),
            labels=np.empty(0, np.int64),
            confidences=np.empty(0, np.float32),
        )

    def __len__(self) -> int:
        return len(self.boxes)

    def __getitem__(self, mask: BoolArray | npt.NDArray[np.intp]) -> Detections:
        """Select rows by boolean mask or index array, keeping every column aligned."""
        return Detections(
            boxes=self.boxes[mask],
            labels=self.labels[mask],
            confidences=self.confidences[mask],
            track_ids=self.track_ids[mask],
        )

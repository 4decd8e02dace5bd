"""The one protocol every inference runtime implements, and the errors they raise."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from edgecam.errors import UserError

Batch = npt.NDArray[np.float32]
Probs = npt.NDArray[np.float32]


class BackendError(UserError):
    """A backend cannot be built: a missing or corrupt model file, or a bad option.

    The message is one line meant for the user: it names the thing and the fix.
    """


class BackendUnavailable(BackendError):
    """The runtime itself is not installed or not usable on this machine (e.g. no TensorRT)."""


@runtime_checkable
class Backend(Protocol):
    """Classifies a batch of normalised 28×28 digit tiles.

    ``predict`` takes float32 ``(n, 28, 28)`` in [0, 1] (white on black) for any n ≥ 0 and
    returns float32 ``(n, 10)`` class probabilities. A GPU runtime fits behind the same call:
    it may pad to its engine's batch sizes internally.
    """

    name: str

    def predict(self, batch: Batch) -> Probs: ...

    def close(self) -> None: ...

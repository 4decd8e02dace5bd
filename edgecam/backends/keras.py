"""The reference runtime: the trained tf.keras model itself (imports TensorFlow, slow start)."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

import numpy as np

from edgecam.backends._files import resolve_model
from edgecam.backends.base import BackendError, BackendUnavailable, Batch, Probs


class KerasBackend:
    """Calls the Keras model directly (not ``model.predict``, whose per-call overhead is ~80 ms)."""

    name = "keras"

    def __init__(self, model: Path | None = None, threads: int = 1) -> None:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        try:
            import keras
            import tensorflow as tf
        except ImportError:
            raise BackendUnavailable(
                "TensorFlow is not installed (it lives in the train extra: `make setup-train`)"
            ) from None
        self.model_path, _ = resolve_model(model, "model.keras", (".keras",))
        # Raises once TensorFlow has started in this process; its setting then stands.
        with contextlib.suppress(RuntimeError):
            tf.config.threading.set_intra_op_parallelism_threads(threads)
        try:
            self._model: Any = keras.saving.load_model(self.model_path, compile=False)
        except Exception as exc:  # keras raises many types for a bad archive
            from edgecam.backends import REBUILD_HINT

            raise BackendError(
                f"model file {self.model_path} cannot be loaded ({type(exc).__name__}): "
                f"{REBUILD_HINT}"
            ) from None
        self._tf = tf

    def predict(self, batch: Batch) -> Probs:
        n = len(batch)
        if n == 0:
            return np.empty((0, 10), np.float32)
        x = self._tf.convert_to_tensor(np.asarray(batch, np.float32).reshape(n, 28, 28, 1))
        return np.asarray(self._model(x, training=False), np.float32).reshape(n, 10)

    def close(self) -> None:
        self._model = None

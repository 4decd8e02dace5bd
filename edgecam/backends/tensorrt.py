"""TensorRT on an NVIDIA GPU (Jetson): the registry entry and its availability check.

Engines are built ahead from ``model.onnx`` and cached per board in a later step of the
roadmap; until then a machine without the ``tensorrt`` module, or without an engine, falls
back to LiteRT through :func:`edgecam.backends.load_backend`.
"""

from __future__ import annotations

from pathlib import Path

from edgecam.backends.base import BackendUnavailable, Batch, Probs


class TensorRTBackend:
    """Refuses to start where TensorRT cannot run, so the loader falls back with one log line."""

    name = "tensorrt"

    def __init__(self, model: Path | None = None, threads: int = 1) -> None:
        try:
            import tensorrt  # noqa: F401
        except ImportError:
            raise BackendUnavailable("TensorRT is not installed on this machine") from None
        raise BackendUnavailable(
            "no TensorRT engine is built for this board yet (engine building is not implemented)"
        )

    def predict(self, batch: Batch) -> Probs:  # pragma: no cover - never constructed
        raise NotImplementedError

    def close(self) -> None:  # pragma: no cover - never constructed
        return None

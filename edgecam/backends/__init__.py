"""Inference runtimes behind one protocol, chosen by name and imported only when chosen.

The registry maps a name to an import string (as uvicorn does for its loops) so a machine
without TensorFlow or TensorRT can still list, pick and fall back between backends.
"""

from __future__ import annotations

import importlib
import logging
import os
from pathlib import Path

from edgecam.backends.base import Backend, BackendError, BackendUnavailable

log = logging.getLogger(__name__)

BACKENDS: dict[str, str] = {
    "litert": "edgecam.backends.litert:LiteRTBackend",
    "keras": "edgecam.backends.keras:KerasBackend",
    "tensorrt": "edgecam.backends.tensorrt:TensorRTBackend",
}
DEFAULT_BACKEND = "litert"
MODEL_DIR_ENV = "EDGECAM_MODEL_DIR"
REBUILD_HINT = "rebuild it with `.venv/bin/python scripts/train_digits.py`"

__all__ = [
    "BACKENDS",
    "DEFAULT_BACKEND",
    "Backend",
    "BackendError",
    "BackendUnavailable",
    "default_model_dir",
    "load_backend",
]


def default_model_dir() -> Path:
    """The model folder: ``$EDGECAM_MODEL_DIR`` or the repository's ``models/digits``."""
    env = os.environ.get(MODEL_DIR_ENV)
    if env:
        return Path(env)
    return Path(__file__).resolve().parent.parent.parent / "models" / "digits"


def _construct(name: str, model: Path | None, threads: int) -> Backend:
    module_name, _, class_name = BACKENDS[name].partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise BackendUnavailable(f"backend {name!r} cannot be imported: {exc}") from None
    cls = getattr(module, class_name)
    backend: Backend = cls(model=model, threads=threads)
    return backend


def load_backend(
    name: str = DEFAULT_BACKEND,
    *,
    model: Path | None = None,
    threads: int = 1,
    fallback: bool = True,
) -> Backend:
    """Build the backend called ``name``.

    ``model`` is a model file or a folder holding the usual file names; ``None`` means
    :func:`default_model_dir`. A known backend that cannot run here falls back to LiteRT with
    one warning line, so a board without TensorRT still reads digits.
    """
    if name not in BACKENDS:
        known = ", ".join(sorted(BACKENDS))
        raise BackendError(f"unknown backend {name!r}: choose one of {known}")
    try:
        return _construct(name, model, threads)
    except BackendUnavailable as exc:
        if not fallback or name == DEFAULT_BACKEND:
            raise
        log.warning("%s; falling back to %s", exc, DEFAULT_BACKEND)
        # The fallback's own model lives in the same folder, not in a foreign model file.
        folder = model.parent if model is not None and model.is_file() else model
        return _construct(DEFAULT_BACKEND, folder, threads)

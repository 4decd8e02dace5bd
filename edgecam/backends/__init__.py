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
    second: bool = True,
) -> Backend:
    """Build the backend called ``name``.

    ``model`` is a model file or a folder holding the usual file names; ``None`` means
    :func:`default_model_dir`. A known backend that cannot run here falls back to LiteRT with
    one warning line, so a board without TensorRT still reads digits. Where a ``second``
    folder beside the model holds a second network (the same file names), it is asked about
    the tiles the first is unsure of (:class:`~edgecam.backends.second.SecondOpinion`);
    ``second=False`` builds the first alone.
    """
    if name not in BACKENDS:
        known = ", ".join(sorted(BACKENDS))
        raise BackendError(f"unknown backend {name!r}: choose one of {known}")
    try:
        first = _construct(name, model, threads)
    except BackendUnavailable as exc:
        if not fallback or name == DEFAULT_BACKEND:
            raise
        log.warning("%s; falling back to %s", exc, DEFAULT_BACKEND)
        # The fallback's own model lives in the same folder, not in a foreign model file.
        model = model.parent if model is not None and model.is_file() else model
        name = DEFAULT_BACKEND
        first = _construct(name, model, threads)
    other = _second_model(model) if second else None
    if other is None:
        return first
    from edgecam.backends.second import SecondOpinion

    try:
        return SecondOpinion(first, _construct(name, other, threads))
    except BaseException:
        first.close()
        raise


def _second_model(model: Path | None) -> Path | None:
    """The second network's folder (or file, for a model given as a file), where one exists."""
    from edgecam.backends.second import SECOND_DIR

    path = default_model_dir() if model is None else model
    if path.is_dir():
        folder = path / SECOND_DIR
        return folder if folder.is_dir() else None
    other = path.parent / SECOND_DIR / path.name
    return other if other.is_file() else None

"""Finding a backend's model file and checking it against the model card."""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

from edgecam.backends.base import BackendError

log = logging.getLogger(__name__)


def resolve_model(
    model: Path | None, default_name: str, suffixes: tuple[str, ...]
) -> tuple[Path, bytes]:
    """Return the model file to load and its bytes, or raise a one-line error naming the fix.

    The bytes are read once here: the card check hashes them and a runtime that loads from
    memory (LiteRT) takes them as they are.
    """
    from edgecam.backends import REBUILD_HINT, default_model_dir

    path = default_model_dir() if model is None else model
    if path.is_dir():
        path = path / default_name
    if not path.is_file():
        raise BackendError(f"model file {path} is missing: {REBUILD_HINT}")
    if path.suffix not in suffixes:
        raise BackendError(f"model file {path} is not a {' or '.join(suffixes)} file")
    try:
        content = path.read_bytes()
    except OSError as exc:
        raise BackendError(f"model file {path} cannot be read ({exc.strerror or exc})") from None
    _check_card(path, content)
    return path, content


def _check_card(path: Path, content: bytes) -> None:
    """Warn when a model file differs from what its card recorded (a half-copied deploy)."""
    card = path.parent / "card.json"
    if not card.is_file():
        return
    try:
        files = json.loads(card.read_text())["files"]
        expected = files[path.name]["sha256"]
    except (OSError, ValueError, KeyError, TypeError):
        return
    actual = hashlib.sha256(content).hexdigest()
    if actual != expected:
        log.warning("model file %s does not match the sha256 in %s", path, card)

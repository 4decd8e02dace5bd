"""LiteRT (TensorFlow Lite) on the CPU with XNNPACK: the default runtime, float or int8 models."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from edgecam.backends._files import resolve_model
from edgecam.backends.base import BackendError, BackendUnavailable, Batch, Probs

log = logging.getLogger(__name__)

# A frame's digits go in one batch, padded up to a planned size: one interpreter per such size
# (tensors planned once), made when the backend is built for the sizes a page of digits
# needs, so no frame pays the ~2 ms of planning a new size in the middle of a run (TensorRT
# engines work the same way, with optimisation profiles). Padding costs ~25 µs a tile.
_WARM_BATCHES = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32)
_SIZES = (*_WARM_BATCHES, 48, 64)  # every size a batch of up to 64 runs at
_MAX_INTERPRETERS = 12


def padded_batch(n: int) -> int:
    """The interpreter size a batch of ``n`` runs at: the next of 1-4, 6, 8, 12, 16, 24, 32,
    48 and 64, or a multiple of 64 beyond that. Powers of two padded a frame's ~11 tiles to
    16 and the second network's few unsure ones (``SecondOpinion``) to the next power too,
    a quarter of each call spent on empty tiles on average; the four more interpreters
    add ~1 ms to building the backend (median 2.5-3.2 -> 3.6-3.7 ms, warm)."""
    if n > 64:
        return -(-n // 64) * 64
    return next(size for size in _SIZES if size >= n)


@contextlib.contextmanager
def _native_stderr_to_log() -> Iterator[None]:
    """Route the runtime's C++ banner ("Created TensorFlow Lite XNNPACK delegate") to the log.

    The native library writes straight to file descriptor 2 once per process, which would
    break the one-line-per-event output a user or a service journal expects.
    """
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):
        yield  # no real stderr (embedded use): nothing to route
        return
    sys.stderr.flush()
    saved = os.dup(fd)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), fd)
        try:
            yield
        finally:
            os.dup2(saved, fd)
            os.close(saved)
            sink.seek(0)
            for line in sink.read().decode(errors="replace").splitlines():
                if line.strip():
                    log.debug("litert: %s", line.strip())


def _check_flatbuffer(path: Path, content: bytes) -> None:
    """Refuse what is not a TFLite flatbuffer before LiteRT sees it: its loader trusts the
    offsets in the file, and random bytes can crash the process instead of raising."""
    from edgecam.backends import REBUILD_HINT

    root = int.from_bytes(content[:4], "little") if len(content) >= 8 else 0
    if len(content) < 8 or content[4:8] != b"TFL3" or not 8 <= root < len(content):
        raise BackendError(
            f"model file {path} is not a TensorFlow Lite model (corrupt or another format): "
            f"{REBUILD_HINT}"
        )


class LiteRTBackend:
    """Runs a ``.tflite`` digit model; quantised int8/uint8 models are (de)quantised here."""

    name = "litert"

    def __init__(self, model: Path | None = None, threads: int = 1) -> None:
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError:
            raise BackendUnavailable("ai-edge-litert is not installed: run `make setup`") from None
        if threads < 1:
            raise BackendError(f"threads must be at least 1, got {threads}")
        self._interpreter_cls: Any = Interpreter
        self.model_path, self._content = resolve_model(model, "model.tflite", (".tflite",))
        _check_flatbuffer(self.model_path, self._content)
        self.threads = threads
        self._interpreters: OrderedDict[int, Any] = OrderedDict()
        with _native_stderr_to_log():
            first = self._interpreter(1)
        inp = first.get_input_details()[0]
        out = first.get_output_details()[0]
        self.input_dtype = np.dtype(inp["dtype"])
        self._in_scale, self._in_zero = inp["quantization"]
        self._out_scale, self._out_zero = out["quantization"]
        self._out_dtype = np.dtype(out["dtype"])
        self.quantised = self.input_dtype != np.float32
        if tuple(inp["shape"][1:3]) != (28, 28) or int(out["shape"][-1]) != 10:
            raise BackendError(
                f"model file {self.model_path} takes {list(inp['shape'])} and gives "
                f"{list(out['shape'])}; expected (n, 28, 28[, 1]) -> (n, 10)"
            )
        self._rank = len(inp["shape"])
        for size in _WARM_BATCHES[1:]:
            self._interpreter(size)

    def _interpreter(self, batch: int) -> Any:
        cached = self._interpreters.get(batch)
        if cached is not None:
            self._interpreters.move_to_end(batch)
            return cached
        try:
            interp = self._interpreter_cls(model_content=self._content, num_threads=self.threads)
            inp = interp.get_input_details()[0]
            if batch != 1 or int(inp["shape"][0]) != 1:
                shape = [batch, *(int(d) for d in inp["shape"][1:])]
                interp.resize_tensor_input(inp["index"], shape, strict=False)
            interp.allocate_tensors()
        except (ValueError, RuntimeError) as exc:
            from edgecam.backends import REBUILD_HINT

            text = str(exc).strip()
            first_line = text.splitlines()[0] if text else type(exc).__name__
            raise BackendError(
                f"model file {self.model_path} is corrupt or not a LiteRT model "
                f"({first_line}): {REBUILD_HINT}"
            ) from None
        self._interpreters[batch] = interp
        if len(self._interpreters) > _MAX_INTERPRETERS:
            self._interpreters.popitem(last=False)
        return interp

    def predict(self, batch: Batch) -> Probs:
        n = len(batch)
        if n == 0:
            return np.empty((0, 10), np.float32)
        size = padded_batch(n)
        interp = self._interpreter(size)
        tile = (28, 28, *([1] * (self._rank - 3)))
        x = np.zeros((size, *tile), np.float32)
        x[:n] = np.asarray(batch, np.float32).reshape(n, *tile)
        if self.quantised:
            info = np.iinfo(self.input_dtype)
            x = np.clip(np.round(x / self._in_scale + self._in_zero), info.min, info.max)
        inp = interp.get_input_details()[0]
        interp.set_tensor(inp["index"], x.astype(self.input_dtype, copy=False))
        interp.invoke()
        y = interp.get_tensor(interp.get_output_details()[0]["index"])
        if self._out_dtype != np.float32:
            y = (y.astype(np.float32) - self._out_zero) * self._out_scale
        probs: Probs = np.asarray(y, np.float32).reshape(size, 10)[:n].copy()
        return probs

    def close(self) -> None:
        self._interpreters.clear()

"""Time LiteRT inference of the digit models: microseconds per digit at a few batch sizes.

Loads each ``.tflite`` with ``ai_edge_litert.interpreter.Interpreter`` (XNNPACK on CPU),
resizes the input to batch B, allocates, warms up, then times many ``invoke`` calls and
prints one JSON line per run::

    .venv/bin/python scripts/bench_backend.py [--models A.tflite B.tflite] [--threads 1]
        [--batches 1 32] [--seconds 1.0]

The timed loop includes setting the input tensor and reading the output, as a backend does.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

ROOT = Path(__file__).resolve().parent.parent
# The first network, and the second one asked about the tiles the first is unsure of (a
# tile both read costs the two figures together).
DEFAULT_MODELS = [
    ROOT / "models" / "digits" / sub / name
    for sub in ("", "second")
    for name in ("model.tflite", "model_int8.tflite")
]


def _input_batch(detail: dict[str, Any], batch: int, rng: np.random.Generator) -> npt.NDArray[Any]:
    """Random digit-like input of the tensor's dtype (quantised when the model takes ints)."""
    x = rng.random((batch, 28, 28, 1), dtype=np.float32)
    dtype = np.dtype(detail["dtype"])
    if dtype == np.float32:
        return x
    scale, zero = detail["quantization"]
    info = np.iinfo(dtype)
    quantised: npt.NDArray[Any] = np.clip(np.round(x / scale + zero), info.min, info.max)
    return quantised.astype(dtype)


def bench(
    model: Path, batch: int, threads: int, seconds: float, min_iters: int = 50
) -> dict[str, object]:
    """Median-of-rounds microseconds per digit for one model at one batch size."""
    from ai_edge_litert.interpreter import Interpreter

    interp = Interpreter(model_path=str(model), num_threads=threads)
    inp = interp.get_input_details()[0]
    out = interp.get_output_details()[0]
    interp.resize_tensor_input(inp["index"], [batch, 28, 28, 1])
    interp.allocate_tensors()
    inp = interp.get_input_details()[0]
    x = _input_batch(inp, batch, np.random.default_rng(0))

    def once() -> None:
        interp.set_tensor(inp["index"], x)
        interp.invoke()
        interp.get_tensor(out["index"])

    for _ in range(20):
        once()
    # Calibrate the loop length so each of 5 rounds takes about seconds / 5.
    t0 = time.perf_counter()
    for _ in range(min_iters):
        once()
    per_call = (time.perf_counter() - t0) / min_iters
    iters = max(min_iters, int(seconds / 5 / max(per_call, 1e-7)))
    rounds = []
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(iters):
            once()
        rounds.append((time.perf_counter() - t0) / iters)
    call = float(np.median(rounds))
    return {
        "model": model.name,
        "batch": batch,
        "threads": threads,
        "us_per_call": round(call * 1e6, 2),
        "us_per_digit": round(call * 1e6 / batch, 2),
        "iters": iters * 5,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", type=Path, default=DEFAULT_MODELS)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batches", nargs="+", type=int, default=[1, 32])
    parser.add_argument("--seconds", type=float, default=1.0, help="timed seconds per run")
    args = parser.parse_args(argv)
    results: list[dict[str, object]] = []
    for model in args.models:
        if not model.is_file():
            print(f"{model}: no such file", file=sys.stderr)
            return 2
        for batch in args.batches:
            results.append(bench(model, batch, args.threads, args.seconds))
    summary = {f"{r['model']}@b{r['batch']}": r["us_per_digit"] for r in results}
    print(json.dumps({"us_per_digit": summary, "threads": args.threads, "runs": results}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

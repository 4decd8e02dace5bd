"""Accuracy of a backend on an IDX digit set (MNIST test): the number the model card quotes."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from edgecam.backends.base import Backend
from edgecam.datasets import load_mnist


def evaluate_mnist(backend: Backend, directory: Path, *, batch: int = 256) -> dict[str, Any]:
    """Classify every digit in ``directory`` and report accuracy, per class and confusion.

    Inference time covers only ``backend.predict``, so it compares runtimes, not file reading.
    """
    images, labels = load_mnist(directory)
    predicted = np.empty(len(labels), np.int64)
    spent = 0.0
    for start in range(0, len(images), batch):
        chunk = images[start : start + batch]
        t0 = time.perf_counter()
        probs = backend.predict(chunk)
        spent += time.perf_counter() - t0
        predicted[start : start + len(chunk)] = probs.argmax(axis=1)
    confusion = np.zeros((10, 10), np.int64)
    np.add.at(confusion, (labels, predicted), 1)
    per_class = confusion.diagonal() / np.maximum(confusion.sum(axis=1), 1)
    return {
        "backend": backend.name,
        "count": len(labels),
        "accuracy": round(float((predicted == labels).mean()), 5),
        "per_class": {str(d): round(float(a), 5) for d, a in enumerate(per_class)},
        "confusion": confusion.tolist(),
        "batch": batch,
        "mean_inference_us_per_digit": round(spent / max(len(labels), 1) * 1e6, 2),
    }

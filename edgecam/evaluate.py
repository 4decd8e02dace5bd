"""Scoring: a backend on an IDX digit set (the model card's number), a replay against truth."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from edgecam.backends.base import Backend
from edgecam.boxes import match_labelled
from edgecam.datasets import load_mnist
from edgecam.errors import UserError
from edgecam.types import Frame, Result


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


class TruthError(UserError):
    """A truth file cannot be used; the message names it and what is wrong."""


def load_video_truth(path: Path) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Per frame index: the true boxes (n, 4) and labels (n,) of a ``make_replay.py`` file."""
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
        frames = doc["frames"]
        truth: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        for entry in frames:
            digits = entry["digits"]
            boxes = np.array([d["box"] for d in digits], np.int64).reshape(-1, 4)
            labels = np.array([int(d["label"]) for d in digits], np.int64)
            truth[int(entry["frame"])] = (boxes, labels)
    except FileNotFoundError:
        raise TruthError(f"truth file {path} not found") from None
    except OSError as exc:
        raise TruthError(f"truth file {path}: {exc.strerror or exc}") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise TruthError(
            f"truth file {path} is not a replay truth file "
            f'({{"frames": [{{"frame", "digits": [{{"label", "box"}}]}}]}}): {exc}'
        ) from None
    return truth


class TruthScorer:
    """A sink that scores each result against the truth of its frame: per-digit P/R/F1.

    A detection counts when its label matches a true digit of that frame at the same place
    (:func:`edgecam.boxes.same_place`), one to one; every other detection is a false one.
    Frames without truth are not scored.
    """

    name = "truth"

    def __init__(self, truth: dict[int, tuple[np.ndarray, np.ndarray]]) -> None:
        self.truth = truth
        self.true_digits = 0
        self.detections = 0
        self.matched = 0
        self.frames = 0

    def emit(self, result: Result, frame: Frame) -> None:
        entry = self.truth.get(result.frame)
        if entry is None:
            return
        boxes, labels = entry
        det = result.detections
        self.frames += 1
        self.true_digits += len(labels)
        self.detections += len(det)
        self.matched += match_labelled(boxes, labels, det.boxes, det.labels)

    def close(self) -> None:
        pass

    def report(self) -> dict[str, float | int | None]:
        if not self.frames:
            return {"precision": None, "recall": None, "f1": None, "scored_frames": 0}
        precision = self.matched / self.detections if self.detections else 1.0
        recall = self.matched / self.true_digits if self.true_digits else 1.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return {
            "precision": round(precision, 4),
            "recall": round(recall, 4),
            "f1": round(f1, 4),
            "scored_frames": self.frames,
            "true_digits": self.true_digits,
        }

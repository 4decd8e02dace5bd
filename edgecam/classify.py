"""Reading the digits in still pictures: one record per picture, errors kept per picture."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from edgecam.errors import fault_line
from edgecam.vision.locate import MIN_SIDE
from edgecam.vision.reader import DigitReader, Reading

log = logging.getLogger(__name__)


class ImageError(Exception):
    """A picture cannot be read; the message names why in a few words."""


def load_image(path: Path) -> npt.NDArray[np.uint8]:
    """Decode a picture as BGR, turned upright by its EXIF orientation as a phone meant it."""
    if not path.exists():
        raise ImageError("no such file")
    if path.is_dir():
        raise ImageError("is a directory, not an image")
    try:
        data = np.fromfile(path, np.uint8)
    except OSError as exc:
        raise ImageError(f"cannot read file ({exc.strerror or exc})") from None
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if image is None:
        raise ImageError("not a readable image (corrupt or unsupported format)")
    h, w = image.shape[:2]
    if min(h, w) < MIN_SIDE:
        raise ImageError(f"too small to read ({w}×{h} px; at least {MIN_SIDE}×{MIN_SIDE})")
    return np.asarray(image, np.uint8)


def reading_record(source: str, image: npt.NDArray[np.uint8], reading: Reading) -> dict[str, Any]:
    """The ``classify --json`` line for one picture."""
    return {
        "source": source,
        "width": int(image.shape[1]),
        "height": int(image.shape[0]),
        "detections": reading.detections.records(tracks=False),
        "text": reading.text,
    }


def classify_paths(paths: Iterable[Path], reader: DigitReader) -> Iterator[dict[str, Any]]:
    """Yield one record per path in input order; a bad picture yields ``{"source", "error"}``."""
    for path in paths:
        try:
            image = load_image(path)
        except ImageError as exc:
            yield {"source": str(path), "error": str(exc)}
            continue
        try:
            reading = reader.read(image)
        except Exception as exc:  # a picture the reader trips on costs that picture only
            log.debug("reading %s failed", path, exc_info=exc)
            yield {
                "source": str(path),
                "error": f"reading it failed ({fault_line(exc)}): a fault in "
                "edgecam, not in the picture; please report it with the picture "
                "(--verbose shows the traceback)",
            }
            continue
        yield reading_record(str(path), image, reading)

"""Reading the digits in still pictures: one record per picture, errors kept per picture."""

from __future__ import annotations

import io
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
    if image is None and is_heif(data):
        image = _decode_heif(data)
    if image is None:
        raise ImageError(
            "not a readable image (corrupt, or a format OpenCV cannot decode): save it as "
            "JPEG or PNG"
        )
    h, w = image.shape[:2]
    if min(h, w) < MIN_SIDE:
        raise ImageError(f"too small to read ({w}×{h} px; at least {MIN_SIDE}×{MIN_SIDE})")
    return np.asarray(image, np.uint8)


# ISO base media brands of HEIF stills (an iPhone's HEIC photos: its camera's default
# format) that OpenCV's image codecs lack; AVIF, also HEIF, OpenCV decodes itself.
_HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"}


def is_heif(data: npt.NDArray[np.uint8]) -> bool:
    """Whether the bytes open with a HEIF file type box (``ftyp`` and a HEIF brand)."""
    head = data[:12].tobytes()
    return len(head) == 12 and head[4:8] == b"ftyp" and head[8:12] in _HEIF_BRANDS


def _decode_heif(data: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8] | None:
    """A HEIF photo as BGR, upright, through libheif (pillow-heif, imported only for one).

    libheif applies the file's rotation and mirroring (HEIF keeps them as transforms of the
    image, not only as an EXIF tag), so the picture comes as the phone showed it."""
    try:
        import pillow_heif
    except ImportError:
        raise ImageError(
            "a HEIC/HEIF photo, and pillow-heif is not installed to decode it: run "
            "scripts/setup.sh (or pip install pillow-heif), or save the photo as JPEG"
        ) from None
    try:
        heif = pillow_heif.open_heif(io.BytesIO(data.tobytes()), convert_hdr_to_8bit=True)
        pixels = np.asarray(heif)
    except Exception as exc:  # libheif's errors name the fault in the file
        raise ImageError(f"a HEIC/HEIF photo that cannot be decoded ({exc})") from None
    if pixels.dtype != np.uint8 or pixels.ndim not in (2, 3):
        return None
    if pixels.ndim == 2:  # a monochrome image
        return np.asarray(cv2.cvtColor(pixels, cv2.COLOR_GRAY2BGR), np.uint8)
    code = cv2.COLOR_RGBA2BGR if pixels.shape[2] == 4 else cv2.COLOR_RGB2BGR
    return np.asarray(cv2.cvtColor(pixels, code), np.uint8)


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

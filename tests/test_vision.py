"""The vision core: reading order, tiles, and what the locator finds and rejects on drawn pages."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from edgecam.types import Detections
from edgecam.vision.locate import (
    DEFAULT_PARAMS,
    Candidates,
    _kth_around,
    _points,
    _quantile,
    components,
    cut_path,
    find_candidates,
    find_lines,
    merge_parts,
    middle,
    page_angle,
)
from edgecam.vision.normalize import TILE
from edgecam.vision.reader import DigitReader, printed_words, reading_order, reading_text

Image = npt.NDArray[np.uint8]
Box = tuple[int, int, int, int]

# A few handwriting-like strokes per digit in a unit box (x right, y down).
STROKES: dict[int, list[list[tuple[float, float]]]] = {
    1: [[(0.3, 0.2), (0.6, 0.0), (0.55, 1.0)]],
    4: [[(0.6, 0.0), (0.05, 0.65), (1.0, 0.65)], [(0.7, 0.1), (0.7, 1.0)]],
    7: [[(0.0, 0.0), (1.0, 0.0), (0.4, 1.0)]],
}
SKIN = (120, 150, 205)  # BGR: a hand's fingers and palm


def paper(h: int = 480, w: int = 640, level: int = 225) -> Image:
    rng = np.random.default_rng(0)
    page = np.full((h, w, 3), level, np.float32) + rng.normal(0, 2, (h, w, 3))
    return np.clip(page, 0, 255).astype(np.uint8)


def draw_digit(
    page: Image, digit: int, box: Box, colour: tuple[int, int, int] = (30, 30, 30), pen: int = 0
) -> Box:
    """Draw strokes through ``box``; returns the box of the ink actually drawn."""
    x, y, w, h = box
    pen = pen or max(2, h // 14)
    ink = np.zeros(page.shape[:2], np.uint8)
    for stroke in STROKES[digit]:
        pts = np.array([(x + px * w, y + py * h) for px, py in stroke], np.int32)
        cv2.polylines(page, [pts], False, colour, pen, cv2.LINE_AA)
        cv2.polylines(ink, [pts], False, 255, pen, cv2.LINE_8)
    bx, by, bw, bh = cv2.boundingRect(ink)
    return bx, by, bw, bh


def iou(a: npt.NDArray[np.integer], b: Box) -> float:
    ax, ay, aw, ah = (int(v) for v in a)
    bx, by, bw, bh = b
    ix = max(0, min(ax + aw, bx + bw) - max(ax, bx))
    iy = max(0, min(ay + ah, by + bh) - max(ay, by))
    inter = ix * iy
    return inter / (aw * ah + bw * bh - inter)


def found(cands: Candidates, box: Box) -> bool:
    return any(iou(b, box) >= 0.5 for b in cands.boxes)


@pytest.mark.parametrize(
    ("boxes", "rows"),
    [
        ([], []),
        ([(0, 0, 10, 20)], [[0]]),
        # one line written right to left is still read left to right
        ([(50, 0, 10, 20), (30, 2, 10, 20), (10, 1, 10, 20)], [[2, 1, 0]]),
        # a line drifting downwards stays one row
        ([(0, 0, 10, 20), (15, 6, 10, 20), (30, 12, 10, 20)], [[0, 1, 2]]),
        # two lines, the lower one listed first
        ([(0, 40, 10, 20), (20, 41, 10, 20), (5, 0, 10, 20)], [[2], [0, 1]]),
        # a tall digit spanning a small one's line joins it
        ([(0, 0, 20, 60), (30, 20, 8, 16)], [[0, 1]]),
        # touching lines (no overlap) are separate rows
        ([(0, 0, 10, 20), (0, 20, 10, 20)], [[0], [1]]),
    ],
)
def test_reading_order_groups_rows_by_vertical_overlap(
    boxes: list[Box], rows: list[list[int]]
) -> None:
    # Given boxes in arbitrary order, when ordered for reading, then rows run top to bottom.
    assert reading_order(np.array(boxes, np.int32).reshape(-1, 4)) == rows


def _turned_rows(angle: float, rows: int, per_row: int) -> npt.NDArray[np.int32]:
    """Boxes of ``rows`` rows of 40-px digits 60 px apart, the sheet turned by ``angle``."""
    a = np.radians(angle)
    boxes = []
    for r in range(rows):
        for k in range(per_row):
            x, y = 60.0 * k, 90.0 * r
            cx, cy = x * np.cos(a) - y * np.sin(a), x * np.sin(a) + y * np.cos(a)
            boxes.append((int(200 + cx), int(200 + cy), 28, 40))
    return np.array(boxes, np.int32)


@pytest.mark.parametrize("angle", [-20.0, -8.0, 12.0, 25.0])
def test_rows_of_a_turned_sheet_are_read_along_the_sheet(angle: float) -> None:
    # A row turned 20 degrees drops a third of a digit from one digit to the next: grouped by
    # overlap on the picture's own rows, "4716" came out as "6 1 7 4".
    boxes = _turned_rows(angle, 2, 4)
    shuffled = np.random.default_rng(0).permutation(len(boxes))
    rows = reading_order(boxes[shuffled])
    assert [[int(shuffled[i]) for i in row] for row in rows] == [[0, 1, 2, 3], [4, 5, 6, 7]]
    assert reading_text(boxes, np.array([4, 7, 1, 6, 2, 0, 2, 6])) == "4716 2026"


def test_a_level_line_beside_a_slanted_group_of_another_size_keeps_its_rows() -> None:
    # Large digits written rising beside a block of small level ones: one slant for all would
    # shear the small block into the large row, so the rows stay as they overlap.
    large = [(957, 565, 101, 198), (1115, 516, 140, 166), (1301, 481, 129, 138)]
    small = [(592, 809, 32, 58), (662, 801, 21, 32), (601, 872, 35, 48), (672, 865, 35, 31)]
    boxes = np.array([*large, *small], np.int32)
    assert reading_order(boxes) == [[0, 1, 2], [3, 4], [5, 6]]


def test_reading_text_separates_rows_with_one_space() -> None:
    boxes = np.array([(40, 0, 10, 20), (0, 0, 10, 20), (0, 50, 10, 20)], np.int32)
    assert reading_text(boxes, np.array([2, 1, 7])) == "12 7"


@pytest.mark.parametrize("digit", [1, 4, 7])
@pytest.mark.parametrize("height", [16, 60, 220])
def test_locate_finds_a_drawn_digit_at_any_size(digit: int, height: int) -> None:
    # Given a page with one pen digit, from webcam-small to half the frame
    page = paper()
    box = draw_digit(page, digit, (300, 120, int(height * 0.6), height), pen=max(1, height // 25))
    # When located
    cands = find_candidates(page)
    # Then exactly that digit is found, with an MNIST-like tile
    assert len(cands) == 1
    assert iou(cands.boxes[0], box) >= 0.6
    tile = cands.tiles[0]
    assert tile.shape == (TILE, TILE) and tile.dtype == np.float32
    assert float(tile.min()) >= 0.0 and 0.7 <= float(tile.max()) <= 1.0


@pytest.mark.parametrize("digit", [1, 4])
def test_a_big_digit_in_strokes_wider_than_the_paper_closing_is_found(digit: int) -> None:
    # Given a digit 220 px tall on a 640×480 page drawn with a 36-px marker: its strokes,
    # where they meet, are wider than the closing that estimates the paper (0.09 of the short
    # side), so that estimate sinks into them and hollows them out
    page = paper()
    box = draw_digit(page, digit, (260, 120, 132, 220), pen=36)
    # When located, then it is found whole
    cands = find_candidates(page)
    assert len(cands) == 1 and iou(cands.boxes[0], box) >= 0.8
    # ... and so when only a region around it is read (the second look is of a part of
    # what the first looked at, its boxes mapped back in both steps)
    assert found(find_candidates(page, region=(200, 80, 300, 320)), box)
    # ... which one look with that closing alone did not do
    assert not found(find_candidates(page, replace(DEFAULT_PARAMS, big_frac=0)), box)


@pytest.mark.parametrize("digit", [1, 4, 7])
def test_a_digit_in_a_deep_shadow_is_found(digit: int) -> None:
    # Given a page whose right half lies in a soft shadow a quarter as bright as the lit
    # paper (a phone held close over the sheet), a red digit in the shadow
    page = paper()
    box = draw_digit(page, digit, (420, 200, 48, 80), colour=(40, 40, 150))
    shade = np.zeros(page.shape[:2], np.float32)
    shade[:, 330:] = 1
    shade = cv2.GaussianBlur(shade, (0, 0), 30)
    page = (page * (1 - 0.75 * shade)[..., None]).astype(np.uint8)
    # When located, then it is found: paper in shadow is still paper
    assert found(find_candidates(page), box)
    # ... which judging the surface around it too dark for paper (under 0.3 of the page's
    # white, the bar before 4 Dec) did not do
    assert not found(find_candidates(page, replace(DEFAULT_PARAMS, min_surface=0.3)), box)


def test_specks_in_a_small_picture_are_not_digits() -> None:
    # Given small pictures of noise (a 16-bit 120×100 PNG read as 8 bits)
    noise = [np.random.default_rng(s).integers(0, 65536, (100, 120)) for s in range(6)]
    pictures = [
        cv2.imdecode(cv2.imencode(".png", n.astype(np.uint16))[1], cv2.IMREAD_COLOR) for n in noise
    ]
    # When located, then next to nothing is a candidate: no digit is under 7 px tall
    assert sum(len(find_candidates(p)) for p in pictures) <= 12
    # ... where 2 % of the picture's short side (2 px) as the only floor let in dozens
    too_low = replace(DEFAULT_PARAMS, min_work_px=0)
    assert sum(len(find_candidates(p, too_low)) for p in pictures) >= 100


def test_tiles_are_centred_by_mass_in_a_20px_box() -> None:
    page = paper()
    draw_digit(page, 4, (200, 100, 90, 150))
    tile = find_candidates(page).tiles[0]
    ys, xs = np.nonzero(tile > 0.05)
    assert ys.max() - ys.min() <= 22 and xs.max() - xs.min() <= 22
    mass = tile.sum()
    cy = (tile.sum(axis=1) * np.arange(TILE)).sum() / mass
    cx = (tile.sum(axis=0) * np.arange(TILE)).sum() / mass
    assert abs(cy - 13.5) < 1.0 and abs(cx - 13.5) < 1.0


def test_thin_pen_strokes_are_thickened_towards_mnist() -> None:
    # A 1-px pen on a 200-px digit would be a hairline after fitting into 20 px.
    page = paper()
    draw_digit(page, 7, (200, 100, 120, 200), pen=2)
    tile = find_candidates(page).tiles[0]
    assert (tile > 0.5).sum() >= 30


@pytest.mark.parametrize(
    ("ink", "colour"),
    [
        ("black", (25, 25, 25)),
        ("blue", (150, 60, 20)),
        ("red", (40, 30, 150)),
        ("pencil", (120, 120, 120)),
    ],
)
def test_locate_finds_coloured_ink(ink: str, colour: tuple[int, int, int]) -> None:
    page = paper()
    box = draw_digit(page, 4, (250, 150, 60, 100), colour=colour)
    assert found(find_candidates(page), box), ink


def test_locate_finds_digits_across_a_soft_shadow() -> None:
    # Given a page half in a soft shadow 55 % as bright, a digit on each side and one astride
    page = paper().astype(np.float32)
    shade = np.ones(page.shape[:2], np.float32)
    shade[:, 320:] = 0.55
    page = np.clip(page * cv2.GaussianBlur(shade, (0, 0), 25)[..., None], 0, 255).astype(np.uint8)
    places = [(100, 150, 50, 90), (300, 150, 50, 90), (500, 150, 50, 90)]
    boxes = [draw_digit(page, d, box) for box, d in zip(places, (7, 4, 1), strict=True)]
    cands = find_candidates(page)
    assert all(found(cands, box) for box in boxes)
    assert len(cands) == 3


def test_a_1_across_a_hard_shadows_edge_is_read() -> None:
    # Given a page whose lower half lies in a hard-edged shadow (a phone held over it), with
    # a 1 written across the shadow's edge and a 4 beside it
    page = paper().astype(np.float32)
    shade = np.ones(page.shape[:2], np.float32)
    shade[240:] = 0.55
    page = np.clip(page * cv2.GaussianBlur(shade, (0, 0), 2)[..., None], 0, 255).astype(np.uint8)
    cv2.line(page, (320, 190), (322, 270), (40, 40, 40), 4, cv2.LINE_AA)
    one = (318, 188, 8, 84)
    four = draw_digit(page, 4, (400, 200, 50, 80))
    # when located, then both are found: the 1's ink is not along the step, only across it
    cands = find_candidates(page)
    assert found(cands, one) and found(cands, four)
    # (any line-like ink that the step's margin touched used to be taken for the sheet's rim)
    touched = replace(DEFAULT_PARAMS, edge_share=0.0)
    assert not found(find_candidates(page, touched), one)


def clutter_page(kind: str) -> Image:
    page = paper()
    rng = np.random.default_rng(1)
    if kind == "page edge":  # the sheet covers the left part of a dark desk
        page[:, 420:] = (40, 60, 90)
        page[:, 414:420] = (25, 35, 50)
    elif kind == "ruled lines":
        for y in range(30, 480, 32):
            cv2.line(page, (0, y), (640, y + 8), (200, 170, 140), 1, cv2.LINE_AA)
    elif kind == "squared paper":
        for v in range(20, 640, 24):
            cv2.line(page, (v, 0), (v + 10, 480), (170, 170, 170), 1, cv2.LINE_AA)
            cv2.line(page, (0, v), (640, v - 10), (170, 170, 170), 1, cv2.LINE_AA)
    elif kind == "specks":
        for _ in range(60):
            x, y = int(rng.integers(10, 630)), int(rng.integers(10, 470))
            cv2.circle(page, (x, y), int(rng.integers(1, 3)), (40, 40, 40), -1)
    elif kind == "blob":  # a dark solid shape, a phone or a shadow's core
        cv2.ellipse(page, (320, 240), (70, 50), 20, 0, 360, (50, 50, 50), -1)
    elif kind == "underline":
        cv2.line(page, (150, 300), (450, 304), (30, 30, 30), 3, cv2.LINE_AA)
    elif kind == "hand":  # skin-coloured fingers reaching in from the right border
        cv2.ellipse(page, (640, 240), (120, 90), 0, 0, 360, SKIN, -1)
        for dy in (-60, -20, 20, 60):
            cv2.line(page, (560, 240 + dy), (460, 230 + dy), SKIN, 22)
    return page


@pytest.mark.parametrize(
    "kind", ["page edge", "ruled lines", "squared paper", "specks", "blob", "underline", "hand"]
)
def test_locate_rejects_what_is_not_writing(kind: str) -> None:
    # Given a page with only clutter, when located, then nothing is a candidate.
    assert len(find_candidates(clutter_page(kind))) == 0


def desk_page(seed: int) -> Image:
    """A sheet covering the left half of a dark grey speckled desk (granite, carpet): grain
    of 8 grey levels around 65, under a third of the paper's white, with a 4 on the sheet."""
    rng = np.random.default_rng(seed)
    page = np.full((480, 640, 3), 225, np.float32)
    grain = cv2.GaussianBlur(rng.normal(0, 1, (480, 640)).astype(np.float32), (0, 0), 3, None, 1)
    page[:, 320:] = (65 + grain / grain.std() * 8)[:, 320:, None]
    page = np.clip(page + rng.normal(0, 3, page.shape), 0, 255).astype(np.uint8)
    draw_digit(page, 4, (120, 200, 48, 80))
    return page


def test_a_dark_speckled_desk_is_not_writing() -> None:
    # Given sheets with a 4 lying on a dark speckled desk
    pages = [desk_page(seed) for seed in range(4)]
    # When located, then the 4s are found and the desk's grain gives next to nothing: its
    # specks are no darker against it than its own grain (the noise floor of the cells
    # around), and lie among others on a surface far darker than paper
    found_on = [find_candidates(page) for page in pages]
    assert all(found(c, (120, 200, 48, 80)) for c in found_on)
    assert sum(len(c) for c in found_on) <= 2 * len(pages)
    # ... where without that rule the grain gave dozens of candidates
    off = replace(DEFAULT_PARAMS, texture_clutter=float("inf"))
    assert sum(len(find_candidates(page, off)) for page in pages) >= len(pages) + 20


def test_a_marker_row_written_tight_keeps_its_inner_digits() -> None:
    # Given "4747417" in a bold marker, each digit a stroke's width from the next
    page = paper()
    boxes = [
        draw_digit(page, d, (60 + 44 * i, 200, 40, 64), pen=10)
        for i, d in enumerate((4, 7, 4, 7, 4, 1, 7))
    ]
    # when located, then every digit is a candidate: the inner 7s have half a neighbour on
    # each side (ink density 0.2-0.25 around them, as on a textured desk), but bare paper
    # above and below (they were rejected as clutter when only the density around counted)
    cands = find_candidates(page)
    assert all(found(cands, box) for box in boxes)


def test_small_blurred_ones_are_not_taken_for_solid_specks() -> None:
    # Given eight 1s 14 px tall with a 3-px pen, blurred as a webcam does: each fills its
    # box like a speck, and is 6 px wide, over 0.35 of its height
    page = paper()
    boxes = [draw_digit(page, 1, (100 + 40 * i, 200, 4, 14), pen=3) for i in range(8)]
    page = np.clip(cv2.GaussianBlur(page.astype(np.float32), (0, 0), 1.0), 0, 255)
    page = page.astype(np.uint8)
    # When located, then every 1 is a candidate
    assert all(found(find_candidates(page), box) for box in boxes)
    # ... which a small group's thin bar at 0.35 of its height, as a large one's (before
    # 5 Dec), did not let through
    wide = replace(DEFAULT_PARAMS, thin_small=0.35)
    assert sum(found(find_candidates(page, wide), box) for box in boxes) <= 2


@pytest.mark.parametrize(("pen", "blur"), [(20, 1.5), (20, 3.0), (24, 1.5), (24, 3.0)])
def test_a_fat_blurred_8_that_fills_its_box_is_read_for_its_loops(pen: int, blur: float) -> None:
    from edgecam.backends import load_backend

    # Given an 8 written with a marker so broad, and blurred, that its ink fills 0.71-0.76
    # of its box, as a solid blob's does, beside a solid blob as tall
    page = paper()
    for axes, centre in (((16, 18), (315, 200)), ((19, 22), (315, 238))):
        cv2.ellipse(page, centre, axes, 0, 0, 360, (30, 30, 30), pen, cv2.LINE_AA)
    cv2.ellipse(page, (480, 220), (16, 40), 0, 0, 360, (30, 30, 30), -1, cv2.LINE_AA)
    page = cv2.GaussianBlur(page, (0, 0), blur)
    # When read, then the 8 is read, for its loops (it was rejected as a filled blob), and
    # the blob, which has none, is still not a candidate
    trace: list[tuple[Box, str, dict[str, float]]] = []
    cands = find_candidates(page, trace=trace)
    assert [b for b in cands.boxes.tolist() if b[0] > 400] == []
    assert any(why == "fill" and b[0] > 400 for b, why, _ in trace)
    reading = DigitReader(load_backend("litert")).read(page)
    assert reading.text == "8"
    assert reading.detections.boxes[0][0] < 400


@pytest.mark.parametrize(("gap", "pen"), [(10, 3), (10, 5), (14, 4)])
def test_a_4_written_in_two_strokes_apart_is_read_as_one_4(gap: int, pen: int) -> None:
    from edgecam.backends import load_backend

    # Given three 4s written in two strokes each, an "L" and a bar to its right that
    # its crossbar stops short of by a gap (a quick open-top 4), the bar each time lower
    page = paper()
    for i, x in enumerate((120, 300, 460)):
        corner = np.array([[x + 12, 150], [x, 212], [x + 40, 212]])
        cv2.polylines(page, [corner], False, (30, 30, 30), pen, cv2.LINE_AA)
        cv2.line(page, (x + 40 + gap, 150 + 6 * i), (x + 38 + gap, 250), (30, 30, 30), pen)
    page = cv2.GaussianBlur(page, (0, 0), 1.0)
    backend = load_backend("litert")
    # When read, then each is one 4 (the two groups offered joined as well) ...
    assert DigitReader(backend).read(page).text == "444"
    # ... where read group by group, each bar was a 1
    apart = replace(DEFAULT_PARAMS, join_gap=0.0)
    assert DigitReader(backend, params=apart).read(page).text == "111"


def test_digits_written_close_are_not_joined_into_one() -> None:
    from edgecam.backends import load_backend

    # Given pairs of digits written close, a narrow 1 beside each (as in "17", "11")
    page = paper()
    for i, (left, right) in enumerate(((1, 7), (1, 1), (1, 4))):
        x = 60 + 150 * i
        draw_digit(page, left, (x, 200, 12, 60), pen=5)
        draw_digit(page, right, (x + 22, 200, 36, 60), pen=5)
    # When read, then each digit is read alone: "17" and "14" are offered joined too (as
    # narrow as one digit), but both their digits read firmly
    reader = DigitReader(load_backend("litert"))
    assert len(reader.locate(page).joins) == 2
    assert reader.read(page).text == "171114"


def test_a_digit_amid_texture_is_still_clutter() -> None:
    # Given a 4 drawn on a desk's dense grain (short dark strokes on every side of it)
    page = paper()
    rng = np.random.default_rng(4)
    for _ in range(2000):
        x, y = (int(v) for v in rng.integers(0, (640, 480)))
        a, n = rng.uniform(0, np.pi), rng.uniform(6, 14)
        end = (int(x + n * np.cos(a)), int(y + n * np.sin(a)))
        cv2.line(page, (x, y), end, (60, 60, 60), 2, cv2.LINE_AA)
    box = draw_digit(page, 4, (280, 200, 50, 80), pen=6)
    # when located, then it is rejected for the ink around it, above and below included
    trace: list[tuple[Box, str, dict[str, float]]] = []
    cands = find_candidates(page, trace=trace)
    assert not found(cands, box)
    assert any(why == "clutter" and iou(np.array(b), box) >= 0.3 for b, why, _ in trace)


def hand_over(page: Image, palm: tuple[int, int], tip: tuple[int, int]) -> None:
    """A hand resting on the page: a palm off one corner and a finger reaching to ``tip``."""
    cv2.ellipse(page, palm, (110, 90), 30, 0, 360, SKIN, -1)
    cv2.line(page, palm, tip, SKIN, 24)


def test_a_digit_the_hand_touches_is_still_read() -> None:
    from edgecam.backends import load_backend

    # Given "47" with a fingertip resting on the 7's foot
    page = paper()
    boxes = [draw_digit(page, d, (x, 200, 50, 80)) for d, x in ((4, 200), (7, 300))]
    hand_over(page, (600, 450), (325, 275))
    # when read, then both digits are read: the finger's pixels are taken out of the ink
    reader = DigitReader(load_backend("litert"))
    reading = reader.read(page)
    assert reading.text == "47"
    assert all(found(find_candidates(page), box) for box in boxes)
    # (judged only on the group, the finger joined the 7 and took it down as skin)
    reader.params = replace(DEFAULT_PARAMS, skin_pixels=False)
    assert reader.read(page).text == "4"


def test_digits_under_a_warm_lamp_are_not_taken_for_skin() -> None:
    # Given a page lit by a warm lamp on its right half (blue lost, red kept, as on skin)
    # and cool daylight on its left, two digits on each half
    page = paper()
    boxes = [
        draw_digit(page, d, (x, 200, 50, 80)) for d, x in ((4, 100), (7, 200), (4, 420), (7, 520))
    ]
    light = np.ones(page.shape, np.float32)
    light[:, 320:] = (0.72, 0.9, 1.0)
    lit = np.clip(page * cv2.GaussianBlur(light, (0, 0), 30), 0, 255).astype(np.uint8)
    # when located, then all four are found: skin is judged against the paper around it
    cands = find_candidates(lit)
    assert all(found(cands, box) for box in boxes)


def test_a_digit_the_hand_half_hides_is_not_read_as_another() -> None:
    from edgecam.backends import load_backend

    # Given "47" with a finger laid across the middle of the 4
    reader = DigitReader(load_backend("litert"))
    for y in (230, 245, 260):
        page = paper()
        for d, x in ((4, 200), (7, 300)):
            draw_digit(page, d, (x, 200, 50, 80))
        hand_over(page, (20, 420), (235, y))
        # when read, then what is left of the 4 is not taken for a digit
        assert reader.read(page).text == "7", y


@pytest.mark.parametrize("kind", ["ruled lines", "squared paper"])
def test_digits_written_on_lines_keep_their_strokes(kind: str) -> None:
    page = clutter_page(kind)
    box = draw_digit(page, 4, (250, 100, 90, 160))
    cands = find_candidates(page)
    assert found(cands, box)
    assert len(cands) == 1


def test_a_region_is_read_as_part_of_the_whole_picture() -> None:
    # Given a page with "14" in one place and a 7 far from it
    page = paper()
    one = draw_digit(page, 1, (300, 200, 16, 40), pen=3)
    four = draw_digit(page, 4, (340, 200, 26, 40), pen=3)
    seven = draw_digit(page, 7, (100, 100, 26, 40), pen=3)
    whole = find_candidates(page)
    assert all(found(whole, b) for b in (one, four, seven))
    # when only the region around "14" is read, then both are found, boxed as in a read of
    # the whole page (in its pixels), and the 7 is not looked for
    region = (270, 170, 120, 100)
    part = find_candidates(page, region=region)
    assert found(part, one) and found(part, four) and not found(part, seven)
    assert sorted(part.boxes.tolist()) == sorted(b for b in whole.boxes.tolist() if b[0] > 200)
    # A region is clipped to the picture; one that leaves nothing of it is an error.
    assert sorted(find_candidates(page, region=(250, 150, 1000, 1000)).boxes.tolist()) == sorted(
        b for b in whole.boxes.tolist() if b[0] > 200
    )
    with pytest.raises(ValueError, match="region"):
        find_candidates(page, region=(700, 100, 50, 50))


def test_large_photos_are_located_at_working_size_and_mapped_back() -> None:
    # Given a 12-MP photo with a digit, boxes come back in its own pixels.
    page = cv2.resize(paper(), (4000, 3000), interpolation=cv2.INTER_LINEAR)
    box = draw_digit(page, 7, (1800, 1000, 300, 500), pen=30)
    cands = find_candidates(page)
    assert len(cands) == 1 and iou(cands.boxes[0], box) >= 0.7


def _loops(tile: npt.NDArray[np.float32]) -> int:
    mask = (tile > 0.5).astype(np.uint8)
    _, hierarchy = cv2.findContours(mask, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    return 0 if hierarchy is None else int((hierarchy[0][:, 3] >= 0).sum())


def test_a_small_digit_in_a_shrunk_frame_is_tiled_from_the_frames_own_pixels() -> None:
    # Given a 1080p frame with a 6 ~29 px tall in a 2-px pen: ~12 px at the locator's
    # working size, where its loop's 6-px hole is 2-3 px and the blur fills it
    from edgecam.backends import load_backend

    page = paper(1080, 1920)
    cx, cy, r = 960, 540, 5
    ink = (30, 30, 30)
    cv2.circle(page, (cx, cy), r, ink, 2, cv2.LINE_AA)
    stem = np.array([(cx - r, cy), (cx - r + 2, cy - 3 * r), (cx + r, cy - 4 * r)], np.int32)
    cv2.polylines(page, [stem], False, ink, 2, cv2.LINE_AA)
    # When located, then its tile is cut from the frame's pixels: the loop stays open, and
    # the network reads a 6 (at working size it saw a blob with a hook)
    cands = find_candidates(page)
    assert len(cands) == 1
    assert _loops(cands.tiles[0]) == 1
    assert _loops(find_candidates(page, replace(DEFAULT_PARAMS, full_res_below=0)).tiles[0]) == 0
    probs = load_backend("litert").predict(cands.tiles)
    assert int(np.argmax(probs[0])) == 6
    # and a read of the region around it gives the same tile
    part = find_candidates(page, region=(900, 480, 120, 120))
    assert part.boxes.tolist() == cands.boxes.tolist()
    assert np.abs(part.tiles[0] - cands.tiles[0]).max() < 0.05


def test_a_faint_thin_stroke_in_a_shrunk_frame_is_judged_at_the_frames_own_contrast() -> None:
    # Given a pencil 1 (a 2-px stroke, 50/255 below the paper) 32 px tall in a 1080p frame:
    # shrunk to the working size, its stroke is under a pixel wide and half as dark
    page = paper(1080, 1920)
    box = draw_digit(page, 1, (900, 500, 20, 32), colour=(175, 175, 175), pen=2)
    # When located, then it is kept: its contrast is measured in the frame's own pixels
    assert found(find_candidates(page), box)
    # (at the working size alone it is too faint, one straight stroke that could be a shadow)
    assert not found(find_candidates(page, replace(DEFAULT_PARAMS, full_res_below=0)), box)


def test_a_faint_solid_wedge_in_a_shrunk_frame_keeps_its_working_size_contrast() -> None:
    # Given a faint solid wedge 9 px wide and 30 tall in a 1080p frame (a sheet's edge over a
    # desk cut into slivers by its own slant): darker in the frame's pixels than at working
    # size too, but it fills its working pixels, so shrinking did not dilute a thin stroke
    page = paper(1080, 1920)
    wedge = np.array([(900, 500), (909, 530), (900, 530)], np.int32)
    cv2.fillPoly(page, [wedge], (185, 185, 185), cv2.LINE_AA)
    box = (900, 500, 10, 31)
    # When located, then it stays too faint to be writing
    assert not any(iou(b, box) > 0.3 for b in find_candidates(page).boxes)
    # (judged at the frame's own contrast regardless, it would pass)
    loose = find_candidates(page, replace(DEFAULT_PARAMS, thin_fill=1.01))
    assert any(iou(b, box) > 0.3 for b in loose.boxes)


def test_a_15px_digit_in_a_1080p_frame_is_not_too_small() -> None:
    # Given a 4 ~17 px tall in a 1080p frame: 7 px at the locator's working size, under 2 %
    # of its short side (the size floor of a 640×480 picture, where 15 px is 3 %)
    page = paper(1080, 1920)
    box = draw_digit(page, 4, (900, 500, 9, 15), pen=2)
    assert 15 <= box[3] <= 19
    # When located, then it is found: the floor is 15 of the frame's own pixels there
    assert found(find_candidates(page), box)
    assert not found(find_candidates(page, replace(DEFAULT_PARAMS, min_px=1e9)), box)


@pytest.mark.parametrize(
    "image",
    [
        np.zeros((4, 4), np.uint8),
        np.zeros((100, 100, 2), np.uint8),
        np.zeros((100, 100), np.float32),
    ],
)
def test_locate_refuses_what_is_not_a_picture(image: npt.NDArray[np.generic]) -> None:
    with pytest.raises(ValueError):
        find_candidates(image)


@pytest.mark.parametrize("shape", [(480, 640), (480, 640, 3), (480, 640, 4), (480, 640, 1)])
def test_blank_pictures_of_any_layout_give_no_candidates(shape: tuple[int, ...]) -> None:
    cands = find_candidates(np.full(shape, 230, np.uint8))
    assert len(cands) == 0 and cands.tiles.shape == (0, TILE, TILE)


def test_a_plain_upright_stroke_is_read_as_a_one() -> None:
    # The network once flattened its output for every plain 1 (bar-shaped clutter had been
    # trained as "not a digit"); a lone stroke on paper is a 1, as a person reads it.
    from edgecam.backends import load_backend
    from edgecam.vision.reader import DigitReader

    reader = DigitReader(load_backend("litert"))
    for height, pen in ((30, 3), (60, 4), (120, 7)):
        page = np.full((480, 640, 3), 225, np.uint8)
        cv2.line(page, (320, 200), (322, 200 + height), (60, 40, 30), pen, cv2.LINE_AA)
        reading = reader.read(page)
        assert reading.detections.labels.tolist() == [1], (height, pen)


def test_a_vertical_line_cut_into_dashes_by_ruling_is_not_a_row_of_ones() -> None:
    page = np.full((480, 640, 3), 225, np.uint8)
    for y in range(20, 470, 22):  # a margin line broken where each ruled line crosses it
        cv2.line(page, (80, y), (80, y + 16), (90, 90, 200), 3)
    cv2.line(page, (400, 200), (401, 240), (60, 40, 30), 3, cv2.LINE_AA)  # and a real 1
    boxes = find_candidates(page).boxes
    assert len(boxes) == 1 and abs(int(boxes[0][0]) - 400) <= 4


@pytest.mark.parametrize(("line_end", "joined"), [(480, False), (470, True)])
def test_nothing_is_joined_to_a_part_cut_by_the_pictures_border(
    line_end: int, joined: bool
) -> None:
    # Given a 0 (30×40 at 300,400) and a grid line's remnant overlapping its box, which
    # runs on to the bottom of a 640×480 picture or stops short of it
    stats = np.array([[300, 400, 30, 40, 300], [325, 410, 3, line_end - 410, 210]])
    # when the parts are grouped into digits
    groups = merge_parts(stats, 400, 300, (640, 480))
    # then the remnant cut by the border stays apart (it would take the 0 down with it as
    # "cut off"); the same remnant inside the picture is joined as before
    assert (groups == [[0, 1]]) == joined
    assert merge_parts(stats, 400, 300) == [[0, 1]]


@pytest.mark.parametrize(
    ("parts", "joined"),
    [
        # a 5 written with the pen lifted: its flat bar 5 px over its hook (a photo's parts)
        ([[505, 88, 39, 9, 177], [503, 102, 31, 24, 197]], True),
        # a 6 and the line drawn under it: not one digit
        ([[300, 100, 30, 40, 300], [295, 146, 50, 4, 190]], False),
        # two digits of a grid written one over the other
        ([[300, 100, 30, 40, 300], [300, 150, 30, 40, 300]], False),
    ],
)
def test_stacked_parts_join_as_a_5s_bar_but_not_as_an_underline(
    parts: list[list[int]], joined: bool
) -> None:
    groups = merge_parts(np.array(parts), 400, 300, (640, 480))
    assert (groups == [[0, 1]]) == joined


@pytest.mark.parametrize(("dx", "half_width"), [(6, 9), (4, 7)])
def test_a_1_between_digits_of_the_rows_above_and_below_is_not_a_dash(
    dx: int, half_width: int
) -> None:
    # Given a 1 in a column of a tightly written grid, a 0 above it and a 0 below, 6 px away
    page = np.full((480, 640, 3), 225, np.uint8)
    ink = (60, 40, 30)
    cv2.line(page, (320, 150), (322, 196), ink, 4, cv2.LINE_AA)
    cv2.ellipse(page, (321 + dx, 224), (half_width, 22), 0, 0, 360, ink, 4, cv2.LINE_AA)
    cv2.ellipse(page, (321 - dx, 122), (half_width, 22), 0, 0, 360, ink, 4, cv2.LINE_AA)
    # when located, then the 1 is a candidate: the 0s spread beside its columns, a line's
    # dashes would not
    boxes = find_candidates(page).boxes.tolist()
    assert any(abs(x - 318) <= 3 and h >= 45 and w <= 10 for x, _, w, h in boxes), boxes


def test_blotches_on_a_tinted_dim_cloth_beside_the_sheet_are_not_digits() -> None:
    # A teal cloth is greyish enough to pass for paper in shadow on saturation alone, but it
    # is both tinted and dim; its darker blotches must not become candidates.
    rng = np.random.default_rng(4)
    page = np.zeros((480, 640, 3), np.uint8)
    page[:, :320] = (215, 212, 218)  # the sheet
    cloth = np.array([128, 122, 92], np.float32)  # teal (BGR), about half the sheet's white
    shade = cv2.GaussianBlur(rng.normal(0, 1, (480, 320)).astype(np.float32), (0, 0), 9)
    shade = 1 + 0.35 * shade / np.abs(shade).max()
    page[:, 320:] = np.clip(cloth * shade[:, :, None], 0, 255).astype(np.uint8)
    cv2.putText(page, "7", (120, 280), cv2.FONT_HERSHEY_SIMPLEX, 3, (60, 40, 30), 6)
    kept = find_candidates(page).boxes
    assert len(kept) == 1 and int(kept[0][0]) < 320
    # The rule off (and the one for dim speckled surfaces): the cloth's blotches pass.
    lenient = replace(DEFAULT_PARAMS, tinted_sat=1.0, texture_clutter=float("inf"))
    assert len(find_candidates(page, lenient).boxes) > 1


def _page(grain: float) -> npt.NDArray[np.uint8]:
    """Light paper (grey 215), clean or with a cloth's or a desk's grain."""
    if not grain:
        return np.full((480, 640, 3), 215, np.uint8)
    rng = np.random.default_rng(1)
    return np.clip(215 + rng.normal(0, grain, (480, 640, 1)), 0, 255).astype(np.uint8).repeat(3, 2)


@pytest.mark.parametrize(
    ("darkness", "grain", "found"), [(30, 0, True), (26, 9, False), (60, 0, True), (60, 9, True)]
)
def test_faint_ink_is_writing_where_the_paper_around_it_is_clean(
    darkness: int, grain: float, found: bool
) -> None:
    # A digit 30 grey levels under clean paper is faint pencil (contrast ~36 of 255, under
    # min_contrast); 26 under on a grainy surface (contrast ~32 against a noise floor of ~23
    # there) is a cloth's blotch or a desk's mottle, not writing (the ink mask and the other
    # checks alone would keep it); 60 under is writing on either.
    page = _page(grain)
    ink = (215 - darkness,) * 3
    cv2.putText(page, "3", (280, 280), cv2.FONT_HERSHEY_SIMPLEX, 3, ink, 6, cv2.LINE_AA)
    assert (len(find_candidates(page)) == 1) is found
    assert len(find_candidates(page, replace(DEFAULT_PARAMS, min_contrast=0.0))) == 1


@pytest.mark.parametrize(("darkness", "found"), [(30, False), (60, True)])
def test_a_faint_single_stroke_on_clean_paper_is_not_writing(darkness: int, found: bool) -> None:
    # What is faint on clean paper and still a group is mostly a shadow's or a hand's soft
    # edge, or a blurred grid line's remnant: one straight bar. A faint "1" is lost with them.
    page = _page(0)
    cv2.line(page, (320, 180), (330, 290), (215 - darkness,) * 3, 6, cv2.LINE_AA)
    assert (len(find_candidates(page)) == 1) is found
    assert len(find_candidates(page, replace(DEFAULT_PARAMS, min_contrast=0.0))) == 1


def test_faint_pencil_on_a_noisy_squared_sheet_is_writing() -> None:
    # A squared sheet's faint grid, sensor noise, blur and JPEG raise the noise floor of the
    # cells around pencil digits to ~22 against ink peaking at ~37 (as in a dim, blurred
    # rendered photo whose seven digits were all lost so): still well clear of the noise.
    rng = np.random.default_rng(3)
    page = np.full((480, 640), 215, np.uint8)
    page[:, ::24] -= 10
    page[::24, :] -= 10
    for i, digit in enumerate("385"):
        org = (220 + 70 * i, 280)
        cv2.putText(page, digit, org, cv2.FONT_HERSHEY_SIMPLEX, 2.2, 183, 3, cv2.LINE_AA)
    soft = cv2.GaussianBlur(page.astype(np.float32), (0, 0), 1.6) + rng.normal(0, 3.5, page.shape)
    jpeg = cv2.imencode(
        ".jpg", np.clip(soft, 0, 255).astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, 60]
    )
    photo = cv2.imdecode(jpeg[1], cv2.IMREAD_GRAYSCALE)
    assert len(find_candidates(photo)) == 3
    # Asking the ink to be 2.5 times the floor, as before, lost all three.
    assert len(find_candidates(photo, replace(DEFAULT_PARAMS, contrast_over_floor=2.5))) == 0


def test_pencil_on_a_small_sheet_on_a_mottled_cloth_is_writing() -> None:
    # The cloth's texture must not set the bar for the sheet's pencil: the writing's floor
    # comes from the cleanest part of the picture. Judged by the whole picture's noise (the
    # cleanest share raised to all of it), the same digits are all lost as too faint.
    rng = np.random.default_rng(5)
    blot = cv2.GaussianBlur(rng.normal(0, 1, (480, 640)).astype(np.float32), (0, 0), 6)
    grain = rng.normal(0, 12, (480, 640)).astype(np.float32)
    cloth = np.array([120, 70, 110], np.float32)  # purple (BGR), mottled and grainy
    img = cloth * (1 + 0.45 * blot[:, :, None] / np.abs(blot).max()) + grain[:, :, None]
    img[140:380, 120:330] = 200 + rng.normal(0, 2, (240, 210, 1))  # a sixth of the picture
    page = np.clip(img, 0, 255).astype(np.uint8)
    for i, digit in enumerate("385"):
        org = (140 + 60 * i, 290)
        cv2.putText(page, digit, org, cv2.FONT_HERSHEY_SIMPLEX, 1.6, (140,) * 3, 2, cv2.LINE_AA)
    boxes = find_candidates(page).boxes
    assert sorted(int(b[0]) // 60 for b in boxes) == [2, 3, 4]
    assert all(260 <= int(b[1]) + int(b[3]) <= 295 for b in boxes)
    assert len(find_candidates(page, replace(DEFAULT_PARAMS, clean_share=1.0))) == 0


def test_digits_on_ruled_lines_that_fan_out_in_perspective_are_found() -> None:
    # The lines' tilt grows down the page (a phone held at an angle), so turning the page by
    # its mean angle leaves each a little tilted; where one steps a row its core looks thick
    # and is cut. The cut-off pieces must still be taken for the line: left in the ink they
    # joined the digits on it to the picture's border, and nearly all were lost.
    rng = np.random.default_rng(0)
    img = np.full((480, 640, 3), (225, 232, 235), np.float32)
    for i, y in enumerate(range(20, 480, 34)):
        cv2.line(img, (0, y), (640, int(y + 4 + 1.6 * i)), (200, 170, 150), 2, cv2.LINE_AA)
    page = np.clip(img + rng.normal(0, 2, img.shape), 0, 255).astype(np.uint8)
    spots = [(30, 5), (75, 5), (120, 5), (400, 9), (445, 9), (40, 12), (560, 12)]
    for digit, (x, row) in zip("3580694", spots, strict=True):
        baseline = 20 + 34 * row + int((4 + 1.6 * row) * x / 640) + 2  # on its line
        cv2.putText(page, digit, (x, baseline), cv2.FONT_HERSHEY_SIMPLEX, 1.4, (120,) * 3, 3)
    boxes = find_candidates(page).boxes
    assert len(boxes) == len(spots)
    lefts = sorted(int(b[0]) for b in boxes)
    assert all(abs(left - x) <= 12 for left, (x, _) in zip(lefts, sorted(spots), strict=True))


@pytest.mark.parametrize("tilt", [12, 16, 20, 30])
def test_digits_across_gently_tilted_ruled_lines_are_found(tilt: int) -> None:
    # Lines tilted 1-3 degrees (a sheet not quite square to the camera) step one row every
    # 20-50 px. Max-pooled to half size, each step looked three rows thick, so every line was
    # cut into pieces too short to count as one: no line on the page was found, and the
    # digits written across them were joined to the ruling and lost. (At 30 px the page is
    # turned level first, but by an angle estimated a little short, so the steps remain.)
    rng = np.random.default_rng(tilt)
    img = np.full((480, 640, 3), (228, 232, 235), np.uint8)
    for y in range(20, 480, 34):
        cv2.line(img, (0, y), (640, y + tilt), (200, 170, 150), 2, cv2.LINE_AA)
    x0 = 200
    for j, digit in enumerate("0825"):
        x = x0 + 70 * j
        baseline = 20 + 34 * 6 + int(tilt * x / 640) + 19  # the line runs through its middle
        cv2.putText(img, digit, (x, baseline), cv2.FONT_HERSHEY_SIMPLEX, 1.6, (90,) * 3, 3)
    img = cv2.GaussianBlur(img, (0, 0), 0.7)
    page = np.clip(img + rng.normal(0, 2, img.shape), 0, 255).astype(np.uint8)
    boxes = find_candidates(page).boxes
    lefts = sorted(int(b[0]) for b in boxes)
    assert len(lefts) == 4, lefts
    assert all(abs(left - (x0 + 70 * j)) <= 12 for j, left in enumerate(lefts))


@pytest.mark.parametrize(
    "note",
    [(120, 235, 250), (200, 170, 255), (160, 250, 190), (250, 220, 160), (110, 190, 255)],
    ids=["yellow", "pink", "green", "blue", "neon-orange"],
)
def test_digits_on_a_coloured_sticky_note_on_a_desk_are_found(note: tuple[int, ...]) -> None:
    # A sticky note is as saturated as a cloth or a desk mat that is not paper, but it is as
    # bright as paper: its digits were all lost as writing on the desk.
    rng = np.random.default_rng(1)
    desk = np.full((480, 640, 3), (90, 110, 140), np.float32) + rng.normal(0, 6, (480, 640, 3))
    img = np.clip(desk, 0, 255).astype(np.uint8)
    cv2.rectangle(img, (120, 90), (520, 390), note, -1)
    for j, digit in enumerate("3719"):
        cv2.putText(img, digit, (160 + 90 * j, 280), cv2.FONT_HERSHEY_SIMPLEX, 2.6, (40,) * 3, 6)
    img = cv2.GaussianBlur(img, (0, 0), 0.8)
    lefts = sorted(int(b[0]) for b in find_candidates(img).boxes)
    assert len(lefts) == 4, lefts
    assert all(abs(left - (160 + 90 * j)) <= 12 for j, left in enumerate(lefts))


def test_a_bright_wooden_desk_is_not_taken_for_coloured_paper() -> None:
    # Pine under a lamp is nearly as bright as the sheet on it and as saturated as a sticky
    # note, but of a warm hue: its knots are not writing.
    rng = np.random.default_rng(2)
    img = np.full((480, 640, 3), (120, 180, 228), np.float32)
    for x, y in [(60, 80), (170, 300), (250, 140), (90, 400), (300, 420)]:
        cv2.ellipse(img, (x, y), (11, 16), 20, 0, 360, (60, 100, 140), 3, cv2.LINE_AA)
    img = np.clip(cv2.GaussianBlur(img, (0, 0), 1.0) + rng.normal(0, 3, img.shape), 0, 255)
    page = img.astype(np.uint8)
    cv2.rectangle(page, (380, 60), (620, 420), (236, 236, 236), -1)
    assert len(find_candidates(page).boxes) == 0


def _pen_row(
    page: Image, text: str, x0: int, y: int, *, scale: float = 1.6, step: int = 70
) -> None:
    for j, digit in enumerate(text):
        cv2.putText(page, digit, (x0 + step * j, y), cv2.FONT_HERSHEY_SIMPLEX, scale, (50,) * 3, 3)


def _camera(page: Image, seed: int) -> Image:
    """Lens blur, sensor noise and JPEG, as a webcam frame has them."""
    rng = np.random.default_rng(seed)
    soft = cv2.GaussianBlur(page, (0, 0), 0.8).astype(np.float32)
    noisy = np.clip(soft + rng.normal(0, 2.5, page.shape), 0, 255).astype(np.uint8)
    _, jpeg = cv2.imencode(".jpg", noisy, [cv2.IMWRITE_JPEG_QUALITY, 85])
    return np.asarray(cv2.imdecode(jpeg, cv2.IMREAD_COLOR), np.uint8)


@pytest.mark.parametrize("tilt", [-5.0, -2.0, 3.0, 6.0])
def test_the_page_angle_is_its_rulings_not_its_digits(tilt: float) -> None:
    # Squared paper turned by a known angle, with a row of dark digits on it: the faint grid
    # decides the angle, not the digits' strokes (their mean pulled it degrees off).
    page = np.full((900, 1100, 3), 232, np.uint8)
    for k in range(0, 1100, 24):
        cv2.line(page, (k, 0), (k, 900), (205, 190, 175), 1, cv2.LINE_AA)
        cv2.line(page, (0, k), (1100, k), (205, 190, 175), 1, cv2.LINE_AA)
    _pen_row(page, "47175", 380, 470, scale=2.0, step=80)
    turn = cv2.getRotationMatrix2D((550, 450), -tilt, 1.0)  # image y points down
    page = cv2.warpAffine(page, turn, (1100, 900), borderValue=(232, 232, 232))[210:690, 230:870]
    half = cv2.resize(255 - cv2.cvtColor(_camera(page, 0), cv2.COLOR_BGR2GRAY), (320, 240))
    assert abs(page_angle(half) - tilt) <= 0.7


def test_a_lone_digits_stroke_does_not_turn_the_page() -> None:
    # On plain paper the long straight stroke of a large 7 is the strongest direction; the
    # page was turned to it, and the stroke then taken for a ruled line and removed.
    page = paper()
    draw_digit(page, 7, (200, 100, 120, 200), pen=2)
    half = cv2.resize(255 - cv2.cvtColor(page, cv2.COLOR_BGR2GRAY), (320, 240))
    assert page_angle(half) == 0.0
    # the stroke's own direction is what the check turned down: an angle within ``level``
    # of 0 comes back unchecked, so a level this wide gives it back
    assert abs(page_angle(half, level=45.0)) > 1.5


def test_a_margin_line_across_ruled_lines_is_not_a_row_of_ones() -> None:
    page = np.full((480, 640, 3), (235, 238, 240), np.uint8)
    for y in range(40, 480, 30):
        cv2.line(page, (0, y), (640, y), (220, 190, 160), 1, cv2.LINE_AA)
    cv2.line(page, (100, 0), (100, 480), (120, 120, 230), 2, cv2.LINE_AA)  # red margin
    _pen_row(page, "4716", 70, 248)
    lefts = sorted(int(b[0]) for b in find_candidates(_camera(page, 3)).boxes)
    assert len(lefts) == 4, lefts
    assert all(abs(left - (70 + 70 * j)) <= 12 for j, left in enumerate(lefts))


def test_digits_written_in_the_boxes_of_a_form_are_read() -> None:
    from edgecam.backends import load_backend

    # The boxes' sides, three to a row, made the old page angle turn the page; the turned
    # page's lines then cut the digits, and none was read.
    page = np.full((480, 640, 3), 235, np.uint8)
    _pen_row(page, "4716", 190, 270)
    for j in range(4):
        cv2.rectangle(page, (180 + 70 * j, 215), (236 + 70 * j, 285), (150,) * 3, 1)
    reader = DigitReader(load_backend("litert"))
    assert reader.read(_camera(page, 3)).text == "4716"


def test_a_row_of_pen_strokes_is_not_chained_into_a_ruled_line() -> None:
    # Five short pen strokes in a row (small digits' bases in a webcam frame of the bench
    # clip), bridged across the gaps between them, ran as long as the shortest ruled line
    # and as thin: the row was taken out as one, and its digits cut. A ruled line is fainter
    # than the pen, or longer: a dark printed one across the page still counts.
    ink = np.zeros((480, 640), np.uint8)
    ink[100:102, :] = 40  # faint ruled lines
    ink[300:302, :] = 40
    ink[400:402, :] = 150  # a dark printed line
    for k in range(5):
        ink[200:202, 250 + 20 * k : 266 + 20 * k] = 150
    ink = cv2.GaussianBlur(ink, (0, 0), 0.7)
    floor = np.full_like(ink, 12)
    lines = find_lines(ink, floor, DEFAULT_PARAMS)
    assert lines[100].any() and lines[300].any() and lines[400].any()
    assert not lines[195:207].any()
    chained = find_lines(ink, floor, replace(DEFAULT_PARAMS, line_pen=float("inf")))
    assert chained[195:207].any()


@pytest.mark.parametrize("pixels", [50, 70_000])
def test_components_label_every_piece_whatever_the_label_map_width(pixels: int) -> None:
    """Isolated ink pixels, fewer than 16-bit labels hold and more: each is its own component
    with its own box (the label map widens rather than wrapping around)."""
    side = int(np.ceil(np.sqrt(pixels))) * 2
    binary = np.zeros((side, side), np.uint8)
    binary[::2, ::2] = 255
    n, labels, stats = components(binary)
    count = (side // 2) ** 2
    assert n == count + 1
    assert int(labels.max()) == count
    assert (stats[1:, cv2.CC_STAT_AREA] == 1).all()
    assert (stats[1:, cv2.CC_STAT_WIDTH] == 1).all()
    last = labels[side - 2, side - 2]
    assert tuple(stats[last, :2]) == (side - 2, side - 2)


def sure_of(label: int, p: float) -> list[float]:
    """Ten probabilities: ``p`` on ``label``, the rest spread evenly."""
    row = [(1 - p) / 9] * 10
    row[label] = p
    return row


@pytest.mark.parametrize(
    ("whole", "parts", "expected"),
    [
        # the whole read surely and as surely as its parts: one wide digit
        ([sure_of(0, 0.999)], [[sure_of(6, 0.99), sure_of(7, 0.98)]], [0]),
        # the whole unsure, both parts sure: two touching digits
        ([sure_of(4, 0.4)], [[sure_of(2, 0.99), sure_of(0, 0.98)]], [2, 0]),
        # sure whole, surer parts: the parts
        ([sure_of(8, 0.9)], [[sure_of(6, 0.999), sure_of(3, 0.999)]], [6, 3]),
        # one part unsure: the whole stays, even unsure (rejected)
        ([sure_of(4, 0.4)], [[sure_of(2, 0.99), sure_of(0, 0.6)]], []),
        # too wide to be one digit (no whole tile): the surest of two ways to cut it
        ([], [[sure_of(1, 0.97), sure_of(2, 0.97)], [sure_of(1, 0.99)] * 3], [1, 1, 1]),
        # a row of four, one smudged, the whole unsure: the three firm parts stand
        (
            [sure_of(4, 0.4)],
            [[sure_of(2, 0.99), sure_of(7, 0.6), sure_of(5, 0.98), sure_of(1, 0.99)]],
            [2, 5, 1],
        ),
        # ... but not against a whole read surely (one wide digit cut apart)
        (
            [sure_of(8, 0.9)],
            [[sure_of(2, 0.99), sure_of(7, 0.6), sure_of(5, 0.98), sure_of(1, 0.99)]],
            [8],
        ),
        # ... and in a row of three, the two firm parts
        ([sure_of(4, 0.4)], [[sure_of(5, 0.99), sure_of(7, 0.6), sure_of(3, 0.98)]], [5, 3]),
        # ... but not one firm part of two of what may be one digit (a word "no" cut
        # apart reads its "o" as 0)
        ([sure_of(4, 0.4)], [[sure_of(0, 0.99), sure_of(7, 0.6)]], []),
        # ... nor with two parts unsure
        (
            [sure_of(4, 0.4)],
            [[sure_of(2, 0.99), sure_of(7, 0.6), sure_of(5, 0.98), sure_of(3, 0.5)]],
            [],
        ),
        # too wide to be one digit and no way to cut it firm in every part: the firm parts
        # of the way with the most stand, however many are unsure
        ([], [[sure_of(0, 0.99), sure_of(7, 0.6)]], [0]),
        (
            [],
            [
                [sure_of(2, 0.99), sure_of(7, 0.6), sure_of(5, 0.98), sure_of(3, 0.5)],
                [sure_of(2, 0.99), sure_of(7, 0.7), sure_of(3, 0.5)],
            ],
            [2, 5],
        ),
    ],
)
def test_judge_cuts_a_group_where_its_parts_are_surer(
    whole: list[list[float]], parts: list[list[list[float]]], expected: list[int]
) -> None:
    # Given one group's whole tile (or none) and ways to cut it, with the network's outputs
    n_parts = sum(len(o) for o in parts)
    splits, first = [], 0
    for option in parts:
        splits.append((0, 0 if whole else -1, first, len(option)))
        first += len(option)
    cands = Candidates(
        np.array([(0, 0, 40, 20)] * len(whole), np.int32).reshape(-1, 4),
        np.zeros((len(whole), TILE, TILE), np.float32),
        np.array([(i * 10, 0, 10, 20) for i in range(n_parts)], np.int32).reshape(-1, 4),
        np.zeros((n_parts, TILE, TILE), np.float32),
        np.array(splits, np.int32).reshape(-1, 4),
    )
    probs = np.array(whole + [p for o in parts for p in o], np.float32)
    # When judged, then the group reads as the expected digits
    reader = DigitReader(backend=None)  # type: ignore[arg-type] # judge never runs the network
    assert reader.judge(cands, probs).labels.tolist() == expected


@pytest.mark.parametrize("share", [0.0, 0.001, 0.05, 0.5, 1.0])
def test_points_are_numpys_nonzero_in_its_order(share: float) -> None:
    # find_lines and page_angle gather pixels through OpenCV's findNonZero, relying on it
    # listing them in raster order, as np.nonzero does (their sums depend on the order)
    rng = np.random.default_rng(7)
    mask = np.where(rng.random((37, 53)) < share, 255, 0).astype(np.uint8)
    ys, xs = _points(mask)
    want_ys, want_xs = np.nonzero(mask)
    assert np.array_equal(ys, want_ys) and np.array_equal(xs, want_xs)


def test_a_cut_winds_through_the_gap_where_every_straight_cut_crosses_ink() -> None:
    # Given two shapes that interlock: the left one wide at the top, the right one wide at
    # the bottom, so every column between them holds ink of one or the other
    member = np.zeros((20, 20), bool)
    member[0:8, 2:10] = True  # left, top
    member[0:8, 13:18] = True  # right, top
    member[13:20, 2:5] = True  # left, bottom
    member[13:20, 7:18] = True  # right, bottom
    assert member[:, 3:17].any(axis=0).all()
    # When a cut is looked for between them
    lo = np.full(20, 3, np.intp)
    path = cut_path(member, lo, 17, centre=10.0, turn=0.3)
    # then it crosses no ink, one column sideways a row at most, inside its bounds
    assert not member[np.arange(20), path].any()
    assert (np.abs(np.diff(path)) <= 1).all()
    assert (path >= 3).all() and (path < 17).all()
    # ... and parts the shapes: each one's ink lies wholly on its own side
    cols = np.arange(20)[None, :]
    left_side = cols < path[:, None]
    assert left_side[0:8, 2:10].all() and left_side[13:20, 2:5].all()
    assert not left_side[0:8, 13:18].any() and not left_side[13:20, 7:18].any()


def test_a_long_run_of_touching_digits_is_offered_cut_into_each_digit() -> None:
    # Given eight 7s in one row, each one's bar running into the next: a date or a phone
    # number written in one run, one group of ink over 4 times as wide as it is tall
    page = paper()
    inks = [draw_digit(page, 7, (100 + 28 * i, 215, 34, 50)) for i in range(8)]
    # When the locator looks at it
    cands = find_candidates(page)
    # then one way of cutting it has eight parts, each around one 7
    eights = [first for _, _, first, count in cands.splits.tolist() if count == 8]
    assert eights
    boxes = cands.part_boxes[eights[0] : eights[0] + 8]
    middles = sorted((boxes[:, 0] + boxes[:, 2] / 2).tolist())
    assert np.allclose(middles, [x + w / 2 for x, _, w, _ in inks], atol=6)
    # ... which cutting in four parts at most could not offer
    four = find_candidates(page, replace(DEFAULT_PARAMS, split_max_parts=4, split_max_aspect=4))
    assert not [s for s in four.splits.tolist() if s[3] > 4]


def test_printed_words_are_runs_on_an_x_height_line() -> None:
    # Given the glyph boxes of "apple" (a, p, p, l, e: the a and the e on the baseline
    # under the l's top, the ps hanging below it), of a row of digits of one height, and of
    # handwritten digits of mixed sizes whose tops lie anywhere (a rendered photo's row)
    apple = [[125, 209, 27, 29], [150, 209, 29, 38], [178, 209, 29, 38], [204, 200, 16, 38],
             [219, 209, 26, 29]]  # fmt: skip
    digits = [[100 + 40 * i, 200, 28, 40] for i in range(5)]
    mixed = [[242, 338, 25, 29], [159, 343, 22, 29], [185, 343, 29, 33], [218, 342, 21, 23],
             [118, 349, 17, 25], [137, 349, 19, 25]]  # fmt: skip
    # Then the word is one run, and neither row of digits is a word
    words = printed_words(np.array(apple))
    assert [sorted(w.tolist()) for w in words] == [[0, 1, 2, 3, 4]]
    assert printed_words(np.array(digits)) == []
    assert printed_words(np.array(mixed)) == []
    # ... nor the word's letters spread apart like digits written one by one
    spread = np.array(apple) + np.array([[30 * i, 0, 0, 0] for i in range(5)])
    assert printed_words(spread) == []


def test_a_glyph_many_times_taller_than_its_neighbours_joins_no_word() -> None:
    # Given a blurred photo's glyphs (seed 5, photo 29): a "2" joined by a squared page's
    # vertical rule into a glyph 117 px tall, beside the "6" of its row and over a row of
    # digits 10-17 px tall (8, 1, 8, 3) below it, the 1 and the 3 with tops lower than
    # the 8s' and bottoms level with them
    glyphs = np.array([[465, 26, 24, 117], [434, 29, 16, 25], [490, 127, 5, 14],
                       [442, 131, 19, 17], [505, 130, 10, 10]])  # fmt: skip
    # Then no word is made of them: letters of one word are of one size of type, and
    # the tall glyph's reach had joined the two rows into a "word" whose 6, 8s and 1 were
    # all dropped
    assert printed_words(glyphs) == []
    assert printed_words(glyphs, span=100.0) != []


@pytest.mark.parametrize("word", ["apple", "hello", "below", "house", "people"])
def test_printed_words_are_not_read_as_digits(word: str) -> None:
    from edgecam.backends import load_backend

    # Given a printed word on a page: alone, two or more of its letters read as digits (an
    # "e" as 8, an "l" as 1, an "o" as 0), and one or more do not
    page = paper()
    cv2.putText(page, word, (150, 260), cv2.FONT_HERSHEY_SIMPLEX, 2.0, (30, 30, 30), 4)

    class LetterByLetter(DigitReader):
        def _without_words(self, det: Detections, glyphs: npt.NDArray[np.int32]) -> Detections:
            return det

    backend = load_backend("litert")
    assert len(LetterByLetter(backend).read(page).text) >= 2
    # When read, then no digit is read in it
    assert DigitReader(backend).read(page).text == ""


def test_a_row_of_digits_read_whole_is_kept_though_its_tops_make_a_second_line() -> None:
    from edgecam.backends import load_backend

    # Given a rendered photo's fast-written row of ten digits whose glyphs look like a
    # printed word (two short ones on a taller one's baseline, their tops level)
    row = np.array(
        [[406, 353, 24, 24], [262, 348, 21, 24], [353, 352, 17, 23], [431, 358, 15, 18],
         [243, 350, 17, 25], [333, 355, 18, 21], [373, 355, 11, 21], [387, 354, 18, 21],
         [288, 351, 44, 22]], np.int32)  # fmt: skip
    assert len(printed_words(row)) == 1
    reader = DigitReader(load_backend("litert"))
    read = Detections(row, np.arange(9) % 10, np.full(9, 0.99, np.float32))
    # When every glyph of it was read, then every reading stands
    assert len(reader._without_words(read, row)) == 9
    # ... and when one glyph was not (a letter of a word), none does
    assert len(reader._without_words(read[np.arange(9) != 4], row)) == 0


@pytest.mark.parametrize("n", [1, 2, 3, 8, 51])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32, np.uint8])
def test_middle_is_numpys_median(n: int, dtype: type) -> None:
    values = (np.random.default_rng(n).random(n) * 200).astype(dtype)
    assert middle(values) == float(np.median(values))


@pytest.mark.parametrize("seed", range(6))
def test_quantiles_of_repeated_values_are_those_of_a_sort(seed: int) -> None:
    """The shortcuts for values a picture repeats (8-bit levels, clean paper's darkness 0)
    give exactly the sorted array's element."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(16384, 40000))
    levels = rng.integers(0, 256, n).astype(np.uint8)
    levels[: n // 3] = rng.integers(200, 256)  # a third of it one paper level
    dark = levels.astype(np.float32) * rng.random(n).astype(np.float32)
    dark[rng.random(n) < rng.uniform(0.2, 0.6)] = 0.0  # clean paper
    for q in (0.0, 0.5, 0.95, 1.0):
        k = int(q * (n - 1))
        assert _quantile(levels, q) == float(np.sort(levels)[k])
        assert _quantile(dark, q) == float(np.sort(dark)[k])
        for common in (0.0, float(dark[n // 2]), float(dark.max())):
            assert _kth_around(dark, k, common) == float(np.sort(dark)[k])


ROOT = Path(__file__).resolve().parent.parent

READ_ONCE = """
import sys, cv2
from pathlib import Path
from edgecam.backends import load_backend
from edgecam.vision.reader import DigitReader
image = cv2.imread(str(Path("edgecam/data/demo.jpg")))
text = DigitReader(load_backend("litert")).read(image).text
print(bool(text), "numpy.ma" in sys.modules)
"""


def test_reading_a_picture_imports_no_numpy_ma() -> None:
    """numpy's median and percentile import numpy.ma (~8-13 ms) on their first call: the
    first keyframe's read, on the way to a replay's or a camera's first result."""
    done = subprocess.run(
        [sys.executable, "-c", READ_ONCE],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.stdout.split() == ["True", "False"]

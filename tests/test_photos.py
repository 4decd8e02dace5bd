"""The whole camera path on realistic rendered photos, with the real LiteRT model.

Photos come from ``scripts/make_photos.py`` with a fixed seed (held-out digits and procedural
handwriting, never the MNIST test set), so a run is repeatable and a regression shows as a
drop, not as noise.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from types import ModuleType
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from edgecam.backends import load_backend
from edgecam.boxes import same_place
from edgecam.vision.locate import DEFAULT_PARAMS
from edgecam.vision.reader import DigitReader
from tests.conftest import load_script, needs_shared_glyphs

PHOTOS = 20
SEED = 7
# Measured with the camera-tile model of 27 Nov (outlier exposure, reader at 0.5/0.5): F1 0.91
# on these photos (tp 157, fp 8, fn 22: mostly blurred or faint small digits read wrong or
# unsure; no letters read as digits) and the locator boxing 98 % of digits; F1 0.94 on 100-photo
# sets (seeds 2 and 3). The guards sit a few points below, so they fail on a real regression,
# not on one digit more or less; raise them as the model improves (the goal for real photos is
# 0.98).
MIN_F1 = 0.88
MIN_FOUND = 0.95


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


def truth_of(picture: dict[str, Any]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """A photo's or a frame's true boxes and labels."""
    boxes = np.array([d["box"] for d in picture["digits"]], np.int64).reshape(-1, 4)
    return boxes, np.array([d["label"] for d in picture["digits"]], np.int64)


def scores(
    images: list[npt.NDArray[np.uint8]],
    truths: list[dict[str, Any]],
    reader: DigitReader,
    eval_photos: ModuleType,
) -> tuple[int, int, int]:
    """True and false detections and truth digits over pictures, each read alone."""
    tp = fp = n = 0
    for image, truth in zip(images, truths, strict=True):
        boxes, labels = truth_of(truth)
        det = reader.read(image).detections
        matched, extra = eval_photos.match(boxes, labels, det.boxes, det.labels)
        tp, fp, n = tp + len(matched), fp + len(extra), n + len(boxes)
    return tp, fp, n


@pytest.mark.slow
def test_rendered_photos_are_read_with_a_high_f1(
    photos: list[tuple[npt.NDArray[np.uint8], dict[str, Any]]],
    reader: DigitReader,
    eval_photos: ModuleType,
) -> None:
    # Given realistic photos with their truth, when each is read, then digits match one to one.
    images, truths = [image for image, _ in photos], [truth for _, truth in photos]
    tp, fp, total = scores(images, truths, reader, eval_photos)
    fn = total - tp
    found = 0
    for image, truth in photos:
        cands = reader.locate(image)
        found += sum(any(same_place(b, c) for c in cands.boxes) for b in truth_of(truth)[0])
    f1 = 2 * tp / max(1, 2 * tp + fp + fn)
    assert total >= 100
    assert found / total >= MIN_FOUND, f"locator found {found}/{total}"
    assert f1 >= MIN_F1, f"F1 {f1:.3f} (tp {tp}, fp {fp}, fn {fn})"


def row_of_digits(
    holdout: tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]],
    digits: str,
    *,
    step: int,
    first_x: int = 150,
    picks: tuple[int, ...] = (0,),
    width: int = 90,
    colour: tuple[int, int, int] = (25, 25, 25),
) -> npt.NDArray[np.float32]:
    """A 640×480 page (float) with held-out digits in one row, 90 px tall, ``step`` px apart
    (a 90-px tile's ink is ~65 px wide, so a step of 50-58 makes neighbours touch). The
    i-th digit is its class's ``picks[i % len(picks)]``-th held-out sample; ``width``
    stretches each sideways; overlapping ink keeps the darker."""
    images, labels = holdout
    page = np.full((480, 640, 3), 228, np.float32)
    ink = np.array(colour, np.float32)
    for i, d in enumerate(int(c) for c in digits):
        tile = images[np.flatnonzero(labels == d)[picks[i % len(picks)]]]
        alpha = cv2.resize(tile, (width, 90), interpolation=cv2.INTER_LINEAR)[..., None]
        x = first_x + i * step
        region = page[180:270, x : x + width]
        page[180:270, x : x + width] = np.minimum(region, region * (1 - alpha) + ink * alpha)
    return page


def ink_page(
    holdout: tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]],
    colour: tuple[int, int, int],
    shadow: bool,
) -> npt.NDArray[np.uint8]:
    """A 640×480 page with held-out digits 2 0 2 6 in one row, in the given ink."""
    page = row_of_digits(holdout, "2026", step=110, first_x=110, picks=(0, 1), colour=colour)
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


def digit_row(
    holdout: tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]],
    digits: str,
    step: int,
    which: int = 0,
    width: int = 90,
) -> npt.NDArray[np.uint8]:
    """:func:`row_of_digits` in black ink, every digit its class's ``which``-th sample."""
    page = row_of_digits(holdout, digits, step=step, picks=(which,), width=width)
    return np.clip(page, 0, 255).astype(np.uint8)


@pytest.mark.parametrize(
    ("digits", "which", "step", "without"),
    [
        ("20", 0, 50, "cuts"),
        ("20", 1, 58, "cuts"),
        ("2026", 0, 58, "cuts"),
        ("2026", 1, 50, "cuts"),
        # One digit's stroke runs under or over the other's, so every straight cut between
        # them takes a piece of one into the other's tile. On 600 such pages (every pair of
        # digits, three samples, steps 42 and 48) 480 read right with winding cuts offered
        # beside straight ones, 470 with straight ones only, and none was lost.
        ("21", 0, 48, "winding"),
        ("56", 0, 42, "winding"),
        ("73", 0, 42, "winding"),
        ("80", 1, 42, "winding"),
        # A 5's or a 7's bar ends thin beside the 2's curve: the thinnest column was that
        # end, not the gap between the digits, and neither part read.
        ("52", 2, 42, "valley"),
        ("72", 2, 48, "valley"),
    ],
)
def test_touching_digits_are_read_apart(
    holdout_digits: tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]],
    reader: DigitReader,
    *,
    digits: str,
    which: int,
    step: int,
    without: str,
) -> None:
    # Given a number written so fast that neighbouring digits touch
    page = digit_row(holdout_digits, digits, step, which)
    # When read, then every digit is read, each in its own box
    reading = reader.read(page)
    assert reading.text == digits
    boxes = reading.detections.boxes
    assert (np.diff(boxes[np.argsort(boxes[:, 0]), 0]) > 25).all()
    # ... which reading the touching groups whole, cutting them only straight, or only at
    # their thinnest columns, could not do
    lesser = (
        DigitReader(reader.backend, split_confidence=2.0)
        if without == "cuts"
        else DigitReader(reader.backend, params=replace(DEFAULT_PARAMS, split_valley=0.0))
        if without == "valley"
        else DigitReader(reader.backend, params=replace(DEFAULT_PARAMS, split_path=False))
    )
    assert lesser.read(page).text != digits


@pytest.mark.parametrize(("digits", "which"), [("8808", 1), ("6890", 2), ("0880", 1), ("6868", 2)])
def test_a_run_of_touching_looped_digits_is_offered_cut(
    holdout_digits: tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]],
    reader: DigitReader,
    digits: str,
    which: int,
) -> None:
    # Given four digits with loops (0, 6, 8, 9) written into one another: one group of ink
    # with five to seven loops, more than any one digit has
    page = digit_row(holdout_digits, digits, 40, which)
    # When read, then it is cut and every digit is read
    assert reader.read(page).text == digits
    # ... where four loops in all (two a digit for two digits, the bar before 5 Dec) took
    # the group for a grid's remains and read at most two of its digits
    fewer = DigitReader(reader.backend, params=replace(DEFAULT_PARAMS, split_loops=1))
    assert len(fewer.read(page).text) <= 2


def big_digits(
    holdout: tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]], digits: str, which: int
) -> npt.NDArray[np.uint8]:
    """Held-out digits side by side, each drawn in a 300-px square of a 640×480 page (its
    ink ~45 % of the page's height) and blurred as a camera close to the sheet does."""
    images, labels = holdout
    page = np.full((480, 640, 3), 228, np.float32)
    for i, d in enumerate(int(c) for c in digits):
        tile = images[np.flatnonzero(labels == d)[which]]
        alpha = cv2.resize(tile, (300, 300), interpolation=cv2.INTER_CUBIC)[..., None]
        x = (i + 1) * 640 // (len(digits) + 1) - 150
        page[90:390, x : x + 300] -= 200 * np.clip(alpha, 0, 1)
    page = cv2.GaussianBlur(page, (0, 0), 3.0)
    page += np.random.default_rng(0).normal(0, 3, page.shape)
    return np.clip(page, 0, 255).astype(np.uint8)


@pytest.mark.parametrize("digits", ["12", "41", "71"])
def test_digits_near_half_the_frame_tall_are_read(
    holdout_digits: tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]],
    reader: DigitReader,
    digits: str,
) -> None:
    # Given two digits near half the frame's height, written by a pen whose strokes, blown
    # up that far, are wider than the closing that estimates the paper (every pair of
    # classes, samples 2-5: 19 of 400 pages are read right only with the second look,
    # none only without it, 7 with neither)
    page = big_digits(holdout_digits, digits, 2)
    # When read, then both are read
    assert reader.read(page).text == digits
    # ... which one look with that closing alone did not do
    once = DigitReader(reader.backend, params=replace(DEFAULT_PARAMS, big_frac=0))
    assert once.read(page).text != digits


@pytest.mark.parametrize(("digit", "width"), [(0, 144), (7, 117), (4, 117), (5, 144)])
def test_a_wide_digit_is_not_cut_in_two(
    holdout_digits: tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]],
    reader: DigitReader,
    digit: int,
    width: int,
) -> None:
    # Given one digit written wider than tall, which the locator also offers cut in parts
    page = digit_row(holdout_digits, str(digit), 0, width=width)
    assert len(reader.locate(page).splits) > 0
    # When read, then it is one digit
    assert reader.read(page).text == str(digit)


def rendered_photo(
    make_photos: ModuleType, seed: int, index: int, touching: float = 0.0
) -> tuple[npt.NDArray[np.uint8], dict[str, Any]]:
    """Photo ``index`` of ``make_photos.py --seed SEED [--touching P]`` as written (JPEG)
    and read back."""
    rng = np.random.default_rng([seed, index])
    size = make_photos.choose_size("mixed", rng)
    photo, truth = make_photos.render_photo(rng, size, make_photos.GlyphBank.load(), touching)
    quality = int(truth["conditions"]["jpeg"])
    _, data = cv2.imencode(".jpg", photo, [cv2.IMWRITE_JPEG_QUALITY, quality])
    return cv2.imdecode(data, cv2.IMREAD_COLOR), truth


def labels_at(r: DigitReader, page: npt.NDArray[np.uint8], boxes: list[Any]) -> list[int]:
    """The labels ``r`` reads in ``page`` at the places of ``boxes``."""
    det = r.read(page).detections
    return [
        int(lab)
        for b, lab in zip(det.boxes, det.labels, strict=True)
        for t in boxes
        if same_place(t, b)
    ]


@needs_shared_glyphs
def test_pencil_digits_written_on_a_grid_line_keep_their_bases(
    make_photos: ModuleType, reader: DigitReader
) -> None:
    # Given a phone photo of a squared sheet (make_photos.py, seed 2, photo 13: pencil, JPEG
    # quality 58) with a row whose 2s sit on a grid line: their bases, chained along the
    # line, make a run as long as the shortest line the finder takes, far darker than the
    # sheet's other lines but fainter than the darkest ink in the picture
    page, truth = rendered_photo(make_photos, 2, 13)
    assert truth["conditions"]["ruling"] == "squared" and truth["conditions"]["jpeg"] == 58
    twos = [d["box"] for d in truth["digits"] if d["label"] == 2]
    assert len(twos) == 2
    # When read, then both are read as 2s
    assert labels_at(reader, page, twos) == [2, 2]
    # ... which taking that run for the grid line, the 2s' bases with it, did not do (7s)
    as_line = replace(DEFAULT_PARAMS, line_pen_typical=float("inf"))
    assert labels_at(DigitReader(reader.backend, params=as_line), page, twos) != [2, 2]


def test_one_digit_filling_most_of_the_frame_is_read(
    holdout_digits: tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]], reader: DigitReader
) -> None:
    # Given a phone held close over one digit: each class's first held-out sample drawn
    # over the whole height of a 640×480 frame (its ink ~70 % of that height, as in MNIST)
    images, labels = holdout_digits

    def close_up(digit: int) -> npt.NDArray[np.uint8]:
        tile = images[np.flatnonzero(labels == digit)[0]]
        alpha = cv2.resize(tile, (480, 480), interpolation=cv2.INTER_CUBIC)
        page = np.full((480, 640), 225, np.float32)
        page[:, 80:560] -= 190 * np.clip(alpha, 0, 1)
        page = cv2.GaussianBlur(page, (0, 0), 1.6)
        page += np.random.default_rng(digit).normal(0, 3, page.shape)
        return cv2.cvtColor(np.clip(page, 0, 255).astype(np.uint8), cv2.COLOR_GRAY2BGR)

    pages = [close_up(d) for d in range(10)]
    # When read, then every digit is read
    assert [reader.read(p).text for p in pages] == [str(d) for d in range(10)]
    # ... where taking nothing taller than 0.65 of the frame for a digit (the bar before
    # 4 Dec) read most of them as nothing or as something else
    short = DigitReader(reader.backend, params=replace(DEFAULT_PARAMS, max_h_frac=0.65))
    assert sum(short.read(p).text == str(d) for d, p in enumerate(pages)) <= 2


@needs_shared_glyphs
def test_a_marker_digit_a_quarter_of_the_frame_tall_with_a_filled_loop_is_read(
    make_photos: ModuleType, reader: DigitReader
) -> None:
    # Given a webcam photo (make_photos.py, seed 1, photo 32: 640x480, blurred, JPEG 93) of a
    # red marker 6 about a quarter of the frame tall whose loop the pen filled: the blob is
    # wider than the closings that estimate the paper and its colour, so a first look keeps
    # only the 6's upper stroke (read as 8)
    page, truth = rendered_photo(make_photos, 1, 32)
    assert truth["conditions"]["ink"] == "red" and truth["conditions"]["jpeg"] == 93
    six = [d["box"] for d in truth["digits"] if d["label"] == 6]
    assert len(six) == 1
    # When read, then the 6 is read whole
    assert labels_at(reader, page, six) == [6]
    # ... which a second look only for groups an eighth of the short side tall (finding
    # digits a quarter of it tall), the bar before 4 Dec, did not do
    later = replace(DEFAULT_PARAMS, big_look=0.125, big_frac=0.25)
    assert labels_at(DigitReader(reader.backend, params=later), page, six) != [6]


@needs_shared_glyphs
def test_digits_a_shadow_joins_to_a_filled_mark_are_kept_when_the_join_is_no_digit(
    make_photos: ModuleType, reader: DigitReader
) -> None:
    # Given a webcam photo (make_photos.py, seed 2, photo 66: a squared sheet under a soft
    # shadow band, blue ink, JPEG 66) with a 9 and a 5 written along the shadow's edge above
    # a filled "#": the "#" is thick enough for the second, wider look, which takes the
    # shadow's edge for ink and joins all three into one group a third of the frame tall
    page, truth = rendered_photo(make_photos, 2, 66)
    assert truth["conditions"]["shadow"] and truth["conditions"]["jpeg"] == 66
    top = [d["box"] for d in truth["digits"] if d["box"][1] < 30]
    assert len(top) == 2
    # When read, then the 9 and the 5 are read (the joined group, read unsurely as a 2 by
    # the two networks together, does not replace the digits it covers, read surer)
    assert sorted(labels_at(reader, page, top)) == [5, 9]
    # ... which letting every tall group of the second look replace what it covers, read
    # or not (before 5 Dec), did not do: they were lost with the join
    always = replace(DEFAULT_PARAMS, big_same=0.0)
    assert sorted(labels_at(DigitReader(reader.backend, params=always), page, top)) != [5, 9]


@needs_shared_glyphs
def test_the_slanted_rim_of_a_sheet_on_a_desk_is_not_read_as_digits(
    make_photos: ModuleType, reader: DigitReader
) -> None:
    # Given a phone photo (make_photos.py --touching 0.7, seed 11, photo 60: 1600x1200, a
    # light sheet turned on a green desk) whose left rim runs slanted through the cells in
    # which the locator judges the surface: each cell it crosses counts as paper, and the
    # desk in it, darker than that paper, as a sliver of ink
    page, truth = rendered_photo(make_photos, 11, 60, 0.7)
    assert truth["conditions"]["size"] == "1600x1200" and truth["conditions"]["touching"]
    boxes = [d["box"] for d in truth["digits"]]

    def false_digits(r: DigitReader) -> int:
        det = r.read(page).detections
        return sum(not any(same_place(t, b) for t in boxes) for b in det.boxes)

    # When read, then no digit is read where none is written
    assert false_digits(reader) == 0
    # ... where the slivers along the rim were read as 7s and a 1 before 5 Dec
    rimless = replace(DEFAULT_PARAMS, rim_share=2.0)
    assert false_digits(DigitReader(reader.backend, params=rimless)) >= 3


@needs_shared_glyphs
def test_a_close_row_over_its_underline_is_not_taken_for_a_scribble(
    make_photos: ModuleType, reader: DigitReader
) -> None:
    # Given a webcam photo (make_photos.py --touching 0.7, seed 11, photo 17: a ruled sheet,
    # blue ink) of a long row of digits written close together and underlined: around each
    # inner digit its neighbours fill much of the ring the clutter test looks at, and the
    # underline the rest of it below
    page, truth = rendered_photo(make_photos, 11, 17, 0.7)
    assert truth["conditions"]["ruling"] == "ruled" and truth["conditions"]["ink"] == "blue"
    row = [d for d in truth["digits"] if 180 <= d["box"][0] <= 250 and 125 <= d["box"][1] <= 145]
    assert [d["label"] for d in row] == [5, 2, 2]
    boxes = [d["box"] for d in row]
    # When read, then the three are read
    assert sorted(labels_at(reader, page, boxes)) == [2, 2, 5]
    # ... which counting the underline as clutter (before 5 Dec) did not do
    counted = replace(DEFAULT_PARAMS, clutter_run=float("inf"))
    assert labels_at(DigitReader(reader.backend, params=counted), page, boxes) == []


@needs_shared_glyphs
@pytest.mark.slow
def test_a_squared_sheet_grid_is_removed_where_the_threshold_widens_it(
    tmp_path: Path, reader: DigitReader, eval_photos: ModuleType
) -> None:
    # Given a hand-held clip of a squared sheet in bright light (make_replay.py, seed 88),
    # whose dark grid lines clear the ink threshold three pixels wide at half size
    # (40 frames: the margins below then hold with opencv-python 5.0 and 5.1 alike, whose
    # encoders write this clip a little differently)
    out = tmp_path / "squared.mp4"
    argv = ["--out", str(out), "--frames", "40", "--seed", "88"]
    assert load_script("make_replay").main(argv) == 0
    truth = json.loads(out.with_suffix(".json").read_text())
    assert truth["conditions"]["ruling"] == "squared"
    cap = cv2.VideoCapture(str(out))
    frames = [cap.read()[1] for _ in truth["frames"]]
    cap.release()
    # When each frame is read, then the grid is taken out and its digits are read
    tp, fp, n = scores(frames, truth["frames"], reader, eval_photos)
    assert tp >= 0.9 * n and fp == 0, (tp, fp, n)
    # ... which judging a line's thickness on all that clears the threshold did not do
    whole_width = replace(DEFAULT_PARAMS, line_core=0.0)
    old_tp, _, _ = scores(
        frames, truth["frames"], DigitReader(reader.backend, params=whole_width), eval_photos
    )
    assert old_tp < tp - 0.1 * n


def test_a_blank_page_reads_as_nothing(reader: DigitReader) -> None:
    reading = reader.read(np.full((480, 640, 3), 230, np.uint8))
    assert reading.text == "" and len(reading.detections) == 0


def test_training_photos_never_draw_holdout_digits(make_photos: ModuleType) -> None:
    # Given both splits of the glyph bank, then they partition each set: train has the other
    # nine tenths, so photos made to train on never show a digit the evaluation photos use.
    holdout = make_photos.GlyphBank.load("holdout")
    train = make_photos.GlyphBank.load("train")
    assert set(train.tiles) == set(holdout.tiles)
    for name, (images, _) in train.tiles.items():
        n_hold = len(holdout.tiles[name][0])
        assert n_hold == -(-(len(images) + n_hold) // 10)
    with pytest.raises(ValueError, match="split"):
        make_photos.GlyphBank.load("test")


def test_camera_tiles_are_labelled_one_to_one() -> None:
    # Given two true digits and a letter, and candidates boxing digit 7 twice, the letter, and
    # the top half of digit 3, then the best 7 box is a positive, the second is dropped (-2),
    # and the letter and the fragment are negatives (-1).
    tiles = load_script("make_camera_tiles")
    truth = {
        "digits": [
            {"label": 7, "box": [10, 10, 20, 40]},
            {"label": 3, "box": [60, 10, 22, 40]},
        ],
        "distractors": [{"kind": "letter A", "box": [110, 10, 24, 40]}],
    }
    cands = np.array(
        [[11, 10, 19, 40], [10, 16, 20, 30], [110, 11, 24, 38], [60, 10, 22, 14]], np.int64
    )
    labels, kinds = tiles.label_candidates(cands, truth)
    assert labels.tolist() == [7, -2, -1, -1]
    assert kinds == ["digit", "duplicate", "letter", "part"]


def test_a_redrawn_8_keeps_the_loop_its_pen_nearly_filled(make_photos: ModuleType) -> None:
    # Given a held-out 8 whose upper loop the writer's pen nearly filled (grey inside)
    tile = np.zeros((28, 28), np.float32)
    cv2.circle(tile, (14, 8), 3, 0.55, -1)
    cv2.circle(tile, (14, 8), 4, 1.0, 2)
    cv2.circle(tile, (14, 19), 5, 1.0, 2)
    for seed in range(6):
        # when it is redrawn with a pen as a digit written with loops, then both loops stay
        glyph = make_photos.dataset_glyph(
            tile, 60, 0.06, False, np.random.default_rng(seed), written_loops=2
        )
        assert make_photos.loops(glyph > 0.5, 4) == 2, seed
        # (thresholded where the blur filled the loop, its centre line branched: one loop)
        plain = make_photos.dataset_glyph(tile, 60, 0.06, False, np.random.default_rng(seed))
        assert make_photos.loops(plain > 0.5, 4) == 1, seed


def test_a_redrawn_8_whose_pen_filled_a_loop_keeps_it_as_a_blob_not_a_branching_line(
    make_photos: ModuleType,
) -> None:
    # Given a held-out 8 whose upper loop the writer's pen filled solid
    tile = np.zeros((28, 28), np.float32)
    cv2.circle(tile, (14, 8), 5, 1.0, -1)
    cv2.circle(tile, (14, 19), 5, 1.0, 2)
    for seed in range(6):
        # when it is redrawn with a pen as a digit written with two loops
        glyph = make_photos.dataset_glyph(
            tile, 60, 0.06, False, np.random.default_rng(seed), written_loops=2
        )
        # then its lower loop stays and the upper one is ink across, as the pen left it: over
        # 45 % of the upper third of its box is inked (0.57-0.70 here); its centre line drawn
        # again with the pen was a stalk (0.18-0.21), in real glyphs a 'k' or a 'Y'
        # labelled 8 in the fixtures
        ys, xs = np.nonzero(glyph > 0.5)
        top = glyph[ys.min() : ys.min() + (ys.max() - ys.min()) // 3, xs.min() : xs.max() + 1]
        assert make_photos.loops(glyph > 0.5, 4) >= 1, seed
        assert float((top > 0.5).mean()) > 0.45, (seed, float((top > 0.5).mean()))
        # and the random draws it took are those of any other redrawing: the rest of a
        # seed's photo stays as it was
        a, b = np.random.default_rng(seed), np.random.default_rng(seed)
        make_photos.dataset_glyph(tile, 60, 0.06, False, a, written_loops=2)
        make_photos.dataset_glyph(tile, 60, 0.06, False, b)
        assert a.random() == b.random()

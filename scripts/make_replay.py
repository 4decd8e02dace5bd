"""Record realistic videos of handwritten digits filmed by a hand-held camera, with truth.

The daemon reads camera streams we have no recordings of, so these stand in for them: a sheet
as ``make_photos.py`` draws it (paper, ink, distractors, background, light and shadow), rendered
once at twice the video's resolution and filmed through a moving camera: a slow pan that takes
digits out of view and brings others in, hand-held shake and tremor, a little rotation, zoom
and perspective, motion blur sized by each frame's own motion, focus hunting, a hand that
reaches over the sheet and goes away again, exposure and white-balance drift, sensor noise,
JPEG and the mp4v codec. Which of these a clip has, and how strong, is drawn from the seed::

    .venv/bin/python scripts/make_replay.py --out /tmp/r/clip.mp4 [--frames 300] [--fps 30] \\
        [--size 640x480] [--seed 1] [--split holdout] [--pan] [--hand]

writes ``clip.mp4`` and ``clip.json``: ``{"fps", "width", "height", "seed", "conditions",
"frames": [{"frame", "digits": [{"label", "box": [x, y, w, h], "id"}], "motion", "defocus",
"hand"}]}``. A frame's digits are those whose whole ink box is in the frame (2 px margin), less
than a fifth covered by the hand and not smeared past reading (motion blur over half the
digit's height, or defocus over an eighth of it); boxes are tight around the ink, as in
``make_photos``. ``id`` names the digit on the sheet across frames; ``motion`` (blur length)
and ``defocus`` (blur sigma) are in video pixels; ``hand`` says the hand is in view.
Digits come from the held-out split of the real sets (never the MNIST test set) and from
procedural handwriting; letters, specks and underlines are never in the truth.

``--demo`` writes the bundled recording ``edgecam/data/demo.mp4`` (and ``demo.json``): ten
seconds at 15 fps of a calm hand-held view of a phone number and a date.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

ROOT = Path(__file__).resolve().parent.parent
for _path in (ROOT, ROOT / "scripts"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

import make_photos  # noqa: E402
from make_photos import GlyphBank, Placed, Scene  # noqa: E402

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
Rng = np.random.Generator

# World (scene) pixels per video pixel at zoom 1: the sheet is drawn once this much finer than
# the video, so every frame is a downscaling warp, as a camera sensor samples a sharp scene.
RENDER_SCALE = 2
# The world is this many times the view each way, so a pan finds background, not an edge.
WORLD_FACTOR = 2.6
# Digit heights in video pixels (at zoom 1).
MIN_H, MAX_H = 22.0, 85.0
MIN_DIGITS, MAX_DIGITS = 6, 20
# Truth: margin to the frame's edge, the hand's largest share of a box, and blur past reading
# as a fraction of the digit's height.
EDGE_MARGIN = 2
MAX_HAND_COVER = 0.2
MAX_MOTION_RATIO = 0.5
MAX_DEFOCUS_RATIO = 0.125
MAX_MOTION_PX = 14.0

DATA = ROOT / "edgecam" / "data"
DEMO_SEED = 2025
DEMO_FRAMES = 150
DEMO_FPS = 15
DEMO_ROWS = ("62 41 87", "12.05.24")


# ---------------------------------------------------------------------------------------------
# The sheet: drawn once, in world pixels.


@dataclass
class Sheet:
    world: F32  # BGR float in [0, 1], world pixels
    view: tuple[int, int]  # the view at zoom 1, world pixels (w, h)
    labels: list[int]
    sources: list[str]
    hulls: F64  # (m, 1, 2) convex hulls of the digits' ink, world pixel coordinates
    splits: npt.NDArray[np.int64]  # start of each digit's hull in ``hulls``
    centre: tuple[float, float]  # middle of the digits, world pixels
    centres: F64  # (k, 2) middle of each digit, world pixels
    tilt: float  # the sheet's top edge against the world's x axis, degrees


def place_row(scene: Scene, text: str, x: float, y: float, photo_h: float) -> None:
    """Write ``text`` (digits, spaces, dots) from page point (x, y): a phone number, a date."""
    h = make_photos.page_height_for(scene, photo_h, x, y)
    gap = h * 0.3
    for ch in text:
        if ch == " ":
            x += h * 0.5
            continue
        if ch == ".":
            r = max(2, round(h * 0.06))
            dot = np.zeros((2 * r + 3, 2 * r + 3), np.float32)
            cv2.circle(dot, (r + 1, r + 1), r, 1.0, -1, cv2.LINE_AA)
            scene.placed.append(Placed(-1, "dot", dot, int(x), int(y + h - dot.shape[0])))
            x += dot.shape[1] + gap
            continue
        hh = max(8, round(h * scene.rng.uniform(0.92, 1.08)))
        alpha, src = scene.glyph(int(ch), hh)
        scene.placed.append(Placed(int(ch), src, alpha, int(x), int(y + h - hh)))
        x += alpha.shape[1] + gap


def place_digits(scene: Scene, cond: dict[str, Any], calm: bool) -> None:
    rng = scene.rng
    ph, pw = scene.page_shape
    s = RENDER_SCALE
    if calm:  # two centred rows, as someone would write a number to show the camera
        heights = (s * rng.uniform(44, 52), s * rng.uniform(36, 44))
        top = ph * rng.uniform(0.35, 0.42)
        for text, photo_h in zip(DEMO_ROWS, heights, strict=True):
            h = make_photos.page_height_for(scene, photo_h, pw / 2, top)
            width = h * 0.62 * len(text.replace(" ", "").replace(".", ""))
            place_row(scene, text, pw / 2 - width / 2 + rng.normal(0, 0.02 * pw), top, photo_h)
            top += h * rng.uniform(2.1, 2.5)
        cond["layout"] = ["row", "row"]
        return
    kinds = [str(k) for k in rng.choice(["scatter", "row", "grid", "row"], int(rng.integers(1, 4)))]
    for kind in kinds:
        make_photos.place_group(scene, kind, MIN_H * s, MAX_H * s)
    for _ in range(8):
        if sum(p.label >= 0 for p in scene.placed) >= MIN_DIGITS:
            break
        kinds.append("row")
        make_photos.place_group(scene, "row", MIN_H * s, MAX_H * s)
    digits = [i for i, p in enumerate(scene.placed) if p.label >= 0]
    drop = set(digits[MAX_DIGITS:])
    scene.placed[:] = [p for i, p in enumerate(scene.placed) if i not in drop]
    cond["layout"] = kinds


def soft(img: F32, sigma: float) -> F32:
    """A wide Gaussian blur, done at a reduced size (it only makes smooth light and shadow)."""
    f = max(1, int(sigma / 3))
    h, w = img.shape[:2]
    small = cv2.resize(img, (max(1, w // f), max(1, h // f)), interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), sigma / f)
    return np.asarray(cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR), np.float32)


def render_sheet(
    rng: Rng, frame: tuple[int, int], bank: GlyphBank, cond: dict[str, Any], calm: bool
) -> Sheet:
    """The scene as make_photos composes a photo, without the camera, at RENDER_SCALE."""
    s = RENDER_SCALE
    vw, vh = frame[0] * s, frame[1] * s
    ww, wh = round(vw * WORLD_FACTOR), round(vh * WORLD_FACTOR)
    bg, cond["background"] = make_photos.background((wh, ww), rng)
    quad = make_photos.paper_quad((vw, vh), rng) + np.array(
        [(ww - vw) / 2, (wh - vh) / 2], np.float32
    )
    pw = int(np.linalg.norm(quad[1] - quad[0]))
    ph = int(np.linalg.norm(quad[3] - quad[0]))
    ruling = str(rng.choice(["plain", "plain", "ruled", "squared"]))
    cond["ruling"] = ruling
    page = make_photos.paper((ph, pw), ruling, vh * rng.uniform(0.035, 0.07), rng)
    src_quad = np.array([[0, 0], [pw, 0], [pw, ph], [0, ph]], np.float32)
    to_world = cv2.getPerspectiveTransform(src_quad, quad).astype(np.float64)

    inks = ["black", "blue"] if calm else ["black", "black", "blue", "blue", "red", "pencil"]
    ink = str(rng.choice(inks))
    cond["ink"] = ink
    pen_ratio = math.exp(rng.uniform(math.log(0.05 if calm else 0.035), math.log(0.12)))
    # Writing goes in the middle of the world, where the camera looks: within a view and a bit.
    rw, rh = round(vw * 1.2), round(vh * 1.2)
    shift = np.array([[1, 0, -(ww - rw) / 2], [0, 1, -(wh - rh) / 2], [0, 0, 1]])
    blocked = np.zeros((rh, rw), bool)
    scene = Scene(rng, bank, (ph, pw), shift @ to_world, (rw, rh), blocked, ink, pen_ratio)
    place_digits(scene, cond, calm)
    n_letters = int(rng.integers(0, 2 if calm else 4))
    for _ in range(n_letters):
        photo_h = math.exp(rng.uniform(math.log(MIN_H * s), math.log(MAX_H * s * 0.7)))
        for _ in range(20):
            x, y = rng.uniform(0.02, 0.95) * pw, rng.uniform(0.02, 0.95) * ph
            h = make_photos.page_height_for(scene, photo_h, x, y)
            alpha, src = scene.glyph(-1, h)
            box = (int(x), int(y), alpha.shape[1], alpha.shape[0])
            if scene.fits(box, max(4, h // 3)):
                scene.placed.append(Placed(-1, src, alpha, int(x), int(y)))
                break
    cond["digits"] = sum(p.label >= 0 for p in scene.placed)
    cond["letters"] = sum(p.source.startswith("letter") for p in scene.placed)

    layer, colour = make_photos.ink_layer(scene, ink, (ph, pw), rng)
    n_specks = int(rng.integers(0, 8 if calm else 25))
    cond["specks"] = n_specks
    for _ in range(n_specks):
        r = rng.uniform(0.5, 0.004 * vh + 0.5)
        centre = (int(rng.uniform(0, pw) * 16), int(rng.uniform(0, ph) * 16))
        cv2.circle(layer, centre, int(r * 16), float(rng.uniform(0.3, 0.9)), -1, cv2.LINE_AA, 4)
    inked = page * (1 - layer[..., None]) + colour[None, None, :] * layer[..., None]

    warped = cv2.warpPerspective(
        inked.astype(np.float32),
        to_world,
        (ww, wh),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )
    cover = np.asarray(
        cv2.warpPerspective(np.ones((ph, pw), np.float32), to_world, (ww, wh)), np.float32
    )
    drop = soft(cover, vh * 0.01)
    img = bg * (1 - 0.35 * drop[..., None])
    img = img * (1 - cover[..., None]) + warped * cover[..., None]
    del warped, drop, bg

    # Light that belongs to the room (it stays put as the camera moves): a gradient and
    # sometimes the soft shadow of a lamp arm or the person filming.
    yy, xx = np.mgrid[0:wh, 0:ww].astype(np.float32)
    ang = rng.uniform(0, 2 * math.pi)
    grad = ((xx - ww / 2) * math.cos(ang) + (yy - wh / 2) * math.sin(ang)) / max(ww, wh)
    light = 1 + rng.uniform(0, 0.6) * grad
    del xx, yy, grad
    cond["shadow"] = bool(rng.random() < 0.45)
    if cond["shadow"]:
        sh = np.zeros((wh, ww), np.float32)
        cx, cy = ww / 2 + rng.uniform(-0.5, 0.5) * vw, wh / 2 + rng.uniform(-0.5, 0.5) * vh
        axes = (int(rng.uniform(0.15, 0.5) * vw), int(rng.uniform(0.1, 0.4) * vh))
        cv2.ellipse(sh, (int(cx), int(cy)), axes, rng.uniform(0, 180), 0, 360, 1, -1)
        sh = soft(sh, vh * rng.uniform(0.03, 0.08))
        light *= 1 - rng.uniform(0.2, 0.45 if calm else 0.55) * sh
    img *= light[..., None]
    # A little optical softness, which also keeps the downscaling warp from aliasing.
    img = cv2.GaussianBlur(img, (0, 0), 0.45 * s)

    hulls: list[F64] = []
    labels: list[int] = []
    sources: list[str] = []
    for p in scene.placed:
        ys, xs = np.nonzero(p.alpha > 0.3)
        if p.label < 0 or len(ys) == 0:
            continue
        pts = np.stack([xs + p.x, ys + p.y], 1).astype(np.float64)[None]
        q = cv2.perspectiveTransform(pts, to_world)[0].astype(np.float32)
        hulls.append(cv2.convexHull(q).astype(np.float64).reshape(-1, 1, 2))
        labels.append(p.label)
        sources.append(p.source)
    sizes = np.array([len(h) for h in hulls], np.int64)
    allpts = np.concatenate(hulls) if hulls else np.zeros((0, 1, 2))
    centre = allpts.reshape(-1, 2).min(0) / 2 + allpts.reshape(-1, 2).max(0) / 2
    return Sheet(
        world=np.clip(img, 0, 1).astype(np.float32),
        view=(vw, vh),
        labels=labels,
        sources=sources,
        hulls=allpts,
        splits=np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64),
        centre=(float(centre[0]), float(centre[1])),
        centres=np.array([h.reshape(-1, 2).mean(0) for h in hulls]).reshape(-1, 2),
        tilt=math.degrees(math.atan2(quad[1, 1] - quad[0, 1], quad[1, 0] - quad[0, 0])),
    )


# ---------------------------------------------------------------------------------------------
# The camera: a path through time, one homography per frame.


def ou(n: int, dt: float, tau: float, sigma: float, rng: Rng, *, dims: int = 1) -> F64:
    """Ornstein-Uhlenbeck walk: wanders ~``sigma`` from 0, losing its memory in ``tau`` s."""
    a = math.exp(-dt / tau)
    b = sigma * math.sqrt(1 - a * a)
    noise = rng.normal(0, 1, (n, dims))
    out = np.empty((n, dims))
    x = rng.normal(0, sigma, dims)
    for i in range(n):
        x = a * x + b * noise[i]
        out[i] = x
    return out


def smoothstep(u: npt.NDArray[np.floating[Any]]) -> F64:
    v = np.clip(np.asarray(u, np.float64), 0, 1)
    out: F64 = v * v * (3 - 2 * v)
    return out


def bump(n: int, centre: float, width: float) -> F64:
    """A smooth 0→1→0 bump over ``width`` frames around ``centre``."""
    t = (np.arange(n) - centre) / max(width / 2, 1.0)
    return np.where(np.abs(t) < 1, 0.5 + 0.5 * np.cos(np.pi * np.clip(t, -1, 1)), 0.0)


def draw_conditions(
    rng: Rng, frames: int, fps: float, *, calm: bool, pan: bool, hand: bool
) -> dict[str, Any]:
    """What a clip has and how strong; kept in the truth so results can be sliced by it."""
    seconds = frames / fps
    c: dict[str, Any] = {"frames": frames, "fps": fps}
    if calm:
        c |= {
            "pan": False,
            "drift_px": 5.0,
            "shake_px": 1.2,
            "tremor_px": 0.25,
            "rotation_deg": round(float(rng.normal(0, 1.0)), 2),
            "zoom": 1.0,
            "perspective": round(float(rng.uniform(-0.02, 0.02)), 3),
            "jolts": 0,
            "motion_blur": True,
            "exposure": 0.3,
            "defocus": 0.2,
            "focus_hunts": 0,
            "hand": False,
            "noise": 0.008,
            "jpeg": None,
            "gain_drift": 0.02,
            "wb_drift": 0.008,
        }
        return c
    c["pan"] = bool(pan or rng.random() < 0.7)
    c["pan_speed_px_s"] = round(float(rng.uniform(60, 200)), 1)
    c["drift_px"] = round(float(rng.uniform(3, 12)), 1)
    c["shake_px"] = round(float(rng.uniform(1, 5)), 2)
    c["tremor_px"] = round(float(rng.uniform(0.15, 0.8)), 2)
    c["rotation_deg"] = round(float(np.clip(rng.normal(0, 2), -4, 4)), 2)
    c["zoom"] = round(float(rng.uniform(0.92, 1.1)), 3)
    c["perspective"] = round(float(rng.uniform(-0.05, 0.05)), 3)
    c["jolts"] = int(rng.integers(0, 3 if seconds > 4 else 2))
    c["motion_blur"] = bool(rng.random() < 0.75)
    c["exposure"] = round(float(rng.uniform(0.2, 0.9)), 2)
    c["defocus"] = round(float(rng.choice([0, 0.3, 0.5, 0.7])), 2)
    c["focus_hunts"] = int(rng.integers(0, 3))
    c["hand"] = bool(hand or rng.random() < 0.4)
    c["noise"] = round(float(rng.uniform(0.005, 0.025)), 4)
    c["jpeg"] = None if rng.random() < 0.3 else int(rng.integers(60, 91))
    c["gain_drift"] = round(float(rng.uniform(0.01, 0.05)), 3)
    c["wb_drift"] = round(float(rng.uniform(0.004, 0.015)), 3)
    return c


def pan_path(
    n: int, fps: float, speed: float, size: tuple[int, int], *, spots: F64, rng: Rng
) -> F64:
    """Centre offsets (n, 2) in video pixels: dwell, glide to another part of the writing, repeat.

    Each stop puts one of ``spots`` (the digits, video pixels from the aim point) somewhere
    in the middle of the view, and each glide changes which digits are in view: some leave,
    others enter.
    """
    w, h = size
    half = np.array([0.5 * w - 30, 0.5 * h - 30])
    scale = min(1.0, n / fps / 8)  # short clips dwell less, to show a glide or two

    def stop() -> F64:
        spot = spots[rng.integers(0, len(spots))] if len(spots) else np.zeros(2)
        return np.asarray(spot + rng.uniform(-1, 1, 2) * (0.35 * w, 0.3 * h), np.float64)

    def in_view(p: F64) -> set[int]:
        return set(np.flatnonzero((np.abs(spots - p) < half).all(1)).tolist())

    keys_t, keys_p = [0.0], [stop()]
    t = 0.0
    while t < n / fps:
        t += rng.uniform(0.4, 1.5) * scale  # dwell
        keys_t.append(t)
        keys_p.append(keys_p[-1])
        seen = in_view(keys_p[-1])
        for _ in range(50):
            p = stop()
            if np.linalg.norm(p - keys_p[-1]) > 0.35 * w and in_view(p) != seen:
                break
        else:  # all the digits fit in one view: glide off them
            away = rng.normal(0, 1, 2)
            p = keys_p[-1] + away / np.linalg.norm(away) * 0.6 * w
        t += float(np.linalg.norm(p - keys_p[-1])) / speed
        keys_t.append(t)
        keys_p.append(p)
    times = np.arange(n) / fps
    out = np.zeros((n, 2))
    for i in range(len(keys_t) - 1):
        t0, t1 = keys_t[i], keys_t[i + 1]
        sel = (times >= t0) & (times < t1)
        u = smoothstep((times[sel] - t0) / max(t1 - t0, 1e-6))[:, None]
        out[sel] = keys_p[i] + (keys_p[i + 1] - keys_p[i]) * u
    return out


@dataclass
class Camera:
    homographies: F64  # (n, 3, 3) world -> video
    motion: F64  # (n, 2) blur vector per frame, video pixels
    defocus: F64  # (n,) gaussian sigma, video pixels
    gain: F64  # (n, 3) per channel: exposure times white balance
    hand: F64  # (n,) how far the hand is in, 0..1
    hand_shift: F64  # (n, 2) the hand's drift while it rests, video pixels


def view_homography(
    centre: F64,
    angle: float,
    zoom: float,
    keystone: F64,
    *,
    view: tuple[int, int],
    size: tuple[int, int],
) -> F64:
    """World -> video for a camera looking at ``centre`` (world px), turned and tilted."""
    hw, hh = view[0] / 2 / zoom, view[1] / 2 / zoom
    kx, ky = float(keystone[0]), float(keystone[1])
    local = np.array(
        [
            [-hw * (1 + ky), -hh * (1 + kx)],
            [hw * (1 + ky), -hh * (1 - kx)],
            [hw * (1 - ky), hh * (1 - kx)],
            [-hw * (1 - ky), hh * (1 + kx)],
        ]
    )
    a = math.radians(angle)
    rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    src = local @ rot.T + centre
    w, h = size
    dst = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32) - 0.5
    return cv2.getPerspectiveTransform(src.astype(np.float32), dst).astype(np.float64)


def camera_path(
    cond: dict[str, Any], sheet: Sheet, size: tuple[int, int], rng: Rng
) -> tuple[Camera, dict[str, Any]]:
    n, fps = int(cond["frames"]), float(cond["fps"])
    dt = 1 / fps
    w, h = size
    s = RENDER_SCALE
    # Position in video pixels: a pan, a slow drift, hand-held shake, tremor and jolts.
    pos = ou(n, dt, rng.uniform(2, 5), cond["drift_px"], rng, dims=2)
    if cond["pan"]:
        spots = (sheet.centres - sheet.centre) / s
        pos += pan_path(n, fps, cond["pan_speed_px_s"], size, spots=spots, rng=rng)
    pos += ou(n, dt, rng.uniform(0.3, 0.8), cond["shake_px"], rng, dims=2)
    pos += ou(n, dt, 0.04, cond["tremor_px"], rng, dims=2)
    jolts = []
    for _ in range(cond["jolts"]):
        c, width = rng.uniform(0, n), rng.uniform(0.5, 1.5) * fps
        jolts.append([round(float(c)), round(float(width))])
        pos += (
            ou(n, dt, rng.uniform(0.12, 0.3), rng.uniform(6, 14), rng, dims=2)
            * bump(n, c, width)[:, None]
        )
    extra: dict[str, Any] = {"jolt_frames": jolts}
    # Whoever films a page holds the camera about square to it: the turn is against the page.
    angle = (
        sheet.tilt + cond["rotation_deg"] + ou(n, dt, 2.0, 0.8 if cond["pan"] else 0.4, rng)[:, 0]
    )
    angle += ou(n, dt, 0.05, 0.05, rng)[:, 0]
    zoom = cond["zoom"] * np.exp(ou(n, dt, 3.0, 0.02 if cond["pan"] else 0.01, rng)[:, 0])
    keystone = np.array([cond["perspective"], rng.uniform(-0.5, 0.5) * cond["perspective"]])
    keystone = keystone + ou(n, dt, 3.0, 0.01, rng, dims=2)
    extra["zoom_range"] = [round(float(zoom.min()), 3), round(float(zoom.max()), 3)]
    turn = angle - sheet.tilt
    extra["rotation_range_deg"] = [round(float(turn.min()), 2), round(float(turn.max()), 2)]

    # Aim at the middle of the digits, kept where the view stays inside the world.
    ww, wh = sheet.world.shape[1], sheet.world.shape[0]
    cx = sheet.centre[0] + pos[:, 0] * s / zoom
    cy = sheet.centre[1] + pos[:, 1] * s / zoom
    vw, vh = sheet.view
    half_x = (0.55 * vw + 0.05 * vh) / zoom.min()  # a few degrees of turn and keystone
    half_y = (0.55 * vh + 0.05 * vw) / zoom.min()
    cx = np.clip(cx, min(half_x, ww / 2), max(ww - half_x, ww / 2))
    cy = np.clip(cy, min(half_y, wh / 2), max(wh - half_y, wh / 2))
    homs = np.stack(
        [
            view_homography(
                np.array([cx[i], cy[i]]),
                float(angle[i]),
                float(zoom[i]),
                keystone[i],
                view=sheet.view,
                size=size,
            )
            for i in range(n)
        ]
    )

    # Motion blur: how far the scene under the frame's middle moves during the exposure.
    mid = np.array([[[w / 2, h / 2]]])
    motion = np.zeros((n, 2))
    for i in range(n):
        p = cv2.perspectiveTransform(mid, np.linalg.inv(homs[i]))
        a = cv2.perspectiveTransform(p, homs[max(i - 1, 0)])[0, 0]
        b = cv2.perspectiveTransform(p, homs[min(i + 1, n - 1)])[0, 0]
        motion[i] = (b - a) / (2 if 0 < i < n - 1 else 1)
    motion *= cond["exposure"] if cond["motion_blur"] else 0.0
    length = np.linalg.norm(motion, axis=1)
    motion *= (np.minimum(length, MAX_MOTION_PX) / np.maximum(length, 1e-9))[:, None]

    defocus = np.full(n, float(cond["defocus"]))
    hunts = []
    for _ in range(cond["focus_hunts"]):
        c, width, peak = rng.uniform(0, n), rng.uniform(0.3, 1.0) * fps, rng.uniform(1.2, 2.2)
        hunts.append([round(float(c)), round(float(width)), round(float(peak), 2)])
        defocus = np.sqrt(defocus**2 + (peak * bump(n, c, max(width, 4))) ** 2)
    extra["focus_hunt_frames"] = hunts

    exposure = rng.uniform(0.85, 1.1) * np.exp(ou(n, dt, 4.0, cond["gain_drift"], rng)[:, 0])
    wb = rng.uniform(0.94, 1.05, 3) * np.exp(ou(n, dt, 5.0, cond["wb_drift"], rng, dims=3))
    gain = exposure[:, None] * wb

    hand = np.zeros(n)
    if cond["hand"]:
        squeeze = min(1.0, n / fps / 8)  # short clips get a quicker hand
        t0 = rng.uniform(0.05, 0.45) * n
        t_in, t_stay, t_out = (
            rng.uniform(*r) * fps * squeeze for r in ((0.6, 1.5), (1.5, 5), (0.6, 1.5))
        )
        t = np.arange(n)
        hand = smoothstep((t - t0) / t_in) * (1 - smoothstep((t - t0 - t_in - t_stay) / t_out))
        extra["hand_frames"] = [
            round(t0),
            round(t0 + t_in),
            round(t0 + t_in + t_stay),
            round(t0 + t_in + t_stay + t_out),
        ]
    hand_shift = ou(n, dt, 1.0, 3.0, rng, dims=2)
    return Camera(homs, motion, defocus, gain, hand, hand_shift), extra


# ---------------------------------------------------------------------------------------------
# The hand: a palm, fingers and an arm reaching in from one side, drawn once in world pixels
# (the hand rests on the table, so the camera's motion moves it like the sheet).


@dataclass
class Hand:
    layers: F32  # (h, w, 3): alpha, skin shading, shadow, in hand-canvas pixels
    to_world: F64  # hand canvas -> world
    away: F64  # world offset (2,) that takes the hand fully out of view
    skin: F64  # BGR


def draw_hand(rng: Rng, sheet: Sheet, cam: Camera, size: tuple[int, int]) -> Hand:
    """A hand that enters the view it finds when it arrives, over the sheet."""
    w, h = size
    first = int(np.argmax(cam.hand > 0.5)) if cam.hand.max() > 0.5 else 0
    to_video = cam.homographies[first]
    # Draw at video resolution on a canvas three views wide, centred on the view it enters.
    cw, ch = 3 * w, 3 * h
    m = np.zeros((ch, cw), np.float32)
    # From one side of the view towards the digits.
    target = cv2.perspectiveTransform(np.array([[sheet.centre]]), to_video)[0, 0]
    target = np.clip(
        target + rng.normal(0, 0.1, 2) * (w, h), (0.2 * w, 0.2 * h), (0.8 * w, 0.8 * h)
    )
    size_px = min(w, h) * rng.uniform(0.2, 0.32)
    side = int(rng.integers(0, 4))
    border = np.array(
        [
            [target[0], 0.0],
            [w, target[1]],
            [target[0], h],
            [0.0, target[1]],
        ][side]
    ) + rng.normal(0, 0.1, 2) * (w, h) * (1 - side % 2, side % 2)
    dirv = target - border + rng.normal(0, 0.1 * min(w, h), 2)
    dirv /= np.linalg.norm(dirv)
    # Fingertips (about 1.2 hand sizes past the palm) stop short of the digits or reach past them.
    depth = max(0.5 * size_px, np.linalg.norm(target - border) * rng.uniform(0.5, 1.1) - size_px)
    border = border + np.array([w, h])  # canvas coordinates
    perp = np.array([-dirv[1], dirv[0]])
    palm = border + dirv * depth
    angle = math.degrees(math.atan2(dirv[1], dirv[0]))
    axes = (int(size_px * 0.6), int(size_px * 0.5))
    cv2.ellipse(m, tuple(palm.astype(int)), axes, angle, 0, 360, 1, -1)
    arm_end = palm - dirv * 3 * max(w, h)
    cv2.line(m, tuple(palm.astype(int)), tuple(arm_end.astype(int)), 1, int(size_px * 0.85))
    for i in range(int(rng.integers(3, 5))):
        off = (i - 1.5) * size_px * 0.22
        base = palm + perp * off + dirv * size_px * 0.3
        tip = base + dirv * size_px * rng.uniform(0.5, 0.9)
        cv2.line(m, tuple(base.astype(int)), tuple(tip.astype(int)), 1, max(2, int(size_px * 0.17)))
    if rng.random() < 0.7:  # a thumb to one side
        sgn = 1 if rng.random() < 0.5 else -1
        base = palm + perp * sgn * size_px * 0.45
        tip = base + (dirv * 0.5 + perp * sgn) * size_px * 0.5
        cv2.line(m, tuple(base.astype(int)), tuple(tip.astype(int)), 1, max(2, int(size_px * 0.2)))
    alpha = cv2.GaussianBlur(m, (0, 0), 1.0)
    shade = (0.75 + 0.35 * make_photos.smooth_noise((ch, cw), 6, rng)) * (
        0.85 + 0.15 * soft(m, size_px * 0.15)
    )
    light = rng.normal(0, 1, 2)
    light *= size_px * 0.12 / np.linalg.norm(light)
    move = np.array([[1, 0, light[0]], [0, 1, light[1]]], np.float32)
    shifted = np.asarray(cv2.warpAffine(m, move, (cw, ch)), np.float32)
    shadow = soft(shifted, size_px * 0.15) * rng.uniform(0.35, 0.55)
    layers = np.dstack([alpha, shade, shadow]).astype(np.float32)
    # Canvas pixel (x, y) lies where video pixel (x - w, y - h) of the entry frame looks.
    to_entry_video = np.array([[1, 0, -w], [0, 1, -h], [0, 0, 1]], np.float64)
    to_world = np.linalg.inv(to_video) @ to_entry_video
    # Out of view: back along the arm by as far as the hand reaches in.
    reach = np.linalg.norm(palm - border) + size_px * 1.6 + 4
    away_video = -dirv * reach
    mid = np.array([[[w / 2, h / 2]]])
    p0 = cv2.perspectiveTransform(mid, np.linalg.inv(to_video))[0, 0]
    p1 = cv2.perspectiveTransform(mid + away_video, np.linalg.inv(to_video))[0, 0]
    b = rng.uniform(0.3, 0.6)  # skin keeps red over green over blue
    g = b + rng.uniform(0.05, 0.15)
    skin = np.array([b, g, min(0.95, g + rng.uniform(0.1, 0.25))])
    return Hand(layers, to_world, p1 - p0, skin)


# ---------------------------------------------------------------------------------------------
# Frames and truth.


def blur_kernel(v: F64) -> F32:
    """A line kernel along ``v`` (its length in pixels), ends weighted for sub-pixel lengths."""
    length = float(np.linalg.norm(v))
    k = math.ceil(length) // 2 * 2 + 3
    kern = np.zeros((k, k), np.float32)
    c = k // 2
    xs = np.arange(k) - c
    kern[c] = np.clip(length / 2 + 0.5 - np.abs(xs), 0, 1)
    rot = cv2.getRotationMatrix2D((c, c), -math.degrees(math.atan2(v[1], v[0])), 1)
    turned = np.asarray(cv2.warpAffine(kern, rot, (k, k), flags=cv2.INTER_LINEAR), np.float32)
    out: F32 = turned / turned.sum()
    return out


def truth_boxes(sheet: Sheet, hom: F64) -> npt.NDArray[np.int64]:
    """Tight ink boxes (x, y, w, h) of every digit under one frame's homography."""
    if len(sheet.hulls) == 0:
        return np.zeros((0, 4), np.int64)
    q = cv2.perspectiveTransform(sheet.hulls, hom).reshape(-1, 2)
    lo = np.minimum.reduceat(q, sheet.splits, axis=0)
    hi = np.maximum.reduceat(q, sheet.splits, axis=0)
    x0, y0 = np.round(lo).astype(np.int64).T
    x1, y1 = np.round(hi).astype(np.int64).T + 1
    return np.stack([x0, y0, x1 - x0, y1 - y0], 1)


def frame_truth(
    sheet: Sheet,
    hom: F64,
    hand_alpha: F32 | None,
    *,
    motion: float,
    defocus: float,
    size: tuple[int, int],
) -> list[dict[str, Any]]:
    w, h = size
    out = []
    for i, (x, y, bw, bh) in enumerate(truth_boxes(sheet, hom).tolist()):
        m = EDGE_MARGIN
        if x < m or y < m or x + bw > w - m or y + bh > h - m:
            continue
        if hand_alpha is not None:
            cover = float(np.mean(hand_alpha[y : y + bh, x : x + bw] > 0.3))
            if cover >= MAX_HAND_COVER:
                continue
        if motion > MAX_MOTION_RATIO * bh or defocus > MAX_DEFOCUS_RATIO * bh:
            continue
        out.append({"label": sheet.labels[i], "box": [x, y, bw, bh], "id": i})
    return out


@dataclass
class Sensor:
    """What the camera itself adds to every frame, fixed for a clip."""

    vignette: F32  # (h, w, 1)
    gamma: float
    noise: float
    jpeg: int | None


def shoot(
    i: int, sheet: Sheet, cam: Camera, hand: Hand | None, sensor: Sensor, *, rng: Rng
) -> tuple[npt.NDArray[np.uint8], F32 | None]:
    """Frame ``i`` as the camera delivers it, and the hand's alpha in it (None: no hand)."""
    h, w = sensor.vignette.shape[:2]
    hom = cam.homographies[i]
    img = np.asarray(
        cv2.warpPerspective(
            sheet.world, hom, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101
        ),
        np.float32,
    )
    alpha: F32 | None = None
    if hand is not None and cam.hand[i] > 0:
        dx, dy = (1 - cam.hand[i]) * hand.away
        slide = np.array([[1, 0, dx], [0, 1, dy], [0, 0, 1]])
        jx, jy = cam.hand_shift[i]
        jitter = np.array([[1, 0, jx], [0, 1, jy], [0, 0, 1]])
        to_frame = jitter @ hom @ slide @ hand.to_world
        layers = np.asarray(cv2.warpPerspective(hand.layers, to_frame, (w, h)), np.float32)
        alpha, shade, shadow = layers[..., 0], layers[..., 1], layers[..., 2]
        skin = shade[..., None] * hand.skin.astype(np.float32)
        img = img * (1 - shadow[..., None]) * (1 - alpha[..., None]) + skin * alpha[..., None]
    if cam.defocus[i] > 0.3:
        img = np.asarray(cv2.GaussianBlur(img, (0, 0), float(cam.defocus[i])), np.float32)
    if np.linalg.norm(cam.motion[i]) > 1.0:
        img = np.asarray(cv2.filter2D(img, -1, blur_kernel(cam.motion[i])), np.float32)
    img = img * sensor.vignette * cam.gain[i].astype(np.float32)
    img = np.asarray(cv2.pow(np.clip(img, 0, 1), sensor.gamma), np.float32)
    noise = rng.standard_normal(img.shape, dtype=np.float32)
    img += noise * (sensor.noise * (0.5 + np.sqrt(img)))
    frame = (np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8)
    if sensor.jpeg:
        ok, data = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, sensor.jpeg])
        if not ok:
            raise RuntimeError("cannot encode a frame as JPEG")
        frame = np.asarray(cv2.imdecode(data, cv2.IMREAD_COLOR), np.uint8)
    return frame, alpha


def record(
    out: Path,
    *,
    frames: int,
    fps: float,
    size: tuple[int, int],
    seed: int,
    bank: GlyphBank,
    calm: bool = False,
    pan: bool = False,
    hand: bool = False,
) -> dict[str, Any]:
    """Write ``out`` (mp4v) and its truth beside it; returns the truth."""
    w, h = size
    cond = draw_conditions(
        np.random.default_rng([seed, 0]), frames, fps, calm=calm, pan=pan, hand=hand
    )
    sheet = render_sheet(np.random.default_rng([seed, 1]), size, bank, cond, calm)
    cam, extra = camera_path(cond, sheet, size, np.random.default_rng([seed, 2]))
    cond |= extra
    rng = np.random.default_rng([seed, 3])
    the_hand = draw_hand(rng, sheet, cam, size) if cond["hand"] else None
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    r2 = ((xx - w / 2) ** 2 + (yy - h / 2) ** 2) / (max(w, h) / 2) ** 2
    sensor = Sensor(
        vignette=(1 - rng.uniform(0, 0.3) * r2)[..., None],
        gamma=float(rng.uniform(0.85, 1.15)),
        noise=float(cond["noise"]),
        jpeg=cond["jpeg"],
    )
    cond["gamma"] = round(sensor.gamma, 3)

    out.parent.mkdir(parents=True, exist_ok=True)
    writer = cv2.VideoWriter(str(out), cv2.VideoWriter.fourcc(*"mp4v"), fps, (w, h))
    if not writer.isOpened():
        raise RuntimeError(f"cannot write {out} with the mp4v codec")
    truth_frames = []
    try:
        for i in range(frames):
            frame, alpha = shoot(i, sheet, cam, the_hand, sensor, rng=rng)
            writer.write(frame)
            motion = float(np.linalg.norm(cam.motion[i]))
            defocus = float(cam.defocus[i])
            digits = frame_truth(
                sheet, cam.homographies[i], alpha, motion=motion, defocus=defocus, size=size
            )
            truth_frames.append(
                {
                    "frame": i,
                    "digits": digits,
                    "motion": round(motion, 2),
                    "defocus": round(defocus, 2),
                    "hand": alpha is not None and bool((alpha > 0.3).any()),
                }
            )
    finally:
        writer.release()
    cond["sources"] = sorted(set(sheet.sources))
    truth = {
        "fps": int(fps) if fps == int(fps) else fps,
        "width": w,
        "height": h,
        "seed": seed,
        "split": bank.split,
        "conditions": cond,
        "frames": truth_frames,
    }
    out.with_suffix(".json").write_text(json.dumps(truth) + "\n")
    return truth


def parse_size(text: str) -> tuple[int, int]:
    w, h = (int(v) for v in text.lower().split("x"))
    return w, h


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--out", type=Path, help="the video to write (its truth goes beside it)")
    ap.add_argument("--frames", type=int, default=300)
    ap.add_argument("--fps", type=float, default=30)
    ap.add_argument("--size", default="640x480", help="WxH")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument(
        "--split",
        choices=make_photos.SPLITS,
        default="holdout",
        help="which part of the digit sets to draw from (holdout: evaluation, the default)",
    )
    ap.add_argument("--pan", action="store_true", help="always pan (digits leave and enter)")
    ap.add_argument("--hand", action="store_true", help="always have a hand reach in")
    ap.add_argument("--demo", action="store_true", help="write edgecam/data/demo.mp4 instead")
    args = ap.parse_args(argv)
    if not args.demo and args.out is None:
        ap.error("--out is required (or --demo)")
    bank = GlyphBank.load("holdout" if args.demo else args.split)
    start = time.perf_counter()
    if args.demo:
        out = DATA / "demo.mp4"
        truth = record(
            out,
            frames=DEMO_FRAMES,
            fps=DEMO_FPS,
            size=(640, 480),
            seed=DEMO_SEED,
            bank=bank,
            calm=True,
        )
    else:
        out = args.out
        truth = record(
            out,
            frames=args.frames,
            fps=args.fps,
            size=parse_size(args.size),
            seed=args.seed,
            bank=bank,
            pan=args.pan,
            hand=args.hand,
        )
    counts = [len(f["digits"]) for f in truth["frames"]]
    print(
        f"make_replay: {out} ({len(counts)} frames, {truth['conditions']['digits']} digits on "
        f"the sheet, {min(counts)}-{max(counts)} in truth per frame) "
        f"in {time.perf_counter() - start:.1f} s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

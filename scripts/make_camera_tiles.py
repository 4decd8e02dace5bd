"""Tiles from the real camera path, labelled, to train the digit network on.

Renders photos as ``make_photos.py`` does but from the *training* split of the digit sets
(``GlyphBank.load("train")``: never a held-out digit, so evaluation photos stay unseen), with
seeds far from the evaluation seeds (``--seed`` 10 000 and up; evaluation photos use 1, 2,
3, ...), passes each through JPEG as a camera would, runs ``find_candidates`` on it and matches
the candidates to the true digits one to one. Writes one ``.npz``:

* ``tiles``  uint8 (n, 28, 28), 0-255, exactly the tiles the network sees (×255);
* ``labels`` int64 (n,): the digit, or -1 for a candidate that is no digit (a letter, clutter,
  a fragment or a merge of digits, a hand's edge);
* ``photos`` int64 (n,): the photo index, to hold out whole photos for validation;
* ``kinds``  str (n,): ``digit``, ``letter``, ``part`` (overlaps a digit without matching it)
  or ``clutter``;

plus ``seed``, ``split`` and ``count`` to record how it was made::

    .venv/bin/python scripts/make_camera_tiles.py [--count 2400] [--seed 10000] [--out PATH]
    .venv/bin/python scripts/make_camera_tiles.py --videos DIR [--every 5] [--out PATH]

``--videos`` adds tiles from ``make_replay.py --split train`` recordings (seeds 50 000 and up)
to the file: video frames bring motion blur and compression that still photos lack.

The default output is ``~/.cache/edgecam/camera_tiles.npz``: a regenerable artifact, not part
of the repository. About 0.5-1 s per photo per core; ``--workers`` processes share the work.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import sys
import time
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

from edgecam.boxes import intersection, iou  # noqa: E402
from edgecam.vision.locate import find_candidates  # noqa: E402

DEFAULT_OUT = Path.home() / ".cache" / "edgecam" / "camera_tiles.npz"
DEFAULT_SEED = 10_000
# Photo sizes: webcam-sized mostly; 1280×960 (landscape or portrait) stands in for phones.
SIZES = ((640, 480), (1280, 960), (960, 1280))
SIZE_P = (0.8, 0.1, 0.1)

Box = npt.NDArray[np.int64]

_WORKER: dict[str, make_photos.GlyphBank] = {}  # each worker process's glyph bank


def same_digit(truth: Box, cand: Box) -> bool:
    """The candidate boxes the true digit: IoU ≥ 0.5, or its centre inside with a similar size."""
    if iou(truth, cand) >= 0.5:
        return True
    tx, ty, tw, th = (float(v) for v in truth)
    cx, cy, cw, ch = (float(v) for v in cand)
    mx, my = cx + cw / 2, cy + ch / 2
    inside = tx <= mx <= tx + tw and ty <= my <= ty + th
    h_ratio = ch / max(1.0, th)
    w_ratio = (cw + 2) / max(1.0, tw + 2)  # a 1 is a few pixels wide: slack for narrow boxes
    return inside and 0.75 <= h_ratio <= 1.33 and 0.6 <= w_ratio <= 1.67


def label_candidates(
    cand_boxes: Box, truth: dict[str, Any]
) -> tuple[npt.NDArray[np.int64], list[str]]:
    """Per candidate: the digit it matches one to one, -1 for none, -2 for a duplicate to drop.

    A candidate that boxes a digit already matched to a closer candidate is ambiguous (a
    second box around much the same ink), so it is neither a positive nor a negative.
    """
    tb = np.array([d["box"] for d in truth["digits"]], np.int64).reshape(-1, 4)
    tl = [int(d["label"]) for d in truth["digits"]]
    pairs = []
    for t in range(len(tb)):
        for c in range(len(cand_boxes)):
            if same_digit(tb[t], cand_boxes[c]):
                pairs.append((-iou(tb[t], cand_boxes[c]), t, c))
    pairs.sort()
    labels = np.full(len(cand_boxes), -1, np.int64)
    kinds = ["clutter"] * len(cand_boxes)
    used_t: set[int] = set()
    for _, t, c in pairs:
        if t in used_t or labels[c] >= 0:
            continue
        labels[c] = tl[t]
        kinds[c] = "digit"
        used_t.add(t)
    for _, _, c in pairs:
        if labels[c] == -1:
            labels[c] = -2
            kinds[c] = "duplicate"
    letters = [
        np.asarray(d["box"], np.int64)
        for d in truth.get("distractors", [])
        if str(d["kind"]).startswith("letter")
    ]
    for c in range(len(cand_boxes)):
        if labels[c] != -1:
            continue
        if any(intersection(t, cand_boxes[c]) > 0 for t in tb):
            kinds[c] = "part"
        elif any(iou(b, cand_boxes[c]) >= 0.3 for b in letters):
            kinds[c] = "letter"
    return labels, kinds


def _init(split: str) -> None:
    cv2.setNumThreads(1)
    _WORKER["bank"] = make_photos.GlyphBank.load(split)


def choose_size(rng: np.random.Generator) -> tuple[int, int]:
    return SIZES[int(rng.choice(len(SIZES), p=SIZE_P))]


def one_photo(
    job: tuple[int, int],
) -> tuple[int, npt.NDArray[np.uint8], npt.NDArray[np.int64], list[str], int]:
    """Render photo ``index`` of ``seed``; its kept tiles, labels, kinds and digit count."""
    seed, index = job
    rng = np.random.default_rng([seed, index])
    photo, truth = make_photos.render_photo(rng, choose_size(rng), _WORKER["bank"])
    ok, data = cv2.imencode(".jpg", photo, [cv2.IMWRITE_JPEG_QUALITY, truth["conditions"]["jpeg"]])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    image = cv2.imdecode(data, cv2.IMREAD_COLOR)
    cands = find_candidates(image)
    labels, kinds = label_candidates(cands.boxes.astype(np.int64), truth)
    keep = labels >= -1
    tiles = np.clip(np.round(cands.tiles[keep] * 255), 0, 255).astype(np.uint8)
    return (
        index,
        tiles,
        labels[keep],
        [k for k, m in zip(kinds, keep, strict=True) if m],
        len(truth["digits"]),
    )


def video_tiles(
    folder: Path, every: int
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64], npt.NDArray[np.int64], list[str], int]:
    """Tiles from every ``every``-th frame of the ``make_replay.py --split train`` recordings
    in ``folder``: motion blur, rolling focus and video compression that still photos lack.

    Frame truth lists digits only, so every other candidate (a letter, a speck, a hand's rim)
    is a non-digit; ``photos`` numbers each video's frames 1 000 000 + 1000·video + frame.
    """
    import json

    tiles: list[npt.NDArray[np.uint8]] = []
    labels: list[npt.NDArray[np.int64]] = []
    photos: list[npt.NDArray[np.int64]] = []
    kinds: list[str] = []
    digits = 0
    for v, video in enumerate(sorted(folder.glob("*.mp4"))):
        truth = json.loads(video.with_suffix(".json").read_text())
        if truth.get("split") != "train":
            raise SystemExit(f"{video}: not made with --split train (it may show test digits)")
        frames = {int(f["frame"]): f for f in truth["frames"]}
        cap = cv2.VideoCapture(str(video))
        i = 0
        while True:
            ok, image = cap.read()
            if not ok:
                break
            if i % every == 0 and i in frames:
                cands = find_candidates(image)
                lab, kind = label_candidates(cands.boxes.astype(np.int64), frames[i])
                keep = lab >= -1
                tiles.append(np.clip(np.round(cands.tiles[keep] * 255), 0, 255).astype(np.uint8))
                labels.append(lab[keep])
                photos.append(np.full(int(keep.sum()), 1_000_000 + 1000 * v + i, np.int64))
                kinds.extend(k for k, m in zip(kind, keep, strict=True) if m)
                digits += len(frames[i]["digits"])
            i += 1
    return (
        np.concatenate(tiles) if tiles else np.zeros((0, 28, 28), np.uint8),
        np.concatenate(labels) if labels else np.zeros(0, np.int64),
        np.concatenate(photos) if photos else np.zeros(0, np.int64),
        kinds,
        digits,
    )


def add_videos(args: argparse.Namespace) -> int:
    """``--videos DIR``: append tiles from recordings to an existing tile file (``--out``)."""
    t0 = time.time()
    with np.load(args.out) as data:
        old = {k: data[k] for k in data.files}
    tiles, labels, photos, kinds, digits = video_tiles(args.videos, args.every)
    np.savez_compressed(
        args.out,
        tiles=np.concatenate([old["tiles"], tiles]),
        labels=np.concatenate([old["labels"], labels]),
        photos=np.concatenate([old["photos"], photos]),
        kinds=np.concatenate([old["kinds"].astype("<U8"), np.array(kinds, dtype="<U8")]),
        seed=old["seed"],
        count=old["count"],
        truth_digits=np.int64(int(old.get("truth_digits", 0)) + digits),
        split=np.str_("train"),
        videos=np.str_(str(args.videos)),
    )
    pos = int((labels >= 0).sum())
    print(
        f"make_camera_tiles: +{len(labels)} tiles from recordings in {args.videos} "
        f"({pos} digits of {digits}, {len(labels) - pos} non-digits); wrote {args.out} "
        f"in {time.time() - t0:.0f}s"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--count", type=int, default=2400, help="photos to render")
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED, help="base seed (keep ≥ 10000)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument(
        "--append",
        action="store_true",
        help="add --count more photos (the next indices of the same seed) to an existing --out",
    )
    ap.add_argument(
        "--videos",
        type=Path,
        help="instead of rendering photos, add tiles from these make_replay.py --split train "
        "recordings to --out",
    )
    ap.add_argument("--every", type=int, default=5, help="with --videos: every N-th frame")
    args = ap.parse_args(argv)
    if args.videos is not None:
        return add_videos(args)
    if args.seed < 1000:
        print("make_camera_tiles: seeds below 1000 are for evaluation photos", file=sys.stderr)
        return 2
    t0 = time.time()
    first = 0
    old: dict[str, Any] = {}
    if args.append and args.out.is_file():
        with np.load(args.out) as data:
            old = {k: data[k] for k in data.files}
        if int(old["seed"]) != args.seed:
            print(f"make_camera_tiles: {args.out} has seed {int(old['seed'])}", file=sys.stderr)
            return 2
        first = int(old["count"])
    jobs = [(args.seed, i) for i in range(first, first + args.count)]
    results = []
    ctx = mp.get_context("fork")
    with ctx.Pool(args.workers, initializer=_init, initargs=("train",)) as pool:
        for n, res in enumerate(pool.imap_unordered(one_photo, jobs, chunksize=4), 1):
            results.append(res)
            if n % 100 == 0 or n == len(jobs):
                print(
                    f"make_camera_tiles: {n}/{len(jobs)} photos, {time.time() - t0:.0f}s",
                    flush=True,
                )
    results.sort(key=lambda r: r[0])
    tiles = np.concatenate([r[1] for r in results]) if results else np.zeros((0, 28, 28), np.uint8)
    labels = np.concatenate([r[2] for r in results]) if results else np.zeros(0, np.int64)
    photos = np.concatenate([np.full(len(r[2]), r[0], np.int64) for r in results])
    kinds = np.array([k for r in results for k in r[3]], dtype="<U8")
    truth_digits = sum(r[4] for r in results)
    if old:
        tiles = np.concatenate([old["tiles"], tiles])
        labels = np.concatenate([old["labels"], labels])
        photos = np.concatenate([old["photos"], photos])
        kinds = np.concatenate([old["kinds"].astype("<U8"), kinds])
        truth_digits += int(old.get("truth_digits", 0))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        args.out,
        tiles=tiles,
        labels=labels,
        photos=photos,
        kinds=kinds,
        seed=np.int64(args.seed),
        count=np.int64(first + args.count),
        truth_digits=np.int64(truth_digits),
        split=np.str_("train"),
    )
    pos = int((labels >= 0).sum())
    neg_kinds = {k: int((kinds == k).sum()) for k in ("letter", "part", "clutter")}
    print(
        f"make_camera_tiles: {first + args.count} photos (seed {args.seed}, split train), "
        f"{truth_digits} true digits, {pos} positive tiles ({pos / max(1, truth_digits):.1%} "
        f"found), {len(labels) - pos} negatives {neg_kinds}; per digit "
        f"{np.bincount(labels[labels >= 0], minlength=10).tolist()}; wrote {args.out} "
        f"in {time.time() - t0:.0f}s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

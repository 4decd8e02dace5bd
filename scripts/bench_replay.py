"""Throughput and latency of the live loop, against decoding alone and the tutorial loop.

All figures come from one run on this machine, so they compare like with like:

* ``decode_fps``: merely decoding the video with OpenCV (``cv2.VideoCapture.read``).
* ``replay_fps``: the whole ``edgecam replay VIDEO`` command (start-up included) — frames
  divided by the command's wall time — and its ratio to ``decode_fps``.

  Both are timed ``--rounds`` times, alternating, and each figure is the median of its
  rounds; the ratio is the median of the rounds' own ratios (``rounds`` lists them). On the
  2-core development VM decoding alone, a ~1 s burst, swung from 980 to 3,257 frames/s
  between runs of the same code, far more than the replay did, so one round's ratio said
  more about the hour than about the code.
* ``tutorial_fps``: the loop most people write first — OpenCV capture, Otsu threshold,
  contours, one Keras ``model.predict`` per digit — on the first ``--tutorial-frames``
  frames, and the replay's speed-up over it.
* ``paced``: ``edgecam replay --realtime`` at the file's own rate (30 fps): capture-to-result
  latency p50/p99 per stage, from the command's summary.

::

    .venv/bin/python scripts/bench_replay.py [--video V.mp4] [--frames 1500] [--rounds 3]

Without ``--video`` a 640×480 recording is made with ``make_replay.py`` (and cached in /tmp).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
EDGECAM = str(Path(sys.executable).parent / "edgecam")


def ensure_video(video: str | None, frames: int = 1500, seed: int = 11) -> Path:
    """``video``, or the bench recording made with ``make_replay.py`` and cached in /tmp."""
    if video:
        return Path(video)
    out = Path(f"/tmp/edgecam-bench/replay_{frames}_{seed}.mp4")
    if not out.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                sys.executable,
                str(ROOT / "scripts" / "make_replay.py"),
                *("--out", str(out), "--frames", str(frames), "--seed", str(seed)),
                *("--size", "640x480"),
            ],
            check=True,
        )
    return out


def decode_fps(video: Path) -> tuple[float, int]:
    cap = cv2.VideoCapture(str(video))
    t0 = time.perf_counter()
    n = 0
    while True:
        ok, _ = cap.read()
        if not ok:
            break
        n += 1
    return n / (time.perf_counter() - t0), n


def replay(video: Path | str, *extra: str) -> tuple[dict[str, Any], float]:
    """The command's summary line and its wall time, start-up included."""
    t0 = time.perf_counter()
    done = subprocess.run(
        [EDGECAM, "replay", str(video), *extra], capture_output=True, text=True, check=True
    )
    wall = time.perf_counter() - t0
    return json.loads(done.stdout.strip().splitlines()[-1]), wall


def tutorial_fps(video: Path, frames: int) -> float:
    """The first loop everyone writes: contours and one ``model.predict`` per digit."""
    import keras

    model = keras.models.load_model(ROOT / "models" / "digits" / "model.keras")
    cap = cv2.VideoCapture(str(video))
    t0 = time.perf_counter()
    n = 0
    while n < frames:
        ok, frame = cap.read()
        if not ok:
            break
        grey = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        _, binary = cv2.threshold(grey, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
        contours, _ = cv2.findContours(binary, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        for c in contours:
            x, y, w, h = cv2.boundingRect(c)
            if h < 15 or h > 300 or w > 300:
                continue
            digit = cv2.resize(binary[y : y + h, x : x + w], (28, 28)).astype(np.float32) / 255
            model.predict(digit[None], verbose=0)
        n += 1
    return n / (time.perf_counter() - t0)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--video", help="a 640×480 recording (default: make one)")
    ap.add_argument("--frames", type=int, default=1500)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--tutorial-frames", type=int, default=30)
    ap.add_argument("--paced-frames", type=int, default=600, help="frames of the paced run")
    ap.add_argument("--rounds", type=int, default=3, help="alternating decode/replay rounds")
    args = ap.parse_args(argv)
    video = ensure_video(args.video, args.frames, args.seed)
    replay(video, "--max-frames", "5")  # warm the file cache and the model's pages
    rounds = []
    for _ in range(max(1, args.rounds)):
        dec, n = decode_fps(video)
        summary, wall = replay(video)
        fps = summary["frames"] / wall
        rounds.append((dec, fps, fps / dec, summary))
    summary = sorted(rounds, key=lambda r: r[2])[len(rounds) // 2][3]  # the median round's
    report: dict[str, Any] = {
        "video": str(video),
        "frames": n,
        "decode_fps": round(statistics.median(r[0] for r in rounds), 1),
        "replay_fps": round(statistics.median(r[1] for r in rounds), 1),
        "replay_vs_decode": round(statistics.median(r[2] for r in rounds), 3),
        "rounds": [[round(d, 1), round(f, 1), round(q, 3)] for d, f, q, _ in rounds],
        "replay_processing_fps": summary["fps"],
        "keyframes": summary["keyframes"],
        "keyframe_reasons": summary["keyframe_reasons"],
    }
    tut = tutorial_fps(video, args.tutorial_frames)
    report["tutorial_fps"] = round(tut, 2)
    report["replay_vs_tutorial"] = round(report["replay_fps"] / tut, 1)
    paced, _ = replay(video, "--realtime", "--max-frames", str(args.paced_frames))
    report["paced"] = {
        "frames": paced["frames"],
        "fps": paced["fps"],
        "latency_ms": paced["latency_ms"],
    }
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Time `edgecam classify` the way a user feels it: warm per-picture time and time to first result.

Prints one JSON line. Warm time covers decoding the file, locating, normalising and classifying
(everything `classify` does per picture); first-result time is wall time from starting the
`edgecam` process to its first line on stdout, cold interpreter included.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from edgecam.backends import load_backend
from edgecam.classify import load_image
from edgecam.runtime import tune_for_frames
from edgecam.vision.reader import DigitReader

ROOT = Path(__file__).resolve().parent.parent

DEMO = ROOT / "edgecam" / "data" / "demo.jpg"


def warm_ms(image_path: Path, runs: int) -> tuple[list[float], int]:
    tune_for_frames(0)  # as `edgecam classify` sets the process up (cli._classify)
    reader = DigitReader(load_backend("litert", threads=1))
    digits = len(reader.read(load_image(image_path)).detections)
    for _ in range(10):
        reader.read(load_image(image_path))
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        reader.read(load_image(image_path))
        times.append((time.perf_counter() - t0) * 1e3)
    return times, digits


def first_result_s(image_path: Path, runs: int) -> list[float]:
    exe = Path(sys.executable).parent / "edgecam"
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            [str(exe), "classify", "--json", str(image_path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=os.environ,
        )
        assert proc.stdout is not None
        proc.stdout.readline()
        out.append(time.perf_counter() - t0)
        proc.wait()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--image", type=Path, default=DEMO, help="a 640×480 photo (default: demo)")
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--starts", type=int, default=5)
    args = parser.parse_args()
    times, digits = warm_ms(args.image, args.runs)
    starts = first_result_s(args.image, args.starts)
    times.sort()
    print(
        json.dumps(
            {
                "image": str(args.image),
                "digits": digits,
                "warm_ms_median": round(statistics.median(times), 2),
                "warm_ms_p95": round(times[int(0.95 * (len(times) - 1))], 2),
                "first_result_s_median": round(statistics.median(starts), 3),
                "first_result_s_max": round(max(starts), 3),
            }
        )
    )


if __name__ == "__main__":
    main()

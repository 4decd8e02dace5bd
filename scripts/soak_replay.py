"""Memory over a long looping replay: the daemon's RSS sampled while it reads a video on repeat.

Runs ``edgecam run`` with a config that loops the video as fast as it can be read (the most
frames, so the most chances to leak), results written to /dev/null, and samples the process's
resident memory every few seconds. Prints one JSON line: RSS at start (after the first
sample), at the end, its maximum, and the growth over the second half of the run::

    .venv/bin/python scripts/soak_replay.py [--video V.mp4] [--minutes 10]
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EDGECAM = str(Path(sys.executable).parent / "edgecam")


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--video", default=str(ROOT / "edgecam" / "data" / "demo.mp4"))
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--every", type=float, default=5.0, help="seconds between samples")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "soak.toml"
        config.write_text(
            f'[camera]\nsource = "{args.video}"\nloop = true\nrealtime = false\n\n'
            '[results]\njsonl = "/dev/null"\n\n[log]\nlevel = "warning"\n'
        )
        proc = subprocess.Popen([EDGECAM, "run", "--config", str(config), "--no-display"])
        samples: list[tuple[float, float]] = []
        t0 = time.monotonic()
        try:
            while time.monotonic() - t0 < args.minutes * 60 and proc.poll() is None:
                time.sleep(args.every)
                samples.append((time.monotonic() - t0, rss_mib(proc.pid)))
        finally:
            proc.send_signal(signal.SIGTERM)
            rc = proc.wait(timeout=10)
    if len(samples) < 4:
        print(json.dumps({"error": f"daemon ended early (exit {rc})"}))
        return 1
    half = [mib for t, mib in samples if t >= samples[-1][0] / 2]
    print(
        json.dumps(
            {
                "minutes": round(samples[-1][0] / 60, 2),
                "rss_start_mib": round(samples[0][1], 1),
                "rss_end_mib": round(samples[-1][1], 1),
                "rss_max_mib": round(max(m for _, m in samples), 1),
                "second_half_growth_mib": round(half[-1] - half[0], 1),
                # the curve: the last sample of each minute
                "rss_by_minute_mib": [
                    round(mib, 1)
                    for i, (t, mib) in enumerate(samples)
                    if i + 1 == len(samples) or int(samples[i + 1][0] // 60) > int(t // 60)
                ],
                "samples": len(samples),
                "exit": rc,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

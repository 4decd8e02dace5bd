"""Decoding speed of a recording through GStreamer against OpenCV, both as edgecam sources.

Both read every frame of the same file into BGR numpy frames through edgecam's own
``Source.read()`` — ``VideoFileSource`` (OpenCV's FFmpeg) and ``GstSource`` (``file://``:
decodebin, the decoder's own I420 handed over and converted by OpenCV) — in alternating
rounds, best round kept, so a neighbour's load hurts both alike, with the process settings
``edgecam replay`` uses (``edgecam/runtime.py``). Two codecs: the bench video
as ``make_replay.py`` writes it (MPEG-4 part 2, OpenCV's ``mp4v``) and the same frames
re-encoded to H.264 with x264 (what cameras and most recordings carry).

::

    .venv/bin/python scripts/bench_gst.py [--video V.mp4] [--rounds 3]

Without ``--video`` the 1,500-frame 640×480 video of ``bench_replay.py`` is used (made with
``make_replay.py`` and cached in /tmp when missing). Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from edgecam.runtime import tune_for_frames  # noqa: E402
from edgecam.sources import gst  # noqa: E402
from edgecam.sources.base import CaptureOptions, Source  # noqa: E402
from edgecam.sources.launch import file_launch  # noqa: E402
from edgecam.sources.video import VideoFileSource  # noqa: E402


def ensure_video(video: str | None) -> Path:
    if video:
        return Path(video)
    out = Path("/tmp/edgecam-bench/replay_1500_11.mp4")
    if not out.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                sys.executable,
                str(ROOT / "scripts" / "make_replay.py"),
                *("--out", str(out), "--frames", "1500", "--seed", "11", "--size", "640x480"),
            ],
            check=True,
        )
    return out


def to_h264(video: Path) -> Path:
    """The same frames as H.264 in MP4 (x264, a keyframe a second, as a camera records)."""
    out = video.with_name(video.stem + "_h264.mp4")
    if not out.exists():
        subprocess.run(
            [
                "gst-launch-1.0",
                "-q",
                *("filesrc", f"location={video}", "!", "decodebin", "!", "videoconvert", "!"),
                *("x264enc", "speed-preset=fast", "key-int-max=30", "bitrate=2000", "!"),
                *("h264parse", "!", "mp4mux", "!", "filesink", f"location={out}"),
            ],
            check=True,
        )
    return out


def rate(source: Source) -> tuple[float, int]:
    t0 = time.perf_counter()
    n = 0
    try:
        while source.read() is not None:
            n += 1
    finally:
        source.close()
    return n / (time.perf_counter() - t0), n


def gst_source(video: Path) -> Source:
    launch = file_launch(str(video), CaptureOptions(), gst.available_elements())
    return gst.GstSource(launch, name=str(video), live=False)


def compare(video: Path, rounds: int) -> dict[str, Any]:
    best = {"opencv": 0.0, "gstreamer": 0.0}
    frames = {}
    for _ in range(rounds):
        for name, make in (("opencv", VideoFileSource), ("gstreamer", gst_source)):
            fps, n = rate(make(video))
            best[name] = max(best[name], fps)
            frames[name] = n
    if frames["opencv"] != frames["gstreamer"]:
        raise SystemExit(f"frame counts differ: {frames}")
    return {
        "frames": frames["opencv"],
        "opencv_fps": round(best["opencv"]),
        "gstreamer_fps": round(best["gstreamer"]),
        "ratio": round(best["gstreamer"] / best["opencv"], 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--video", help="the recording to decode (default: the bench video)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds; best kept")
    args = parser.parse_args(argv)
    reason = gst.unavailable()
    if reason is not None:
        print(f"bench_gst: GStreamer unavailable ({reason}): run scripts/setup.sh as root")
        return 2
    video = ensure_video(args.video)
    tune_for_frames(1)  # as `edgecam replay` runs: freed frames reused, one OpenCV thread
    report = {
        "gstreamer": gst.version(),
        "mpeg4": compare(video, args.rounds),
        "h264": compare(to_h264(video), args.rounds),
    }
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())

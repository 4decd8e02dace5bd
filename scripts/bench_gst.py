"""A recording through GStreamer against OpenCV, both as edgecam opens them: decoding alone,
and the whole ``edgecam replay``.

Decoding: every frame of the same file read into BGR numpy frames through edgecam's own
sources — the bare path (``VideoFileSource``: OpenCV's FFmpeg) and ``file://`` (``GstSource``:
decodebin, the decoder's own I420 converted by OpenCV, the software decoder's threads as a
replay sets them) — in alternating rounds, best round kept, with the process settings
``edgecam replay`` uses (``edgecam/runtime.py``). Replay: the whole ``edgecam replay`` command,
start-up included, on the bare path and on ``file://``, alternating, median of the rounds'
ratios. Two codecs: the bench video as ``make_replay.py`` writes it (MPEG-4 part 2, OpenCV's
``mp4v``) and the same frames re-encoded to H.264 with x264 (what cameras and most recordings
carry).

::

    .venv/bin/python scripts/bench_gst.py [--video V.mp4] [--rounds 3] [--replay-rounds 5]

Without ``--video`` the 1,500-frame 640×480 video of ``bench_replay.py`` is used (made with
``make_replay.py`` and cached in /tmp when missing). Prints one JSON object.
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

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench_replay import ensure_video, replay  # noqa: E402 - a sibling script (on the path)

from edgecam.runtime import tune_for_frames  # noqa: E402
from edgecam.sources import gst, gstlib, open_source  # noqa: E402
from edgecam.sources.base import Source, replay_decoder_threads  # noqa: E402


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


def source_uris(video: Path) -> dict[str, str]:
    """The same file as edgecam reads it through OpenCV (a bare path) and GStreamer."""
    return {"opencv": str(video), "gstreamer": video.resolve().as_uri()}


def compare(video: Path, rounds: int) -> dict[str, Any]:
    """Decoding alone: frames/s of each source's ``read()``, best of the alternating rounds."""
    uris = source_uris(video)
    best = {"opencv": 0.0, "gstreamer": 0.0}
    frames = {}
    for _ in range(rounds):
        for name, uri in uris.items():
            fps, n = rate(open_source(uri))
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


def compare_replay(video: Path, rounds: int) -> dict[str, Any]:
    """The whole replay command, alternating which goes first; speed = OpenCV's time over
    GStreamer's, per round, median kept (one round's neighbour load hits both alike)."""
    uris = source_uris(video)
    times: dict[str, list[float]] = {"opencv": [], "gstreamer": []}
    for r in range(rounds):
        for name in ("opencv", "gstreamer") if r % 2 == 0 else ("gstreamer", "opencv"):
            times[name].append(replay(uris[name], "--results", "/dev/null")[1])
    ratios = [o / g for o, g in zip(times["opencv"], times["gstreamer"], strict=True)]
    return {
        "opencv_s": [round(t, 2) for t in times["opencv"]],
        "gstreamer_s": [round(t, 2) for t in times["gstreamer"]],
        "ratio": round(statistics.median(ratios), 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--video", help="the recording to decode (default: the bench video)")
    parser.add_argument("--rounds", type=int, default=3, help="decoding rounds; best kept")
    parser.add_argument(
        "--replay-rounds", type=int, default=5, help="whole-replay rounds; median ratio kept"
    )
    args = parser.parse_args(argv)
    reason = gstlib.unavailable()
    if reason is not None:
        print(f"bench_gst: GStreamer unavailable ({reason}): run scripts/setup.sh as root")
        return 2
    video = ensure_video(args.video)
    tune_for_frames(1)  # as `edgecam replay` runs: freed frames reused, one OpenCV thread
    h264 = to_h264(video)
    report = {
        "gstreamer": gst.version(),
        "replay_decoder_threads": replay_decoder_threads(),
        "mpeg4": compare(video, args.rounds),
        "h264": compare(h264, args.rounds),
        "replay_mpeg4": compare_replay(video, args.replay_rounds),
        "replay_h264": compare_replay(h264, args.replay_rounds),
    }
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())

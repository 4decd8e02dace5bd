"""The ``edgecam`` command: subcommands parse arguments and call the modules that do the work."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from edgecam import __version__
from edgecam.errors import UserError, fault_line

log = logging.getLogger("edgecam")


class UsageError(UserError):
    """A problem with what the user asked for; printed as one line, exit status 2."""


def _add_backend_args(parser: argparse.ArgumentParser, *, defaults: bool = True) -> None:
    """Backend flags; without ``defaults`` an absent flag is ``None`` so the config decides."""
    parser.add_argument(
        "--backend",
        default="litert" if defaults else None,
        help="inference runtime: litert (default), keras or tensorrt (falls back to litert)",
    )
    parser.add_argument(
        "--model",
        type=Path,
        default=None,
        help="model file or folder (default: models/digits or $EDGECAM_MODEL_DIR)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=1 if defaults else None,
        help="CPU threads for the runtime (default 1)",
    )


def _add_live_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--display",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="show the overlay window (q or closing it stops)",
    )
    parser.add_argument("--save-overlay", type=Path, metavar="OUT", help="record the overlay video")
    parser.add_argument(
        "--keyframe-interval",
        type=int,
        metavar="N",
        help="most frames between full reads of a steady view (1: read every frame)",
    )
    parser.add_argument(
        "--mqtt",
        metavar="URL",
        help="publish results to this broker: mqtt[s]://[user@]host[:port] (the password only "
        "from the config's mqtt.password_file or password_credential)",
    )
    parser.add_argument(
        "--http",
        metavar="[HOST:]PORT",
        help="serve the live page, /metrics and /healthz on PORT (127.0.0.1 unless HOST is "
        "given; 0.0.0.0 for every interface, with a token in the config)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="edgecam", description="Read handwritten digits through a camera, on the edge."
    )
    parser.add_argument("--version", action="version", version=f"edgecam {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug detail")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("classify", help="read the digits in pictures")
    p.add_argument("images", nargs="+", type=Path, metavar="IMAGE")
    p.add_argument("--json", action="store_true", help="one JSON object per picture")
    _add_backend_args(p)

    p = sub.add_parser("evaluate", help="accuracy of a backend on an MNIST-format test set")
    p.add_argument("--mnist", type=Path, required=True, metavar="DIR", help="folder of IDX files")
    p.add_argument("--batch", type=int, default=256, help="digits per backend call")
    _add_backend_args(p)

    p = sub.add_parser(
        "run",
        help="run the daemon (default: the bundled demo recording, as a live camera)",
        description="Read digits from a camera or video until stopped. With no config, plays "
        "the bundled demo recording as a live camera, with the overlay window when a display "
        "exists and results on stdout.",
    )
    p.add_argument("--config", type=Path, help="TOML config (see systemd/edgecam.toml)")
    p.add_argument(
        "--source",
        metavar="URI",
        help="demo, synthetic[:DIGITS], a video path, file://, v4l2:///dev/videoN, csi://N, "
        "rtsp://, test://PATTERN or gst:LAUNCH ! appsink (edgecam sources lists cameras)",
    )
    p.add_argument("--width", type=int, metavar="PX", help="frame width to ask of the camera")
    p.add_argument("--height", type=int, metavar="PX", help="frame height to ask of the camera")
    p.add_argument("--fps", type=float, help="frame rate to ask of the camera")
    p.add_argument(
        "--flip",
        metavar="HOW",
        help="turn the picture: clockwise, counterclockwise, rotate-180, horizontal, vertical, "
        "upper-left-diagonal, upper-right-diagonal",
    )
    _add_live_args(p)
    p.add_argument("--results", metavar="PATH|-", help="JSON lines of results: a file or -")
    p.add_argument("--max-frames", type=int, metavar="N", help="stop after N frames")
    _add_backend_args(p, defaults=False)

    p = sub.add_parser(
        "replay",
        help="read every frame of a recorded video, with a summary (and a score with --truth)",
    )
    # A path or a source URI as written: a Path would fold file:// and rtsp:// to one slash.
    p.add_argument("video", metavar="VIDEO")
    p.add_argument("--config", type=Path, help="TOML config (its camera.source is ignored)")
    p.add_argument("--results", metavar="PATH|-", help="JSON line per frame: a file or -")
    p.add_argument("--truth", type=Path, metavar="TRUTH.json", help="score against this truth")
    p.add_argument("--realtime", action="store_true", help="pace at the file's own frame rate")
    p.add_argument("--max-frames", type=int, metavar="N", help="stop after N frames")
    _add_live_args(p)
    _add_backend_args(p, defaults=False)

    p = sub.add_parser("sources", help="list the cameras on this machine, as --source URIs")
    p.add_argument("--json", action="store_true", help="one JSON object per camera")

    p = sub.add_parser(
        "doctor", help="what this machine offers: GStreamer, elements, cameras, backends, jtop"
    )
    p.add_argument("--json", action="store_true", help="the report as one JSON object")

    p = sub.add_parser("config", help="check a config file")
    csub = p.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    c = csub.add_parser("check", help="validate FILE (for systemd ExecStartPre=)")
    c.add_argument("file", type=Path, metavar="FILE")
    return parser


def _reader(args: argparse.Namespace) -> Any:
    from edgecam.backends import load_backend
    from edgecam.vision.reader import DigitReader

    return DigitReader(load_backend(args.backend, model=args.model, threads=args.threads))


def _format_line(record: dict[str, Any]) -> str:
    if "error" in record:
        return f"{record['source']}: error: {record['error']}"
    dets = record["detections"]
    low = min((d["confidence"] for d in dets), default=1.0)
    return (
        f"{record['source']}: {record['text'] or '(no digits)'}"
        f"  [{len(dets)} digits, {record['width']}×{record['height']}, lowest confidence {low:.2f}]"
    )


def _classify(images: Sequence[Path], as_json: bool, args: argparse.Namespace) -> int:
    from edgecam.classify import classify_paths
    from edgecam.runtime import tune_for_frames

    # Pictures come back to back (no idle gap to wake a pool from), and a 12 MP photo's
    # shrinking uses every core: OpenCV keeps its pool here (20 vs 27 ms a photo).
    tune_for_frames(0)
    failed = 0
    for record in classify_paths(images, _reader(args)):
        failed += "error" in record
        line = json.dumps(record) if as_json else _format_line(record)
        print(line, flush=True)
    return 1 if failed else 0


def _evaluate(args: argparse.Namespace) -> int:
    from edgecam.backends import load_backend
    from edgecam.evaluate import evaluate_mnist

    if args.batch < 1:
        raise UsageError(f"--batch must be at least 1, got {args.batch}")
    backend = load_backend(args.backend, model=args.model, threads=args.threads)
    report = evaluate_mnist(backend, args.mnist, batch=args.batch)
    print(json.dumps(report), flush=True)
    return 0


def _sources(as_json: bool) -> int:
    from edgecam.sources.devices import list_cameras
    from edgecam.sources.gst import available_elements

    csi = "nvarguscamerasrc" in available_elements(["nvarguscamerasrc"])
    cameras = list_cameras(csi=csi)
    for camera in cameras:
        if as_json:
            print(json.dumps({"uri": camera.uri, "name": camera.name, "device": camera.device}))
        else:
            print(f"{camera.uri}\t{camera.name}")
    if not cameras:
        log.info("no cameras found (none in /sys/class/video4linux); test://smpte needs none")
    return 0


def _doctor(as_json: bool) -> int:
    from edgecam.doctor import format_report, gather

    report = gather()
    print(json.dumps(report) if as_json else format_report(report), flush=True)
    return 0


def _preload(uri: str) -> None:
    """On a helper thread: GStreamer loaded while the daemon's own modules import."""
    from edgecam.sources import preload, redact

    try:
        preload(uri)
    except Exception as exc:  # opening the source reports whatever went wrong here
        logging.getLogger(__name__).debug("preloading capture for %s: %s", redact(uri), exc)


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "classify":
        return _classify(args.images, args.json, args)
    if args.command == "evaluate":
        return _evaluate(args)
    if args.command in ("sources", "doctor"):
        return _sources(args.json) if args.command == "sources" else _doctor(args.json)
    if args.command == "config":
        from edgecam.config import check_file

        print(check_file(args.file), flush=True)
        return 0
    uri = args.video if args.command == "replay" else args.source
    if uri is not None:
        threading.Thread(
            target=_preload, args=(str(uri),), name="edgecam-preload", daemon=True
        ).start()
    from edgecam.live import replay, run

    if args.command == "replay":
        return replay(args)
    return run(args)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        # Bare `edgecam` is the daemon on its embedded default.
        args = parser.parse_args([*(argv if argv is not None else sys.argv[1:]), "run"])
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="edgecam: %(levelname)s: %(message)s",
        stream=sys.stderr,
    )
    if not args.verbose:
        # OpenCV and FFmpeg inside it print their own complaints about a bad file to stderr
        # ("moov atom not found", an image decoder's parse error while OpenCV probes its
        # backends), beside edgecam's one-line error that names the file and the fix; they
        # are for --verbose. Both are read at their first use; values the user set are kept.
        os.environ.setdefault("OPENCV_LOG_LEVEL", "OFF")
        os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # AV_LOG_QUIET
    # numpy's and OpenCV's bundled OpenBLAS each start a thread per core that spins while it
    # waits for work. edgecam does no large matrix products (the network runs in its backend's
    # own thread pool), so those threads only burn CPU: ~0.12 s of a 2-core board's start-up.
    # Read when numpy or cv2 first loads, which is after this; a value the user set is kept.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    try:
        return _dispatch(args)
    except UserError as exc:
        print(f"edgecam: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `edgecam classify ... | head` closing early is not an error.
        return 0
    except Exception as exc:  # a fault in edgecam itself: one line; the traceback on --verbose
        log.debug("internal fault", exc_info=exc)
        print(
            f"edgecam: error: an internal fault ({fault_line(exc)}); please "
            "report it with the command and its --verbose output",
            file=sys.stderr,
        )
        return 70  # EX_SOFTWARE


if __name__ == "__main__":
    sys.exit(main())

"""The ``edgecam`` command: subcommands parse arguments and call the modules that do the work."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from edgecam import __version__

log = logging.getLogger("edgecam")

DEMO_PHOTO = Path(__file__).resolve().parent / "data" / "demo.jpg"


class UsageError(Exception):
    """A problem with what the user asked for; printed as one line, exit status 2."""


def _add_backend_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--backend",
        default="litert",
        help="inference runtime: litert (default), keras or tensorrt (falls back to litert)",
    )
    parser.add_argument(
        "--model",
        type=Path,
        default=None,
        help="model file or folder (default: models/digits or $EDGECAM_MODEL_DIR)",
    )
    parser.add_argument(
        "--threads", type=int, default=1, help="CPU threads for the runtime (default 1)"
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

    p = sub.add_parser("run", help="run the daemon (for now: read the bundled demo photo)")
    p.add_argument(
        "--source", type=Path, default=DEMO_PHOTO, help="picture to read (default: the demo)"
    )
    p.add_argument("--json", action="store_true", help="one JSON object per picture")
    _add_backend_args(p)
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


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "classify":
        return _classify(args.images, args.json, args)
    if args.command == "evaluate":
        return _evaluate(args)
    return _classify([args.source], args.json, args)


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
    from edgecam.backends.base import BackendError
    from edgecam.datasets import DatasetError

    try:
        return _dispatch(args)
    except (BackendError, DatasetError, UsageError) as exc:
        print(f"edgecam: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `edgecam classify ... | head` closing early is not an error.
        return 0


if __name__ == "__main__":
    sys.exit(main())

"""The ``run`` and ``replay`` commands: config + flags → pipeline, signals, the summary line."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any

from edgecam.app import Extras, build_pipeline
from edgecam.config import Config, apply_overrides, load_config
from edgecam.pipeline import Pipeline
from edgecam.runtime import freeze_startup_objects, tune_for_frames
from edgecam.sources import redact

log = logging.getLogger(__name__)


def _overrides(args: argparse.Namespace) -> dict[str, object]:
    """Dotted config keys for the flags the user gave (absent flags leave the config be)."""
    flags = {
        "backend.name": args.backend,
        "backend.model": args.model,
        "backend.threads": args.threads,
        "display.window": args.display,
        "display.save_overlay": args.save_overlay,
        "pipeline.keyframe_interval": args.keyframe_interval,
        "pipeline.max_frames": args.max_frames,
        "results.jsonl": args.results,
        "mqtt.url": args.mqtt,
    }
    given = {k: (str(v) if isinstance(v, Path) else v) for k, v in flags.items() if v is not None}
    if args.http is not None:
        from edgecam.sinks.http import parse_listen

        host, given["http.port"] = parse_listen(args.http)
        if host is not None:
            given["http.host"] = host
    return given


def display_exists() -> bool:
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


@contextmanager
def stop_on_signals(pipeline: Pipeline) -> Iterator[None]:
    """SIGINT and SIGTERM only ask the pipeline to stop; it finishes the frame in hand,
    flushes its sinks and returns within its shutdown bound."""

    def handler(signum: int, _frame: FrameType | None) -> None:
        if not pipeline.stop.is_set():
            log.info("%s: stopping", signal.Signals(signum).name)
        pipeline.stop.set()

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


def _configure(args: argparse.Namespace, extra: dict[str, object]) -> Config:
    config = load_config(args.config) if args.config else Config()
    overrides = {**extra, **_overrides(args)}
    if overrides:
        config = apply_overrides(config, overrides)
    logging.getLogger().setLevel(
        logging.DEBUG if getattr(args, "verbose", False) else config.log.level.upper()
    )
    tune_for_frames(config.pipeline.vision_threads)
    return config


def run(args: argparse.Namespace) -> int:
    """The daemon: a camera (or the looping demo) until stopped."""
    extra: dict[str, object] = {}
    if args.source is not None:
        extra["camera.source"] = args.source
    for key in ("width", "height", "fps", "flip"):
        if getattr(args, key) is not None:
            extra[f"camera.{key}"] = getattr(args, key)
    if args.config is None:
        # The embedded default: the demo as a live camera, a window if a screen exists,
        # results on stdout.
        extra.setdefault("display.window", display_exists())
    config = _configure(args, extra)
    pipeline = build_pipeline(config)
    freeze_startup_objects()
    with stop_on_signals(pipeline):
        stats = pipeline.run()
    summary = pipeline.summary()
    log.info(
        "stopped after %d frames (%.1f fps, %d dropped)",
        stats.processed,
        summary["fps"],
        stats.dropped,
    )
    return 1 if stats.source_error else 0


def replay(args: argparse.Namespace) -> int:
    """Every frame of a recording, then one JSON summary line (with a score given truth)."""
    from edgecam.evaluate import TruthScorer, load_video_truth

    started = time.monotonic()
    extra: dict[str, object] = {
        "camera.source": str(args.video),
        "camera.loop": False,
        "camera.realtime": bool(args.realtime),
        "results.jsonl": "",  # only what --results asks for
    }
    if args.display is None:
        extra["display.window"] = False
    config = _configure(args, extra)
    scorer = TruthScorer(load_video_truth(args.truth)) if args.truth else None
    pipeline = build_pipeline(config, Extras(sinks=[scorer] if scorer else [], live=False))
    freeze_startup_objects()
    with stop_on_signals(pipeline):
        stats = pipeline.run()
    summary: dict[str, Any] = {"video": redact(str(args.video)), **pipeline.summary()}
    summary["wall_s"] = round(time.monotonic() - started, 3)
    if scorer is not None:
        summary["score"] = scorer.report()
    print(json.dumps(summary), file=sys.stdout, flush=True)
    return 1 if stats.source_error else 0

"""The one factory: builds a ready pipeline from a validated config, and nothing else does.

Constructors across the package take ready collaborators; this module is the only place that
knows which concrete source, backend and sinks a config names (STYLE: no globals).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from edgecam.config import Config
from edgecam.pipeline import Pipeline
from edgecam.processor import FrameProcessor
from edgecam.sinks.base import Sink
from edgecam.sources import open_source, redact
from edgecam.sources.base import Source, SourceError, check_frame_size
from edgecam.tracking import Tracker
from edgecam.vision.motion import MotionParams

if TYPE_CHECKING:
    from edgecam.telemetry import Telemetry

log = logging.getLogger(__name__)


@dataclass
class Extras:
    """Sinks a command adds beyond the config's own (a replay's truth scorer)."""

    sinks: list[Sink] = field(default_factory=list)
    live: bool | None = None  # force the drop policy: None = the source's own


def build_pipeline(config: Config, extras: Extras | None = None) -> Pipeline:
    """Source, backend, reader, tracker and sinks as the config says, wired together.

    Everything that can fail on bad input (a missing video, model or display; an unwritable
    results file) fails here with a one-line error, before a frame is read; what was already
    opened is closed again.
    """
    from edgecam.backends import load_backend
    from edgecam.backends.second import SecondOpinion
    from edgecam.vision.locate import DEFAULT_PARAMS
    from edgecam.vision.reader import DigitReader

    extras = extras or Extras()
    cam = config.camera
    opening = _beside(
        lambda: open_source(
            cam.source,
            camera_id=cam.id,
            realtime=cam.realtime,
            loop=cam.loop,
            live=extras.live,
            options=cam.capture_options(),
            recovery=cam.recovery(),
        )
    )
    try:
        backend = load_backend(
            config.backend.name,
            model=config.backend.model,
            threads=config.backend.threads,
        )
        reader = DigitReader(
            backend,
            min_confidence=config.reader.min_confidence,
            min_margin=config.reader.min_margin,
            params=replace(DEFAULT_PARAMS, work_long=config.reader.work_long),
        )
        tracker = Tracker(
            iou=config.tracking.iou,
            max_missed=config.tracking.max_missed,
            votes=config.tracking.votes,
        )
        motion = MotionParams(
            keyframe_interval=config.pipeline.keyframe_interval,
            max_interval=config.pipeline.max_keyframe_interval,
            change_threshold=config.pipeline.change_threshold,
        )
        processor = FrameProcessor(
            reader,
            camera=cam.id,
            tracker=tracker,
            motion=motion,
            full_read_frames=config.pipeline.full_read_frames,
        )
        source = opening.result()
    except BaseException:
        opening.add_done_callback(_close_opened)  # the source may still be on its way
        raise
    try:
        check_frame_size(f"source {redact(cam.source)}", source.width, source.height)
    except SourceError:
        source.close()
        raise
    sinks: list[Sink] = []
    try:
        telemetry = _add_config_sinks(sinks, config, source.fps)
    except Exception:
        for s in sinks:
            s.close()
        source.close()
        raise
    sinks.extend(extras.sinks)
    log.info(
        "camera %s: %s (%s, %s), backend %s, sinks %s",
        cam.id,
        redact(cam.source),
        f"{source.width}x{source.height}" if source.width else "size from its first frame",
        "live: freshest frame" if source.live else "every frame",
        f"{backend.name} with a second network"
        if isinstance(backend, SecondOpinion)
        else backend.name,
        ", ".join(s.name for s in sinks if s.name != "telemetry") or "none",
    )
    return Pipeline(
        source, processor, sinks, max_frames=config.pipeline.max_frames, telemetry=telemetry
    )


def _beside(opener: Callable[[], Source]) -> Future[Source]:
    """Open the source on a helper thread while the caller loads the model.

    The two are independent and, on a board, each can take seconds: Argus bringing up a CSI
    sensor or an RTSP camera answering, while a TensorRT engine is deserialised. Side by side
    the shorter one is hidden. (On the 2-core development VM a file through GStreamer opens in
    ~0.17 s and the LiteRT model loads in ~0.03 s once imported, so a replay gains ~0.03 s.)
    A source that fails raises its own error from ``result()``; when both fail, the backend's
    error is the one reported, as before.
    """
    future: Future[Source] = Future()

    def run() -> None:
        if not future.set_running_or_notify_cancel():
            return
        try:
            future.set_result(opener())
        except BaseException as exc:  # handed to the caller's result()
            future.set_exception(exc)

    threading.Thread(target=run, name="edgecam-open", daemon=True).start()
    return future


def _close_opened(future: Future[Source]) -> None:
    """A source that opened after start-up failed elsewhere is closed, not left playing."""
    if future.exception() is None:
        future.result().close()


def _add_config_sinks(sinks: list[Sink], config: Config, fps: float) -> Telemetry | None:
    """Append the sinks the config names, one by one: when one cannot start (a port in use,
    an unwritable file), the caller closes those already in ``sinks``.

    The live counters (:class:`Telemetry`, fed first) are kept only where something reads
    them, /metrics and the live page or MQTT stats: prometheus-client costs ~30 ms to import
    and ~10 µs a frame to feed, for nobody in a plain replay."""
    from edgecam.sinks.jsonl import JsonlSink

    telemetry = None
    if config.http.port is not None or config.mqtt.url is not None:
        from edgecam.telemetry import Telemetry, TelemetrySink

        telemetry = Telemetry(config.camera.id)
        sinks.append(TelemetrySink(telemetry))

    if config.results.jsonl:
        sinks.append(JsonlSink(config.results.jsonl))
    shown = config.display
    if shown.save_overlay is not None:
        from edgecam.overlay import Overlay
        from edgecam.sinks.recorder import OverlayRecorder

        sinks.append(
            OverlayRecorder(
                shown.save_overlay,
                fps=fps or 30.0,
                overlay=Overlay.default(status_bar=shown.status_bar),
            )
        )
    if shown.window:
        from edgecam.overlay import Overlay
        from edgecam.sinks.window import WindowSink

        sinks.append(
            WindowSink(
                title=f"edgecam — {config.camera.id}",
                overlay=Overlay.default(status_bar=shown.status_bar),
            )
        )
    if config.mqtt.url is not None:
        from edgecam.sinks.mqtt import open_mqtt_sink

        sinks.append(open_mqtt_sink(config.mqtt, camera=config.camera.id, telemetry=telemetry))
    if (port := config.http.port) is not None and telemetry is not None:  # made above
        from edgecam.overlay import Overlay
        from edgecam.sinks.http import HttpSink, read_token

        web = config.http
        sinks.append(  # bound here, before any frame: a port in use fails cleanly
            HttpSink(
                telemetry,
                host=web.host,
                port=port,
                token=read_token(web.token_file, web.token_credential),
                stream_fps=web.stream_fps,
                jpeg_quality=web.jpeg_quality,
                health_window_s=web.health_window_s,
                overlay=Overlay.default(status_bar=shown.status_bar),
            )
        )
    return telemetry

"""Telemetry: the live counters /metrics and MQTT stats report, fed by a real pipeline."""

from __future__ import annotations

from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from edgecam.backends import load_backend
from edgecam.pipeline import Pipeline
from edgecam.processor import FrameProcessor
from edgecam.sources.synthetic import SyntheticSource
from edgecam.telemetry import Telemetry, TelemetrySink
from edgecam.vision.reader import DigitReader


def test_a_replay_is_counted_frame_for_frame_and_scrapes_as_prometheus_text() -> None:
    telemetry = Telemetry("cam0")
    source = SyntheticSource(("314",), frames=40, live=False)
    processor = FrameProcessor(DigitReader(load_backend("litert")), camera="cam0")
    pipeline = Pipeline(source, processor, [TelemetrySink(telemetry)], telemetry=telemetry)
    pipeline.run()
    snap = telemetry.snapshot()
    assert snap["frames"] == 40 and snap["keyframes"] == processor.stats.keyframes > 0
    assert snap["text"] == "314" and snap["fps"] > 0
    assert snap["latency_ms"]["p50"] is not None
    families = {
        f.name: f
        for f in text_string_to_metric_families(generate_latest(telemetry.registry).decode())
    }
    frames = [s for s in families["edgecam_frames"].samples if s.name == "edgecam_frames_total"]
    assert frames[0].value == 40 and frames[0].labels == {"camera": "cam0"}
    stages = {s.labels["stage"] for s in families["edgecam_latency_seconds"].samples}
    assert {"capture_to_result", "motion", "locate", "inference", "track"} <= stages
    assert telemetry.seconds_since_result() is not None


def test_drops_and_failures_count_only_what_is_new() -> None:
    telemetry = Telemetry("cam0")
    telemetry.tick(dropped=3, sink_failures={"mqtt": 1}, read_failures=1)
    telemetry.tick(dropped=5, sink_failures={"mqtt": 1}, read_failures=2)
    assert telemetry.snapshot()["dropped"] == 5
    text = generate_latest(telemetry.registry).decode()
    assert 'edgecam_dropped_frames_total{camera="cam0"} 5.0' in text
    assert 'edgecam_sink_failures_total{sink="mqtt"} 1.0' in text
    assert 'edgecam_read_failures_total{camera="cam0"} 2.0' in text

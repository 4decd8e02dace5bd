"""Live counters of one camera's loop, for whoever reports on it: /metrics, MQTT stats, SSE.

The pipeline's output thread feeds :meth:`Telemetry.observe` with every result (through
:class:`TelemetrySink`, first in the fan-out) and its once-a-second tick feeds
:meth:`Telemetry.tick` with the counters only the pipeline knows (drops). Readers on other
threads (the HTTP server, the MQTT stats timer) take :meth:`Telemetry.snapshot` or scrape
:attr:`Telemetry.registry`; both are cheap and never block the frame loop for long.

Prometheus metrics live in a registry of their own (not prometheus-client's global one), so
several cameras or a test's several pipelines in one process do not collide.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from edgecam.types import Frame, Result

# Latency buckets (seconds) from a carried frame (~1 ms) to a slow full read (~100 ms).
_BUCKETS = (0.001, 0.002, 0.005, 0.01, 0.015, 0.02, 0.03, 0.05, 0.1, 0.25, 1.0)
_WINDOW_S = 5.0  # fps and latency in snapshots are over this many recent seconds


class Telemetry:
    """Counters, gauges and histograms of one camera, and a recent-window summary."""

    def __init__(self, camera: str) -> None:
        self.camera = camera
        self.started_mono = time.monotonic()
        self.registry = CollectorRegistry()
        r = self.registry
        labels = ["camera"]
        self.frames = Counter(
            "edgecam_frames", "Results published (one per processed frame)", labels, registry=r
        )
        self.keyframes = Counter(
            "edgecam_keyframes", "Frames read in full (locate + inference)", labels, registry=r
        )
        self.dropped = Counter(
            "edgecam_dropped_frames",
            "Live frames overwritten before processing (freshest-frame policy)",
            labels,
            registry=r,
        )
        self.digits = Gauge("edgecam_digits", "Digits in the latest result", labels, registry=r)
        self.fps = Gauge(
            "edgecam_fps", f"Results per second over the last {_WINDOW_S:g} s", labels, registry=r
        )
        self.latency = Histogram(
            "edgecam_latency_seconds",
            "Per-stage latency of each result (capture_to_result, motion, locate, ...)",
            ["camera", "stage"],
            buckets=_BUCKETS,
            registry=r,
        )
        self.inference = Histogram(
            "edgecam_inference_seconds",
            "Backend time per full read (one batch of a frame's digits)",
            labels,
            buckets=_BUCKETS,
            registry=r,
        )
        self.temperature = Gauge(
            "edgecam_temperature_celsius", "Board temperature per zone", ["zone"], registry=r
        )
        self.throttled = Gauge(
            "edgecam_throttled", "1 while the thermal governor slows the loop", registry=r
        )
        self.outbox_depth = Gauge(
            "edgecam_mqtt_outbox_depth", "Results waiting in the MQTT outbox", registry=r
        )
        self.outbox_dropped = Counter(
            "edgecam_mqtt_outbox_dropped",
            "Results the MQTT outbox dropped past its bound (mqtt.outbox_policy)",
            registry=r,
        )
        self.mqtt_connected = Gauge(
            "edgecam_mqtt_connected", "1 while connected to the MQTT broker", registry=r
        )
        self.sink_failures = Counter(
            "edgecam_sink_failures", "Results a sink failed to take", ["sink"], registry=r
        )
        self.read_failures = Counter(
            "edgecam_read_failures",
            "Full reads that raised (their frames carried the last reading over)",
            labels,
            registry=r,
        )
        # Each result touches a dozen series: their children are looked up once, not per
        # frame (``labels()`` costs a lock and a dict look-up per call).
        self._frames_c = self.frames.labels(camera)
        self._keyframes_c = self.keyframes.labels(camera)
        self._inference_c = self.inference.labels(camera)
        self._digits_c = self.digits.labels(camera)
        self._fps_c = self.fps.labels(camera)
        self._latency_c: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._recent: deque[tuple[float, float, float]] = deque()  # (mono, c2r ms, infer ms)
        self._latest: Result | None = None
        self._last_mono = 0.0
        self._dropped_seen = 0
        self._read_failures_seen = 0
        self._failures_seen: dict[str, int] = {}
        self._frames = 0
        self._keyframes = 0
        self._thermal: dict[str, Any] = {}

    def observe(self, result: Result) -> None:
        """Count one published result (the output thread calls this, in frame order)."""
        now = time.monotonic()
        self._frames_c.inc()
        lat = result.latency_ms
        for stage, ms in lat.items():
            child = self._latency_c.get(stage)
            if child is None:
                child = self._latency_c[stage] = self.latency.labels(self.camera, stage)
            child.observe(ms / 1000.0)
        if result.keyframe:
            self._keyframes_c.inc()
            if "inference" in lat:
                self._inference_c.observe(lat["inference"] / 1000.0)
        self._digits_c.set(len(result.detections))
        with self._lock:
            self._frames += 1
            self._keyframes += int(result.keyframe)
            self._latest = result
            self._last_mono = now
            self._recent.append(
                (now, lat.get("capture_to_result", 0.0), lat.get("inference", float("nan")))
            )
            while self._recent and self._recent[0][0] < now - _WINDOW_S:
                self._recent.popleft()
            fps = self._fps_locked(now)
        self._fps_c.set(fps)

    def tick(
        self,
        *,
        dropped: int,
        sink_failures: dict[str, int] | None = None,
        read_failures: int = 0,
    ) -> None:
        """Counters only the pipeline keeps, given as running totals."""
        if dropped > self._dropped_seen:
            self.dropped.labels(self.camera).inc(dropped - self._dropped_seen)
            self._dropped_seen = dropped
        if read_failures > self._read_failures_seen:
            self.read_failures.labels(self.camera).inc(read_failures - self._read_failures_seen)
            self._read_failures_seen = read_failures
        for sink, total in (sink_failures or {}).items():
            seen = self._failures_seen.get(sink, 0)
            if total > seen:
                self.sink_failures.labels(sink).inc(total - seen)
                self._failures_seen[sink] = total

    def set_thermal(self, temperatures: dict[str, float], throttled: bool) -> None:
        """For the thermal monitor (a later issue): zone temperatures and the governor state."""
        for zone, celsius in temperatures.items():
            self.temperature.labels(zone).set(celsius)
        self.throttled.set(1.0 if throttled else 0.0)
        with self._lock:
            self._thermal = {"temperatures": dict(temperatures), "throttled": throttled}

    @property
    def latest(self) -> Result | None:
        with self._lock:
            return self._latest

    def seconds_since_result(self) -> float | None:
        """How long ago the last result came; ``None`` before the first (for /healthz)."""
        with self._lock:
            return None if not self._last_mono else time.monotonic() - self._last_mono

    def snapshot(self) -> dict[str, Any]:
        """A JSON-able summary: totals and the last few seconds' rate and latency."""
        now = time.monotonic()
        with self._lock:
            recent = list(self._recent)
            fps = self._fps_locked(now)
            thermal = dict(self._thermal)
            latest = self._latest
            frames, keyframes = self._frames, self._keyframes
        c2r = sorted(r[1] for r in recent)
        inf = sorted(r[2] for r in recent if r[2] == r[2])  # NaN: not a keyframe
        return {
            "camera": self.camera,
            "uptime_s": round(now - self.started_mono, 1),
            "frames": frames,
            "keyframes": keyframes,
            "dropped": self._dropped_seen,
            "fps": round(fps, 2),
            "latency_ms": {"p50": _pct(c2r, 0.5), "p99": _pct(c2r, 0.99)},
            "inference_ms": {"p50": _pct(inf, 0.5)},
            "text": latest.text if latest is not None else "",
            "thermal": thermal or None,
        }

    def _fps_locked(self, now: float) -> float:
        recent = self._recent
        if len(recent) < 2:
            return 0.0
        span = max(recent[-1][0] - recent[0][0], 1e-6)
        if now - recent[-1][0] > 1.0:  # stalled: the rate decays rather than freezes
            span = now - recent[0][0]
        return (len(recent) - 1) / span


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    return round(values[min(len(values) - 1, int(q * (len(values) - 1) + 0.5))], 3)


class TelemetrySink:
    """Feeds every result to a :class:`Telemetry`; first in the fan-out."""

    name = "telemetry"

    def __init__(self, telemetry: Telemetry) -> None:
        self.telemetry = telemetry

    def emit(self, result: Result, frame: Frame) -> None:
        self.telemetry.observe(result)

    def close(self) -> None:
        pass

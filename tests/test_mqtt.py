"""Results over MQTT with a real mosquitto broker on loopback, started and stopped by the tests.

The broker keeps persistent sessions on disk (``persistence true``) and is stopped and restarted
in the middle of paced replays; a subscriber with a persistent session collects what arrives.
Receivers de-duplicate by frame number (QoS 1 is at least once).
"""

from __future__ import annotations

import getpass
import json
import logging
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from paho.mqtt.client import Client, ConnectFlags, MQTTMessage
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from edgecam.config import Config, ConfigError, MqttConfig, apply_overrides
from edgecam.sinks.mqtt import (
    MqttError,
    device_name,
    open_mqtt_sink,
    parse_url,
    read_password,
    stop_loop,
)
from edgecam.sinks.outbox import Outbox, OutboxError, default_path
from edgecam.telemetry import Telemetry
from edgecam.types import Detections, Frame, Result
from tests.conftest import ROOT, sigterm

EDGECAM = str(Path(sys.executable).parent / "edgecam")
DEMO = ROOT / "edgecam" / "data" / "demo.mp4"
DEMO_FRAMES = 150  # 10 s at 15 fps
MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"

pytestmark = pytest.mark.skipif(
    not Path(MOSQUITTO).exists(), reason="mosquitto is not installed (scripts/setup.sh dev)"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Mosquitto:
    """A real broker on a free loopback port, persistent sessions in its own folder."""

    def __init__(self, folder: Path, *, password_file: Path | None = None) -> None:
        self.port = free_port()
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        auth = (
            f"allow_anonymous false\npassword_file {password_file}\n"
            if password_file
            else "allow_anonymous true\n"
        )
        self.conf = folder / "mosquitto.conf"
        self.conf.write_text(
            # As root, mosquitto would drop to its own user, who cannot read pytest's folders.
            f"user {getpass.getuser()}\nlistener {self.port} 127.0.0.1\n{auth}"
            f"persistence true\npersistence_location {folder}/\n"
            # A persistent subscriber may fall behind a burst; the default queue is 1,000.
            "max_queued_messages 100000\n"
        )
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> None:
        log = (self.folder / "mosquitto.log").open("ab")
        self.proc = subprocess.Popen(
            [MOSQUITTO, "-c", str(self.conf)], stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and self.proc.poll() is None:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.02)
        self.proc.kill()
        self.proc.wait()
        self.proc = None
        text = (self.folder / "mosquitto.log").read_text(errors="replace")
        raise AssertionError(f"mosquitto did not listen on {self.port}: {text}")

    def stop(self) -> None:
        """SIGTERM: the broker saves its sessions and queued messages, as a service stop does."""
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    server = Mosquitto(tmp_path / "broker")
    server.start()
    try:
        yield server
    finally:
        server.stop()


class Subscriber:
    """A persistent-session QoS 1 subscriber that records every message, duplicates included."""

    def __init__(self, port: int, topic: str = "edgecam/#", *, user: str = "", pw: str = ""):
        self.messages: list[tuple[str, bytes, bool]] = []
        self.lock = threading.Lock()
        self.topic = topic
        self.client = Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"test-sub-{port}-{time.monotonic_ns()}",
            clean_session=False,
        )
        if user:
            self.client.username_pw_set(user, pw)
        self.client.reconnect_delay_set(1, 1)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.subscribed = threading.Event()
        self.client.on_subscribe = lambda *_: self.subscribed.set()
        self.client.connect("127.0.0.1", port, keepalive=5)
        self.client.loop_start()
        assert self.subscribed.wait(5), "subscription not acknowledged"

    def _on_connect(
        self, client: Client, _u: Any, _f: ConnectFlags, _r: ReasonCode, _p: Properties | None
    ) -> None:
        client.subscribe(self.topic, qos=1)

    def _on_message(self, _client: Client, _u: Any, msg: MQTTMessage) -> None:
        with self.lock:
            self.messages.append((msg.topic, bytes(msg.payload), bool(msg.retain)))

    def on(self, suffix: str) -> list[bytes]:
        with self.lock:
            return [p for t, p, _ in self.messages if t.endswith(suffix)]

    def frames(self) -> list[int]:
        return [json.loads(p)["frame"] for p in self.on("/result")]

    def wait(self, check: Callable[[], bool], timeout: float) -> bool:
        return wait_for(check, timeout)

    def close(self) -> None:
        self.client.disconnect()
        stop_loop(self.client)
        # Break the cycle through the callbacks: freed now, paho closes its sockets.
        self.client.on_connect = self.client.on_message = self.client.on_subscribe = None


@pytest.fixture
def subscriber(broker: Mosquitto) -> Iterator[Subscriber]:
    sub = Subscriber(broker.port)
    try:
        yield sub
    finally:
        sub.close()


def retained(port: int, topic: str, timeout: float = 3.0) -> str | None:
    """The retained message on a topic, as a fresh client sees it (None if none)."""
    got: list[bytes] = []
    done = threading.Event()
    client = Client(CallbackAPIVersion.VERSION2, client_id=f"peek-{time.monotonic_ns()}")

    def on_message(_c: Client, _u: Any, msg: MQTTMessage) -> None:
        if msg.retain:
            got.append(bytes(msg.payload))
            done.set()

    client.on_message = on_message
    client.on_subscribe = lambda *_: None
    client.connect("127.0.0.1", port)
    client.subscribe(topic, qos=1)
    client.loop_start()
    done.wait(timeout)
    client.disconnect()
    stop_loop(client)
    return got[-1].decode() if got else None


def wait_for(check: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return check()


def first_arrivals(frames: list[int]) -> list[int]:
    seen: set[int] = set()
    order = []
    for f in frames:
        if f not in seen:
            seen.add(f)
            order.append(f)
    return order


def report_arrivals(subscriber: Subscriber, what: str) -> list[int]:
    """The frames in the order they first arrived, after printing how many came and how many
    came after a later frame (the figures the plain-paho comparison reports)."""
    frames = first_arrivals(subscriber.frames())
    late = sum(f < max(frames[:i], default=-1) for i, f in enumerate(frames))
    print(f"\n{what}: {len(frames)}/{DEMO_FRAMES} arrived, {late} after a later frame")
    return frames


def write_config(tmp_path: Path, **mqtt: object) -> Path:
    settings = {
        "device": "testdev",
        "outbox_path": str(tmp_path / "outbox.sqlite"),
        "reconnect_min": 1,
        "reconnect_max": 1,
        **mqtt,
    }
    lines = ["[mqtt]"] + [f"{k} = {json.dumps(v)}" for k, v in settings.items()]
    path = tmp_path / "edgecam.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def result(frame: int, text: str = "12") -> Result:
    return Result(
        camera="cam0",
        frame=frame,
        captured_wall=1_800_000_000.0 + frame / 30,
        width=640,
        height=480,
        detections=Detections.empty(),
        text=text,
        latency_ms={"capture_to_result": 1.0},
    )


FRAME = Frame(np.zeros((2, 2, 3), np.uint8), 0, 0.0, 0.0, "cam0")


def sink_config(tmp_path: Path, url: str, **extra: object) -> MqttConfig:
    data: dict[str, object] = {
        "url": url,
        "device": "testdev",
        "outbox_path": tmp_path / "outbox.sqlite",
        "reconnect_min": 1,
        "reconnect_max": 1,
        **extra,
    }
    return MqttConfig.model_validate(data, strict=False)


# --- whole replays through a real broker -------------------------------------------------------


def test_every_result_of_a_replay_arrives_once_in_order(
    tmp_path: Path, broker: Mosquitto, subscriber: Subscriber
) -> None:
    # given a broker, a subscriber and a config naming the device
    config = write_config(tmp_path)
    out = tmp_path / "results.jsonl"
    # when the demo is replayed as fast as it reads, with --mqtt
    replay = [EDGECAM, "replay", str(DEMO), "--config", str(config), "--mqtt", broker.url]
    done = subprocess.run(
        [*replay, "--results", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    # then every result arrives exactly once, in order, byte for byte as in the JSON lines
    assert subscriber.wait(lambda: len(subscriber.frames()) >= DEMO_FRAMES, 10)
    time.sleep(0.3)  # anything extra would show now
    assert subscriber.frames() == list(range(DEMO_FRAMES))
    payloads = [p.decode() for p in subscriber.on("testdev/cam0/result")]
    assert payloads == out.read_text().splitlines()
    # and the stable reading is retained, and the daemon said offline when it stopped
    state = json.loads(retained(broker.port, "edgecam/testdev/cam0/state") or "{}")
    assert state["schema"] == "edgecam.state/1"
    assert state["text"] == json.loads(out.read_text().splitlines()[-1])["text"] == "624187 120524"
    assert state["digits"] == [6, 2, 4, 1, 8, 7, 1, 2, 0, 5, 2, 4]
    assert retained(broker.port, "edgecam/testdev/status") == "offline"
    assert [p.decode() for p in subscriber.on("testdev/status")] == ["online", "offline"]
    assert "WARNING" not in done.stderr


def restart_twice(broker: Mosquitto, subscriber: Subscriber) -> None:
    """Stop the broker 2 s and 5.5 s after the first result, for 1.5 s each time."""
    assert subscriber.wait(lambda: bool(subscriber.frames()), 60), "no result arrived"
    t0 = time.monotonic()
    for at in (2.0, 5.5):
        time.sleep(max(0.0, t0 + at - time.monotonic()))
        broker.stop()
        time.sleep(1.5)
        broker.start()


@pytest.mark.slow
def test_every_result_arrives_in_order_across_two_broker_restarts(
    tmp_path: Path, broker: Mosquitto, subscriber: Subscriber
) -> None:
    # given a paced replay (10 s) publishing to the broker
    config = write_config(tmp_path)
    replay = [EDGECAM, "replay", str(DEMO), "--realtime", "--config", str(config)]
    proc = subprocess.Popen(
        [*replay, "--mqtt", broker.url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # when the broker is stopped and restarted twice while it runs
        restart_twice(broker, subscriber)
        _, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
        proc.communicate()
    assert proc.returncode == 0, stderr
    # then every result still arrives, in order (after de-duplication by frame)
    assert subscriber.wait(lambda: len(set(subscriber.frames())) >= DEMO_FRAMES, 10)
    frames = subscriber.frames()
    assert first_arrivals(frames) == list(range(DEMO_FRAMES))
    print(
        f"\nedgecam across 2 broker restarts: {len(set(frames))}/{DEMO_FRAMES} results, "
        f"{len(frames) - len(set(frames))} duplicates"
    )
    # and each outage was one warning, and the reconnections were said
    assert "Traceback" not in stderr
    assert stderr.count("lost the broker") == 2, stderr
    assert stderr.count("reconnected to") == 2, stderr


def plain_paho_replay(port: int) -> Callable[[], None]:
    """A plain paho client publishing the demo's 150 frames at QoS 1, paced at 15 fps, as a
    script would: paho's own in-memory queue and re-sending, then disconnect at the end."""
    client = Client(CallbackAPIVersion.VERSION2, client_id="plain-publisher")
    client.connect_async("127.0.0.1", port, keepalive=5)
    client.loop_start()

    def publish() -> None:
        start = time.monotonic()
        for frame in range(DEMO_FRAMES):
            time.sleep(max(0.0, start + frame / 15 - time.monotonic()))
            client.publish("edgecam/testdev/cam0/result", json.dumps({"frame": frame}), qos=1)
        time.sleep(1.0)  # as long as the daemon's flush_timeout, for fairness
        client.disconnect()
        stop_loop(client)

    thread = threading.Thread(target=publish)
    thread.start()
    return lambda: thread.join(30)


@pytest.mark.slow
def test_a_plain_paho_client_across_the_same_two_restarts(
    broker: Mosquitto, subscriber: Subscriber
) -> None:
    # given a plain paho client paced like the replay; when the broker restarts twice
    join = plain_paho_replay(broker.port)
    restart_twice(broker, subscriber)
    join()
    subscriber.wait(lambda: len(set(subscriber.frames())) >= DEMO_FRAMES, 3)
    # then: paho 2 keeps unacknowledged QoS 1 messages in memory and sends them again after
    # a reconnect, so while its process lives it loses few or none here (the figure is the
    # report; the outbox makes the difference when the process stops, below)
    frames = report_arrivals(subscriber, "plain paho across 2 broker restarts")
    assert frames


@pytest.mark.slow
@pytest.mark.parametrize("publisher", ["edgecam", "plain-paho"])
def test_results_outlive_a_publisher_that_stops_while_the_broker_is_away(
    tmp_path: Path, broker: Mosquitto, subscriber: Subscriber, publisher: str
) -> None:
    # given a paced replay of 150 results through two broker restarts
    config = write_config(tmp_path)
    replay = [EDGECAM, "replay", str(DEMO), "--config", str(config), "--mqtt", broker.url]
    if publisher == "edgecam":
        proc = subprocess.Popen(
            [*replay, "--realtime"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
        join: Callable[[], object] = lambda: proc.communicate(timeout=60)  # noqa: E731
    else:
        join = plain_paho_replay(broker.port)
    try:
        restart_twice(broker, subscriber)
        # when the broker goes away again 1.5 s before the end, and the publisher stops
        time.sleep(1.5)
        broker.stop()
        join()
    finally:
        if publisher == "edgecam":
            proc.kill()
            proc.communicate()
    # and the broker comes back, and the daemon (if any) starts again
    broker.start()
    if publisher == "edgecam":
        again = subprocess.run(
            [*replay, "--max-frames", "1"], capture_output=True, timeout=60, check=False
        )
        assert again.returncode == 0
    subscriber.wait(lambda: len(set(subscriber.frames())) >= DEMO_FRAMES, 5)
    # then edgecam's outbox delivers every result, in order; paho's memory died with it
    frames = report_arrivals(subscriber, f"{publisher}, stopped while the broker was away")
    if publisher == "edgecam":
        assert frames == list(range(DEMO_FRAMES))
    else:
        assert len(frames) < DEMO_FRAMES


# --- availability: the last will -------------------------------------------------------------


def start_daemon(config: Path, url: str) -> subprocess.Popen[str]:
    run = [EDGECAM, "run", "--source", "synthetic:31415", "--no-display", "--results", "-"]
    return subprocess.Popen(
        [*run, "--config", str(config), "--mqtt", url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.slow
def test_status_is_offline_after_sigkill_and_online_after_restart(
    tmp_path: Path, broker: Mosquitto, subscriber: Subscriber
) -> None:
    config = write_config(tmp_path, keepalive=2)
    status = "edgecam/testdev/status"
    proc = start_daemon(config, broker.url)
    try:
        # given a running daemon that said online
        assert subscriber.wait(lambda: bool(subscriber.frames()), 60)
        assert retained(broker.port, status) == "online"
        # when it is killed without a chance to close its connection
        proc.kill()
        proc.communicate()
        # then the broker publishes its last will, retained
        assert subscriber.wait(lambda: subscriber.on("/status")[-1] == b"offline", 5)
        assert retained(broker.port, status) == "offline"
        # and a restarted daemon says online again
        proc = start_daemon(config, broker.url)
        assert subscriber.wait(lambda: subscriber.on("/status")[-1] == b"online", 60)
        assert retained(broker.port, status) == "online"
        took, stderr = sigterm(proc)
    finally:
        proc.kill()
        proc.communicate()
    assert took <= 2.0 and proc.returncode == 0, stderr
    assert retained(broker.port, status) == "offline"


def test_an_unreachable_broker_is_one_warning_and_sigterm_still_exits_fast(
    tmp_path: Path,
) -> None:
    # given no broker at all on the port
    config = write_config(tmp_path)
    url = f"mqtt://edgecam@127.0.0.1:{free_port()}"
    proc = start_daemon(config, url)
    try:
        # when the daemon runs a few seconds (several reconnection tries)
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(60)]
        time.sleep(2.5)
        took, stderr = sigterm(proc)
    finally:
        proc.kill()
        proc.communicate()
    # then it kept reading, said so in one warning naming the broker, and stopped in time
    assert all(json.loads(line)["schema"] == "edgecam.result/1" for line in lines)
    warnings = [line for line in stderr.splitlines() if "WARNING" in line]
    assert len(warnings) == 1, stderr
    assert url in warnings[0] and "unreachable" in warnings[0]
    assert "Traceback" not in stderr
    assert took <= 2.0, f"SIGTERM took {took:.2f} s"
    print(f"\nSIGTERM with the broker down: exited in {took:.2f} s")
    # and what it read waits in the outbox for the next start
    outbox = Outbox(tmp_path / "outbox.sqlite")
    assert outbox.depth >= 60
    outbox.close()


# --- the outbox --------------------------------------------------------------------------------


def rows(n: int, start: int = 0) -> list[tuple[str, bytes]]:
    return [("t", str(i).encode()) for i in range(start, start + n)]


@pytest.mark.parametrize(
    ("policy", "kept"),
    [("drop_oldest", list(range(15, 25))), ("drop_newest", list(range(10)))],
)
def test_a_full_outbox_drops_by_its_policy_and_counts(
    tmp_path: Path, policy: Any, kept: list[int]
) -> None:
    # given an outbox of 10 rows
    outbox = Outbox(tmp_path / "o.sqlite", max_rows=10, policy=policy)
    # when 25 rows come, in batches
    dropped = outbox.append(rows(8)) + outbox.append(rows(17, start=8))
    # then 15 are dropped and counted, and the rest keep their order
    assert dropped == outbox.dropped == 15
    assert outbox.depth == 10
    assert [int(r.payload) for r in outbox.after(0, 100)] == kept
    outbox.close()


def test_drop_oldest_spares_rows_in_flight(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "o.sqlite", max_rows=10, policy="drop_oldest")
    outbox.append(rows(10))
    # two rows were handed to the client: the next oldest go instead
    outbox.append(rows(3, start=10), keep=2)
    assert [int(r.payload) for r in outbox.after(0, 100)] == [0, 1, 5, 6, 7, 8, 9, 10, 11, 12]
    outbox.close()


def test_the_outbox_survives_a_restart_and_is_not_shared(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "o.sqlite"
    outbox = Outbox(path)
    outbox.append(rows(5))
    outbox.delete([r.id for r in outbox.after(0, 2)])
    # a second daemon on the same file is refused in one line
    with pytest.raises(OutboxError, match="in use by another edgecam"):
        Outbox(path)
    outbox.close()
    again = Outbox(path)
    assert again.depth == 3
    assert [int(r.payload) for r in again.after(0, 10)] == [2, 3, 4]
    assert again._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    again.close()


def test_the_default_outbox_path_follows_systemd_then_xdg_then_home() -> None:
    assert default_path("cam0", {"STATE_DIRECTORY": "/var/lib/edgecam:/x"}) == Path(
        "/var/lib/edgecam/mqtt-outbox-cam0.sqlite"
    )
    assert default_path("c", {"XDG_STATE_HOME": "/s"}) == Path("/s/edgecam/mqtt-outbox-c.sqlite")
    assert default_path("c", {"HOME": "/h"}) == Path("/h/.local/state/edgecam/mqtt-outbox-c.sqlite")


def test_a_full_outbox_with_the_broker_away_counts_drops_then_delivers_the_rest_in_order(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # given a sink whose broker is away, with an outbox of 10
    server = Mosquitto(tmp_path / "broker")
    telemetry = Telemetry("cam0")
    sink = open_mqtt_sink(
        sink_config(tmp_path, server.url, outbox_max=10), camera="cam0", telemetry=telemetry
    )
    # when 30 results come
    for i in range(30):
        sink.emit(result(i), FRAME)
    assert wait_for(lambda: sink.counters.dropped == 20, 5)
    sink.close()
    # then 20 are dropped and counted, in the telemetry too, with one warning
    assert telemetry.registry.get_sample_value("edgecam_mqtt_outbox_dropped_total") == 20
    assert telemetry.registry.get_sample_value("edgecam_mqtt_outbox_depth") == 10
    assert len([r for r in caplog.records if "is full" in r.getMessage()]) == 1
    # and when the broker is back, the next start delivers the 10 newest, in order
    server.start()
    sub = Subscriber(server.port)
    try:
        sink = open_mqtt_sink(sink_config(tmp_path, server.url), camera="cam0")
        assert sub.wait(lambda: len(sub.frames()) >= 10, 10)
        sink.close()
        assert sub.frames() == list(range(20, 30))
    finally:
        sub.close()
        server.stop()


# --- what is published -------------------------------------------------------------------------


def test_on_change_publishes_only_new_readings_and_keeps_the_latest_retained(
    tmp_path: Path, broker: Mosquitto, subscriber: Subscriber
) -> None:
    sink = open_mqtt_sink(
        sink_config(tmp_path, broker.url, publish="on_change", stats_interval=0.2), camera="cam0"
    )
    for i, text in enumerate(["1", "1", "12", "12", "12", "7", "7"]):
        sink.emit(result(i, text), FRAME)
    assert subscriber.wait(
        lambda: len(subscriber.frames()) >= 3 and bool(subscriber.on("/stats")), 5
    )
    sink.close()
    assert subscriber.frames() == [0, 2, 5]
    state = json.loads(retained(broker.port, "edgecam/testdev/cam0/state") or "{}")
    assert (state["text"], state["digits"], state["frame"]) == ("7", [7], 5)


def test_stats_carry_rate_drops_latency_and_the_outbox(
    tmp_path: Path, broker: Mosquitto, subscriber: Subscriber
) -> None:
    telemetry = Telemetry("cam0")
    sink = open_mqtt_sink(
        sink_config(tmp_path, broker.url, stats_interval=0.2), camera="cam0", telemetry=telemetry
    )
    for i in range(5):
        telemetry.observe(result(i))
        sink.emit(result(i), FRAME)
    assert subscriber.wait(lambda: len(subscriber.on("edgecam/testdev/stats")) >= 2, 5)
    sink.close()
    stats = json.loads(subscriber.on("/stats")[-1])
    assert stats["schema"] == "edgecam.stats/1"
    assert (stats["device"], stats["camera"], stats["frames"]) == ("testdev", "cam0", 5)
    for key in ("fps", "dropped", "latency_ms", "inference_ms", "thermal"):
        assert key in stats
    assert stats["mqtt"]["connected"] is True and stats["mqtt"]["outbox_dropped"] == 0


# --- security ------------------------------------------------------------------------------------

PASSWORD = "s3cret-Pa55"


@pytest.fixture
def secured(tmp_path: Path) -> Iterator[Mosquitto]:
    passwords = tmp_path / "passwd"
    subprocess.run(
        ["mosquitto_passwd", "-b", "-c", str(passwords), "cam", PASSWORD],
        check=True,
        capture_output=True,
    )
    server = Mosquitto(tmp_path / "broker", password_file=passwords)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.parametrize("how", ["file", "credential"])
def test_a_password_from_a_file_or_credential_logs_in_and_is_never_logged(
    tmp_path: Path,
    secured: Mosquitto,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    how: str,
) -> None:
    secret = tmp_path / "creds" / "mqtt-password"
    secret.parent.mkdir()
    secret.write_text(PASSWORD + "\n")
    if how == "file":
        extra: dict[str, object] = {"password_file": secret}
    else:
        monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(secret.parent))
        extra = {"password_credential": "mqtt-password"}
    caplog.set_level(logging.DEBUG)
    sub = Subscriber(secured.port, user="cam", pw=PASSWORD)
    try:
        url = secured.url.replace("mqtt://", "mqtt://cam@")
        sink = open_mqtt_sink(sink_config(tmp_path, url, **extra), camera="cam0")
        sink.emit(result(0), FRAME)
        assert sub.wait(lambda: sub.frames() == [0], 5)
        assert PASSWORD not in repr(sink.broker) and PASSWORD not in str(sink.broker)
        sink.close()
    finally:
        sub.close()
    assert "connected to mqtt://cam@127.0.0.1" in caplog.text
    assert PASSWORD not in caplog.text


def test_a_wrong_password_is_one_warning_without_the_password(
    tmp_path: Path, secured: Mosquitto, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = tmp_path / "pw"
    wrong.write_text("not-" + PASSWORD)
    url = secured.url.replace("mqtt://", "mqtt://cam@")
    sink = open_mqtt_sink(sink_config(tmp_path, url, password_file=wrong), camera="cam0")
    assert wait_for(lambda: "refused" in caplog.text, 5)
    time.sleep(2.5)  # a few more tries
    t0 = time.monotonic()
    sink.close()
    assert time.monotonic() - t0 < 1.0
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "authoriz" in warnings[0].lower(), warnings
    assert PASSWORD not in caplog.text


@pytest.mark.parametrize(
    ("file", "credential", "env", "needle"),
    [
        ("missing", None, {}, "cannot read"),
        ("empty", None, {}, "is empty"),
        (None, "pw", {}, "$CREDENTIALS_DIRECTORY is not set"),
        (None, "nope", {"CREDENTIALS_DIRECTORY": "."}, "systemd credential 'nope'"),
    ],
)
def test_password_problems_are_one_line(
    tmp_path: Path, file: str | None, credential: str | None, env: dict[str, str], needle: str
) -> None:
    (tmp_path / "empty").write_text("\n")
    env = {k: str(tmp_path) for k in env}
    with pytest.raises(MqttError, match=None) as caught:
        read_password(tmp_path / file if file else None, credential, env)
    assert needle in str(caught.value) and "\n" not in str(caught.value)


def test_a_credential_is_read_from_the_credentials_directory(tmp_path: Path) -> None:
    (tmp_path / "pw").write_text("hunter2\r\n")
    secret = read_password(None, "pw", {"CREDENTIALS_DIRECTORY": str(tmp_path)})
    assert secret is not None and secret.reveal() == "hunter2"
    assert "hunter2" not in repr(secret)


# --- configuration -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("mqtt://broker", "mqtt://broker:1883"),
        ("mqtts://broker", "mqtts://broker:8883"),
        ("mqtt://cam@10.0.0.2:1884", "mqtt://cam@10.0.0.2:1884"),
        ("MQTTS://cam@broker.lan:8884/", "mqtts://cam@broker.lan:8884"),
        ("mqtt://[::1]:1885", "mqtt://[::1]:1885"),
    ],
)
def test_broker_urls_parse(url: str, expected: str) -> None:
    assert str(parse_url(url)) == expected


@pytest.mark.parametrize(
    ("overrides", "needles"),
    [
        ({"mqtt.url": "mqtt://cam:hunter2@broker"}, ["mqtt.url", "password_file", "***@"]),
        ({"mqtt.url": "http://broker"}, ["mqtt.url", "mqtt:// or mqtts://"]),
        ({"mqtt.url": "broker:1883"}, ["mqtt.url", "mqtt://host:1883"]),
        ({"mqtt.url": "mqtt://broker:99999"}, ["port"]),
        ({"mqtt.url": "mqtt://broker/topic"}, ["without a path"]),
        ({"mqtt.url": "mqtt://"}, ["names no host"]),
        ({"mqtt.qos": 3}, ["mqtt.qos"]),
        ({"mqtt.publish": "sometimes"}, ["every_frame", "on_change"]),
        ({"mqtt.device": "a/b"}, ["mqtt.device"]),
        ({"mqtt.topic_prefix": "site/#"}, ["mqtt.topic_prefix"]),
        ({"mqtt.topic_prefix": "/site"}, ["mqtt.topic_prefix"]),
        ({"mqtt.outbox_policy": "drop_all"}, ["drop_oldest", "drop_newest"]),
        ({"mqtt.password_file": "/pw", "mqtt.password_credential": "pw"}, ["one, not both"]),
        ({"mqtt.url": "mqtt://broker", "mqtt.password_file": "/pw"}, ["needs a user"]),
        ({"mqtt.url": "mqtt://broker", "mqtt.ca_file": "/ca.pem"}, ["need TLS"]),
        ({"mqtt.url": "mqtts://broker", "mqtt.key_file": "/k.pem"}, ["key_file needs cert_file"]),
        ({"mqtt.reconnect_min": 10, "mqtt.reconnect_max": 5}, ["reconnect_max"]),
        ({"mqtt.passwd_file": "/pw"}, ["unknown key", "password_file"]),
    ],
)
def test_bad_mqtt_settings_are_one_line(overrides: dict[str, object], needles: list[str]) -> None:
    with pytest.raises(ConfigError) as caught:
        apply_overrides(Config(), overrides)
    message = str(caught.value)
    assert "\n" not in message and "hunter2" not in message
    for needle in needles:
        assert needle in message


def test_good_mqtt_settings_are_read() -> None:
    config = apply_overrides(
        Config(),
        {
            "mqtt.url": "mqtts://cam@broker:8883",
            "mqtt.password_file": "/run/pw",
            "mqtt.ca_file": "/etc/ca.pem",
            "mqtt.qos": "2",
            "mqtt.publish": "on_change",
            "mqtt.outbox_policy": "drop_newest",
        },
    )
    assert config.mqtt.qos == 2 and config.mqtt.ca_file == Path("/etc/ca.pem")
    assert Config().mqtt.url is None  # MQTT is off unless a broker is named


def test_the_device_defaults_to_a_topic_safe_hostname() -> None:
    assert device_name("jetson-01.lan") == "jetson-01"
    assert device_name("my box") == "my-box"
    assert device_name("") == "edgecam"


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["--mqtt", "mqtt://cam:hunter2@127.0.0.1"], ["mqtt.url", "password_file"]),
        (["--mqtt", "ftp://x"], ["mqtt.url", "mqtt://"]),
    ],
)
def test_bad_mqtt_flags_are_one_line_without_the_password(
    args: list[str], needles: list[str]
) -> None:
    for command in (["run"], ["replay", str(DEMO)]):
        done = subprocess.run(
            [EDGECAM, *command, *args],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env={**os.environ},
        )
        assert done.returncode == 2
        assert "Traceback" not in done.stderr and "hunter2" not in done.stderr
        errors = [line for line in done.stderr.splitlines() if "error" in line]
        assert len(errors) == 1, done.stderr
        assert all(n in errors[0] for n in needles), done.stderr


def test_a_missing_password_file_stops_the_daemon_in_one_line(tmp_path: Path) -> None:
    config = write_config(tmp_path, username="cam", password_file=str(tmp_path / "nope"))
    done = subprocess.run(
        [EDGECAM, "run", "--config", str(config), "--mqtt", "mqtt://127.0.0.1:1"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    errors = [line for line in done.stderr.splitlines() if "error" in line]
    assert len(errors) == 1 and str(tmp_path / "nope") in errors[0], done.stderr

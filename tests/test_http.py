"""The HTTP server as clients see it: real servers on free loopback ports, a real pipeline on a
paced synthetic camera, raw sockets for stalled clients, and the live page in real headless
Chromium (Debian's chromium + chromium-driver through Selenium)."""

from __future__ import annotations

import json
import logging
import os
import socket
import statistics
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
import pytest
from prometheus_client.parser import text_string_to_metric_families

from edgecam.backends import load_backend
from edgecam.config import ConfigError, load_config
from edgecam.overlay import STATUS_BACKGROUND
from edgecam.pipeline import Pipeline
from edgecam.processor import FrameProcessor
from edgecam.sinks.http import BOUNDARY, HttpError, HttpSink, is_loopback, parse_listen, read_token
from edgecam.sinks.jsonl import JsonlSink
from edgecam.sources.synthetic import SyntheticSource
from edgecam.telemetry import Telemetry, TelemetrySink
from edgecam.types import Detections, Frame, Result
from edgecam.vision.reader import DigitReader
from tests.conftest import sigterm
from tests.test_cli import EDGECAM, assert_one_line_error

TOKEN = "s3cret-Token-42"
READING = "31415"


# --- helpers ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def get(url: str, headers: dict[str, str] | None = None) -> Reply:
    request = urllib.request.Request(url, headers=headers or {})
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(request, timeout=10) as reply:
            return Reply(reply.status, dict(reply.headers), reply.read())
    except urllib.error.HTTPError as err:
        return Reply(err.code, dict(err.headers), err.read())


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def wait_for(check: Any, timeout: float = 15.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}")


NOISE = np.random.default_rng(7).integers(0, 256, (480, 640, 3), dtype=np.uint8)


def fake_result(seq: int, text: str = READING, noisy: bool = False) -> tuple[Result, Frame]:
    """A result and a frame that changes with ``seq``, for tests that drive the sink by hand;
    a noisy frame makes a JPEG of ~300 KB, to fill a stalled client's buffers quickly."""
    if noisy:
        image = np.roll(NOISE, seq, axis=1)
    else:
        image = np.full((240, 320, 3), 200, np.uint8)
        cv2.circle(image, (40 + (seq * 7) % 240, 120), 20, (0, 0, 0), -1)
    frame = Frame(image, seq, time.monotonic(), time.time(), "cam0")
    height, width = image.shape[:2]
    latency = {"capture_to_result": 1.0}
    result = Result(
        "cam0", seq, frame.captured_wall, width, height, Detections.empty(), text, latency
    )
    return result, frame


class KeepOpen:
    """Forwards results to the HTTP sink but leaves closing it to the test, so the server can
    be asked questions after the pipeline has stopped."""

    name = "http"

    def __init__(self, sink: HttpSink) -> None:
        self.sink = sink

    def emit(self, result: Result, frame: Frame) -> None:
        self.sink.emit(result, frame)

    def close(self) -> None:
        pass


@dataclass
class Live:
    sink: HttpSink
    telemetry: Telemetry
    pipeline: Pipeline
    results: Path
    thread: threading.Thread

    @property
    def url(self) -> str:
        return self.sink.url

    def stop_frames(self) -> None:
        self.pipeline.stop.set()
        self.thread.join(10)
        assert not self.thread.is_alive()


def start_live(tmp_path: Path, **options: Any) -> Live:
    """A paced 30 fps synthetic camera through the real reader into JSONL and the HTTP sink."""
    telemetry = Telemetry("cam0")
    sink = HttpSink(telemetry, port=0, **options)
    results = tmp_path / "results.jsonl"
    source = SyntheticSource((READING,), live=True, fps=30.0, camera_id="cam0")
    processor = FrameProcessor(DigitReader(load_backend("litert")), camera="cam0")
    sinks = [TelemetrySink(telemetry), JsonlSink(results), KeepOpen(sink)]
    pipeline = Pipeline(source, processor, sinks, telemetry=telemetry)
    thread = threading.Thread(target=pipeline.run, name="test-pipeline", daemon=True)
    thread.start()
    return Live(sink, telemetry, pipeline, results, thread)


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Live]:
    run = start_live(tmp_path, health_window_s=1.0)
    try:
        wait_for(lambda: run.telemetry.snapshot()["frames"] >= 30, what="frames to flow")
        yield run
    finally:
        run.stop_frames()
        run.sink.close()


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def read_events(url: str, seconds: float, headers: dict[str, str] | None = None) -> str:
    request = urllib.request.Request(url, headers=headers or {})
    text = b""
    with urllib.request.urlopen(request, timeout=10) as reply:
        assert reply.headers["Content-Type"].startswith("text/event-stream")
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            text += reply.read1(65536)
    return text.decode()


def parse_events(text: str) -> list[tuple[str, Any]]:
    events = []
    for block in text.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "event" in fields and "data" in fields:
            events.append((fields["event"], json.loads(fields["data"])))
    return events


def read_mjpeg(url: str, parts: int) -> list[npt.NDArray[np.uint8]]:
    """The first ``parts`` pictures of a multipart stream, decoded."""
    images = []
    with urllib.request.urlopen(url, timeout=10) as reply:
        kind = reply.headers["Content-Type"]
        assert kind == f"multipart/x-mixed-replace; boundary={BOUNDARY}"
        while len(images) < parts:
            assert reply.readline() == f"--{BOUNDARY}\r\n".encode()
            headers = {}
            while (line := reply.readline()) != b"\r\n":
                name, _, value = line.decode().partition(":")
                headers[name.strip().lower()] = value.strip()
            assert headers["content-type"] == "image/jpeg"
            data = reply.read(int(headers["content-length"]))
            assert reply.readline() == b"\r\n"
            image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
            assert image is not None
            images.append(image)
    return images


# --- routes and status codes -------------------------------------------------------------------


def test_before_the_first_frame_health_and_latest_say_503() -> None:
    # given a server that has seen no result
    sink = HttpSink(Telemetry("cam0"), port=0)
    try:
        # then health and latest say so, and the page and metrics are served
        health = get(sink.url + "healthz")
        assert health.status == 503 and health.json()["status"] == "starting"
        assert get(sink.url + "api/v1/latest").status == 503
        page = get(sink.url)
        assert page.status == 200 and page.headers["Content-Type"].startswith("text/html")
        assert b'<img id="video" src="/stream.mjpg"' in page.body
        assert get(sink.url + "app.js").headers["Content-Type"].startswith("text/javascript")
        assert get(sink.url + "style.css").headers["Content-Type"].startswith("text/css")
        metrics = get(sink.url + "metrics")
        assert metrics.status == 200 and metrics.headers["Content-Type"].startswith("text/plain")
        assert get(sink.url + "nope").status == 404
    finally:
        sink.close()


def test_a_live_run_serves_its_latest_result_metrics_and_health(live: Live) -> None:
    # given frames flowing: healthy
    health = get(live.url + "healthz")
    assert health.status == 200 and health.json()["status"] == "ok"
    # when the camera stops (the server stays up)
    live.stop_frames()
    written = read_jsonl(live.results)
    assert len(written) >= 10
    # then the latest result is the last one written, field for field
    latest = get(live.url + "api/v1/latest")
    assert latest.status == 200 and latest.headers["Content-Type"].startswith("application/json")
    assert latest.json() == written[-1]
    assert latest.json()["text"] == READING
    # and /metrics parses as Prometheus text, counting exactly the results written
    metrics = get(live.url + "metrics")
    families = {f.name: f for f in text_string_to_metric_families(metrics.body.decode())}
    frames = [s for s in families["edgecam_frames"].samples if s.name == "edgecam_frames_total"]
    assert frames[0].value == len(written) and frames[0].labels == {"camera": "cam0"}
    for name in ("edgecam_latency_seconds", "edgecam_inference_seconds", "edgecam_dropped_frames"):
        assert name in families
    assert {"edgecam_temperature_celsius", "edgecam_throttled"} <= set(families)
    assert "edgecam_mqtt_outbox_depth" in families
    # and health turns 503 once the last result is older than the window (1 s here)
    stalled = wait_for(lambda: (r := get(live.url + "healthz")).status == 503 and r, 5, "503")
    assert stalled.json()["status"] == "stalled"


def test_health_follows_results_driven_by_hand() -> None:
    telemetry = Telemetry("cam0")
    sink = HttpSink(telemetry, port=0, health_window_s=0.3)
    try:
        for seq in range(3):
            result, frame = fake_result(seq)
            telemetry.observe(result)
            sink.emit(result, frame)
        assert get(sink.url + "healthz").status == 200
        time.sleep(0.4)
        assert get(sink.url + "healthz").status == 503
        assert get(sink.url + "api/v1/latest").json()["frame"] == 2
    finally:
        sink.close()


def test_events_send_history_stats_every_second_and_the_reading(live: Live) -> None:
    text = read_events(live.url + "api/v1/events", 2.6)
    assert text.startswith("retry: ")
    events = parse_events(text)
    kinds = [kind for kind, _ in events]
    assert kinds[0] == "history" and isinstance(events[0][1], list)
    stats = [data for kind, data in events if kind == "stats"]
    assert len(stats) >= 3  # one on connect, then one a second
    assert stats[-1]["fps"] > 20 and stats[-1]["flowing"] is True
    assert {"latency_ms", "inference_ms", "dropped", "thermal", "text"} <= set(stats[-1])
    results = [data for kind, data in events if kind == "result"]
    assert results and results[0]["text"] == READING
    assert len(results) == 1  # the reading did not change: no more result events


def test_mjpeg_pictures_decode_and_change(live: Live) -> None:
    images = read_mjpeg(live.url + "stream.mjpg", 4)
    assert all(image.shape == (480, 640, 3) for image in images)
    assert np.abs(images[0].astype(int) - images[-1].astype(int)).mean() > 0.5
    # the overlay is drawn: the status bar's dark strip across the top
    top = images[-1][2:8, :].reshape(-1, 3).astype(int)
    assert np.abs(top - np.array(STATUS_BACKGROUND)).max(axis=1).mean() < 30


def test_stream_clients_share_one_encoding_at_the_capped_rate(tmp_path: Path) -> None:
    run = start_live(tmp_path, stream_fps=10.0)
    try:
        wait_for(lambda: get(run.url + "healthz").status == 200, what="frames")
        got: list[int] = []

        def watch() -> None:
            got.append(len(read_mjpeg(run.url + "stream.mjpg", 15)))

        started = time.monotonic()
        clients = [threading.Thread(target=watch) for _ in range(3)]
        for client in clients:
            client.start()
        for client in clients:
            client.join(30)
        took = time.monotonic() - started
    finally:
        run.stop_frames()
        run.sink.close()
    assert got == [15, 15, 15]
    # three clients, ~15 pictures each, at most 10 a second: encoded once for all of them
    assert run.sink.encoded <= 10 * took + 2
    assert run.sink.encoded < 3 * 15


# --- isolation: slow clients never slow the frame loop ------------------------------------------


def stalled_client(port: int, path: str) -> socket.socket:
    """A client that asks for a stream and never reads a byte of it."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    return sock


def test_a_stalled_client_slows_neither_emit_nor_other_clients_and_close_is_bounded() -> None:
    telemetry = Telemetry("cam0")
    stall_s = 1.0
    sink = HttpSink(telemetry, port=0, stream_fps=100.0, stall_s=stall_s)
    stalled = [stalled_client(sink.port, p) for p in ("/stream.mjpg", "/api/v1/events")]
    try:
        wait_for(lambda: sink.clients == 2, 5, "the stalled clients to connect")
        healthy: list[int] = []
        reader = threading.Thread(
            target=lambda: healthy.append(len(read_mjpeg(sink.url + "stream.mjpg", 40)))
        )
        reader.start()
        # when the output thread emits big frames at 100 fps while one client reads nothing,
        # until the server gives up on that client
        took = []
        seq = 0
        deadline = time.monotonic() + 15
        while (seq < 200 or sink.clients > 1) and time.monotonic() < deadline:
            result, frame = fake_result(seq, noisy=True)
            telemetry.observe(result)
            t0 = time.perf_counter()
            sink.emit(result, frame)
            took.append(time.perf_counter() - t0)
            seq += 1
            time.sleep(0.01)
        reader.join(10)
        # then emit stayed quick: it never waits for a client (one that did would wait up to
        # stall_s; a tenth of it leaves room for a loaded 2-core machine's scheduling)
        assert statistics.median(took) < 0.0005, statistics.median(took)
        assert max(took) < 0.1 * stall_s, max(took)
        # and the reading client got its pictures all the same
        assert healthy == [40]
        # and the stalled stream client was dropped once it took nothing for stall_s (the SSE
        # one takes a few hundred bytes a second: its buffers have not filled)
        assert sink.clients == 1, "the stalled MJPEG client was not dropped"
    finally:
        # and close takes about a second at most, with a client still connected
        t0 = time.monotonic()
        sink.close()
        closed = time.monotonic() - t0
        for sock in stalled:
            sock.close()
    assert closed < 1.2
    assert not sink._thread.is_alive()


# --- the bearer token -------------------------------------------------------------------------


def test_the_token_guards_every_route_but_health_and_is_never_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    telemetry = Telemetry("cam0")
    sink = HttpSink(telemetry, port=0, token=TOKEN)
    try:
        result, frame = fake_result(1)
        telemetry.observe(result)
        sink.emit(result, frame)
        for path in ("", "app.js", "api/v1/latest", "api/v1/events", "stream.mjpg", "metrics"):
            denied = get(sink.url + path)
            assert denied.status == 401, path
            assert denied.headers["WWW-Authenticate"].startswith("Bearer")
            assert get(sink.url + path, {"Authorization": "Bearer wrong"}).status == 401
        assert get(sink.url + "healthz").status == 200  # for systemd and load balancers
        bearer = {"Authorization": f"Bearer {TOKEN}"}
        assert get(sink.url + "api/v1/latest", bearer).json()["frame"] == 1
        assert get(sink.url + "metrics", bearer).status == 200
        # a browser opens /?token=… once: the token leaves the address bar for a cookie
        assert get(sink.url + "api/v1/latest?token=" + TOKEN).status == 401
        swap = get(sink.url + "?token=" + TOKEN)
        assert swap.status == 303 and swap.headers["Location"] == "/"
        cookie = swap.headers["Set-Cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and TOKEN not in cookie
        session = {"Cookie": cookie.split(";", 1)[0]}
        assert get(sink.url + "api/v1/latest", session).status == 200
        assert get(sink.url, session).status == 200
        assert get(sink.url, {"Cookie": "edgecam_session=forged"}).status == 401
    finally:
        sink.close()
    assert caplog.records and all(TOKEN not in r.getMessage() for r in caplog.records)


def test_the_token_comes_from_a_file_or_a_systemd_credential(tmp_path: Path) -> None:
    (tmp_path / "token").write_text(f"{TOKEN}\n")
    assert read_token(tmp_path / "token", None) == TOKEN
    assert read_token(None, "token", {"CREDENTIALS_DIRECTORY": str(tmp_path)}) == TOKEN
    assert read_token(None, None) is None


@pytest.mark.parametrize(
    ("content", "credential", "environ", "needle"),
    [
        (None, None, {}, "not found"),
        ("", None, {}, "is empty"),
        ("two words", None, {}, "one token"),
        (TOKEN, "token", {}, "CREDENTIALS_DIRECTORY"),
        (None, "token", {"CREDENTIALS_DIRECTORY": "/nonexistent"}, "not found"),
    ],
)
def test_a_bad_token_source_is_one_line_that_never_shows_the_token(
    tmp_path: Path,
    content: str | None,
    credential: str | None,
    environ: dict[str, str],
    needle: str,
) -> None:
    path = tmp_path / "token"
    if content is not None:
        path.write_text(content)
    with pytest.raises(HttpError) as caught:
        read_token(None if credential else path, credential, environ)
    message = str(caught.value)
    assert needle in message and "\n" not in message and TOKEN not in message


# --- listening ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("8080", (None, 8080)),
        ("0", (None, 0)),
        ("127.0.0.1:9000", ("127.0.0.1", 9000)),
        ("0.0.0.0:80", ("0.0.0.0", 80)),
        ("localhost:8080", ("localhost", 8080)),
        ("[::1]:8080", ("::1", 8080)),
    ],
)
def test_listen_addresses_parse(text: str, expected: tuple[str | None, int]) -> None:
    assert parse_listen(text) == expected


@pytest.mark.parametrize("text", ["", "http", "host:", ":8080", "65536", "1.2.3.4:x", "::1:80"])
def test_a_bad_listen_address_is_one_line(text: str) -> None:
    with pytest.raises(HttpError, match=r"expected \[HOST:\]PORT"):
        parse_listen(text)


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        *[("127.0.0.1", True), ("127.1.2.3", True), ("::1", True), ("localhost", True)],
        *[("0.0.0.0", False), ("::", False), ("192.168.1.5", False), ("camera.local", False)],
    ],
)
def test_only_loopback_hosts_count_as_private(host: str, loopback: bool) -> None:
    # (a server on any other host without a token logs a warning at start)
    assert is_loopback(host) is loopback


def test_a_port_in_use_fails_before_any_frame_in_one_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [EDGECAM, "run", "--source", "synthetic", "--no-display", "--http", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert done.returncode == 2
    assert_one_line_error(done.stderr, f"127.0.0.1:{port}", "in use", "--http")
    assert done.stdout == ""  # no result: it failed before the first frame


@pytest.mark.parametrize("flag", ["nope", "70000", "host:"])
def test_a_bad_http_flag_is_one_line(flag: str) -> None:
    done = subprocess.run(
        [EDGECAM, "replay", "x.mp4", "--http", flag],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert_one_line_error(done.stderr, "--http", "[HOST:]PORT")


def test_edgecam_run_serves_the_config_token_and_the_flag_port_until_sigterm(
    tmp_path: Path,
) -> None:
    # given a config with a token file, and the port from the flag (which overrides the
    # config's port, and keeps its host)
    (tmp_path / "token").write_text(TOKEN + "\n")
    config = tmp_path / "edgecam.toml"
    config.write_text(
        f'[camera]\nsource = "synthetic:{READING}"\n[results]\njsonl = ""\n'
        f'[http]\nport = 1\ntoken_file = "{tmp_path / "token"}"\nhealth_window_s = 2.0\n'
    )
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    proc = subprocess.Popen(
        [EDGECAM, "run", "--config", str(config), "--http", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:

        def healthy() -> bool:
            try:
                return get(url + "healthz").status == 200
            except OSError:
                return False

        # then it serves, health without the token, the rest with it only
        wait_for(healthy, 60, "edgecam run to serve")
        assert get(url + "api/v1/latest").status == 401
        bearer = {"Authorization": f"Bearer {TOKEN}"}
        assert get(url + "api/v1/latest", bearer).json()["text"] == READING
        # and SIGTERM still stops it quickly
        took, stderr = sigterm(proc)
    finally:
        proc.kill()
    assert proc.returncode == 0, stderr
    assert took < 2.5
    assert "sinks http" in stderr and url in stderr and "bearer token required" in stderr
    assert TOKEN not in stderr and "Traceback" not in stderr


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("[http]\nport = 70000", "http.port"),
        ("[http]\nport = -1", "http.port"),
        ("[http]\nstream_fps = 0", "http.stream_fps"),
        ("[http]\njpeg_quality = 101", "http.jpeg_quality"),
        ('[http]\ntoken_credential = "a/b"', "systemd credential name"),
        ('[http]\ntoken_file = "/t"\ntoken_credential = "t"', "give one, not both"),
        ("[http]\nprot = 8080", "did you mean port?"),
    ],
)
def test_a_bad_http_section_is_one_line_naming_the_key(
    tmp_path: Path, text: str, needle: str
) -> None:
    path = tmp_path / "edgecam.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert needle in str(caught.value) and "\n" not in str(caught.value)


# --- the live page in a real browser -----------------------------------------------------------

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


@pytest.fixture(scope="module")
def browser_paths() -> tuple[str, str]:
    setup = "run scripts/setup.sh dev as root (it installs chromium and chromium-driver)"
    for path in (CHROMIUM, CHROMEDRIVER):
        if not os.access(path, os.X_OK):
            pytest.fail(f"{path} is not installed: {setup}")
    return CHROMIUM, CHROMEDRIVER


def open_browser(
    paths: tuple[str, str], tmp_path: Path, width: int, height: int, mobile: bool = False
) -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = paths[0]
    for arg in (
        "--headless=new",
        "--no-sandbox",  # root in a VM or container
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--force-device-scale-factor=1",
        f"--window-size={width},{height}",
        f"--user-data-dir={tmp_path / f'chromium-{width}'}",
    ):
        options.add_argument(arg)
    service = Service(paths[1], log_output=str(tmp_path / "chromedriver.log"))
    driver = webdriver.Chrome(options=options, service=service)
    # The viewport itself, exactly (a headless window's size includes room for browser UI).
    metrics = {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile}
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
    return driver


def png(data: bytes) -> npt.NDArray[np.uint8]:
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None
    return np.asarray(image, np.uint8)


def crop(shot: npt.NDArray[np.uint8], rect: dict[str, float]) -> npt.NDArray[np.uint8]:
    x, y = round(rect["x"]), round(rect["y"])
    return shot[y : y + round(rect["height"]), x : x + round(rect["width"])]


def test_the_live_page_in_chromium(browser_paths: tuple[str, str], tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    run = start_live(tmp_path, token=TOKEN)
    driver = open_browser(browser_paths, tmp_path, 1280, 800)
    try:
        wait_for(lambda: run.telemetry.snapshot()["frames"] > 0, what="frames")
        # given a user opening the address the daemon logged, with the token once
        driver.get(run.url + "?token=" + TOKEN)
        assert driver.current_url == run.url  # the token left the address bar
        wait = WebDriverWait(driver, 20)
        reading = driver.find_element(By.ID, "reading")
        wait.until(lambda d: reading.text.strip() not in ("", "\u2014"))
        wait.until(lambda d: d.find_element(By.ID, "fps").text.replace(".", "").isdigit())
        video = driver.find_element(By.ID, "video")
        wait.until(lambda d: d.execute_script("return arguments[0].naturalWidth", video) == 640)

        # then the reading shown is the API's
        bearer = {"Authorization": f"Bearer {TOKEN}"}
        assert reading.text == get(run.url + "api/v1/latest", bearer).json()["text"] == READING

        # and the video moves between two screenshots a second apart
        first = png(driver.get_screenshot_as_png())
        time.sleep(1.0)
        second = png(driver.get_screenshot_as_png())
        cv2.imwrite(str(tmp_path / "page-1280.png"), second)
        rect = video.rect
        a, b = crop(first, rect), crop(second, rect)
        assert a.shape[0] > 300 and a.shape[1] > 500
        assert np.abs(a.astype(int) - b.astype(int)).mean() > 0.5

        # and the layout renders: the video on the left, scaled up from 640×480 and showing
        # the overlay's dark status bar along its top; the reading large, to its right
        fit = min(rect["width"] / 640, rect["height"] / 480)  # object-fit: contain
        top = round((rect["height"] - 480 * fit) / 2)
        assert 640 * fit > 600  # scaled up to use the room it has
        bar = b[top + 2 : top + round(10 * fit), b.shape[1] // 2 : b.shape[1] * 3 // 4]
        assert np.abs(bar.astype(int) - np.array(STATUS_BACKGROUND)).max(axis=2).mean() < 25
        panel = reading.rect
        assert panel["x"] >= rect["x"] + rect["width"] and panel["y"] < 400
        size = float(reading.value_of_css_property("font-size").removesuffix("px"))
        assert size >= 40
        glyphs = crop(second, panel)
        assert (glyphs.max(axis=2) > 200).sum() > 200  # light digits drawn on the dark panel
        chart = driver.find_element(By.ID, "chart").rect
        assert chart["width"] > 200 and chart["height"] > 100 and chart["y"] + 10 < 800
    finally:
        driver.quit()
        run.stop_frames()
        run.sink.close()


def test_the_live_page_fits_a_phone(browser_paths: tuple[str, str], tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    run = start_live(tmp_path)
    driver = open_browser(browser_paths, tmp_path, 390, 844, mobile=True)
    try:
        driver.get(run.url)
        reading = driver.find_element(By.ID, "reading")
        WebDriverWait(driver, 20).until(lambda d: reading.text == READING)
        video = driver.find_element(By.ID, "video")
        viewport = driver.execute_script("return document.documentElement.clientWidth")
        overflow = driver.execute_script(
            "return document.documentElement.scrollWidth > document.documentElement.clientWidth"
        )
        cv2.imwrite(str(tmp_path / "page-phone.png"), png(driver.get_screenshot_as_png()))
        # one column: the video across the screen, the reading under it, nothing off the side
        assert video.rect["width"] >= viewport - 40
        assert reading.rect["y"] >= video.rect["y"] + video.rect["height"]
        assert not overflow
    finally:
        driver.quit()
        run.stop_frames()
        run.sink.close()


def test_the_page_assets_ship_with_the_package() -> None:
    from importlib import resources

    web = resources.files("edgecam.web")
    for name in ("index.html", "app.js", "style.css"):
        text = web.joinpath(name).read_text(encoding="utf-8")
        assert "http://" not in text and "https://" not in text, f"{name} must work offline"

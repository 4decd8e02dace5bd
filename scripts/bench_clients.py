"""Does watching the daemon slow it? Processing fps with no clients, then with browsers + MQTT.

Two runs of ``edgecam run`` on a live camera paced at 30 fps (the synthetic sheet, unless
``--source`` names another), each with the HTTP server on (``--http``) and results nowhere:

* ``baseline``: nobody connected, MQTT off;
* ``loaded``: ``--clients`` real headless Chromium browsers (Debian's chromium through
  Selenium) on the live page — each pulls ``/stream.mjpg`` and ``/api/v1/events`` — and, when
  the MQTT sink and ``mosquitto`` exist, ``--mqtt`` to a broker started on a free loopback
  port. ``--client-kind http`` uses plain streaming HTTP readers instead of browsers.

Each run warms up (``--warmup``), then measures for ``--duration`` seconds from two scrapes
of ``/metrics``: processing fps (results per second), the drop ratio (frames the live camera
overwrote before they were read, over all frames), and the daemon's CPU share. It ends with
SIGINT and keeps the fps of the daemon's own exit line too. One JSON line is printed::

    .venv/bin/python scripts/bench_clients.py [--duration 300] [--clients 3]
        [--client-kind chromium|http] [--mqtt auto|off] [--source synthetic:31415,92653]
        [--keyframe-interval N]

The acceptance asks 5 minutes (the default) and at most a 10 % fall in fps.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

EDGECAM = str(Path(sys.executable).parent / "edgecam")
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
EXIT_LINE = re.compile(r"stopped after (\d+) frames \(([\d.]+) fps, (\d+) dropped\)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(check: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with suppress(OSError):
            value = check()
            if value:
                return value
        time.sleep(0.2)
    raise SystemExit(f"bench_clients: timed out waiting for {what}")


def fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as reply:
        return bytes(reply.read())


def scrape(base: str) -> dict[str, float]:
    """Totals from /metrics: frames, dropped, and the MQTT connection where it is reported."""
    out = {"frames": 0.0, "dropped": 0.0}
    for family in text_string_to_metric_families(fetch(base + "metrics").decode()):
        for sample in family.samples:
            if sample.name == "edgecam_frames_total":
                out["frames"] += sample.value
            elif sample.name == "edgecam_dropped_frames_total":
                out["dropped"] += sample.value
            elif sample.name == "edgecam_mqtt_connected":
                out["mqtt_connected"] = sample.value
    out["t"] = time.monotonic()
    return out


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def mqtt_available() -> bool:
    help_text = subprocess.run(
        [EDGECAM, "run", "--help"], capture_output=True, text=True, check=False
    ).stdout
    return "--mqtt" in help_text and shutil.which("mosquitto") is not None


@contextmanager
def broker(folder: Path) -> Iterator[str]:
    """mosquitto on a free loopback port, for this run only."""
    port = free_port()
    conf = folder / "mosquitto.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
    proc = subprocess.Popen(
        ["mosquitto", "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_until(
            lambda: socket.create_connection(("127.0.0.1", port), 1).close() or True,
            10,
            "mosquitto",
        )
        yield f"mqtt://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(5)


def open_browser(url: str, profile: Path) -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1280,800",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": 1280, "height": 800, "deviceScaleFactor": 1, "mobile": False},
    )
    driver.get(url)
    return driver


@contextmanager
def clients(kind: str, count: int, base: str, folder: Path) -> Iterator[Callable[[], str]]:
    """``count`` clients on the page (browsers) or its two streams (HTTP readers); yields a
    function giving the reading a browser shows (empty for HTTP readers)."""
    if kind == "chromium":
        drivers = []
        try:
            for i in range(count):
                drivers.append(open_browser(base, folder / f"chromium-{i}"))

            def shown() -> str:
                from selenium.webdriver.common.by import By

                return str(drivers[0].find_element(By.ID, "reading").text)

            yield shown
        finally:
            for driver in drivers:
                with suppress(Exception):
                    driver.quit()
        return
    stop = threading.Event()

    def read(path: str) -> None:
        with suppress(OSError), urllib.request.urlopen(base + path, timeout=10) as reply:
            while not stop.is_set() and reply.read1(65536):
                pass

    threads = [
        threading.Thread(target=read, args=(path,), daemon=True)
        for _ in range(count)
        for path in ("stream.mjpg", "api/v1/events")
    ]
    for thread in threads:
        thread.start()
    try:
        yield lambda: ""
    finally:
        stop.set()
        for thread in threads:
            thread.join(5)


def one_run(args: argparse.Namespace, loaded: bool, folder: Path) -> dict[str, Any]:
    port = free_port()
    base = f"http://127.0.0.1:{port}/"
    use_mqtt = loaded and args.mqtt_on
    command = [EDGECAM, "run", "--source", args.source, "--no-display", "--results", ""]
    command += ["--http", f"127.0.0.1:{port}"]
    if args.keyframe_interval:
        command += ["--keyframe-interval", str(args.keyframe_interval)]
    with broker(folder) if use_mqtt else _nothing("") as mqtt_url:
        if use_mqtt:
            command += ["--mqtt", mqtt_url]
        log = (folder / f"{'loaded' if loaded else 'baseline'}.log").open("w+")
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=log, text=True)
        try:
            wait_until(lambda: json.loads(fetch(base + "healthz"))["status"] == "ok", 60, "frames")
            want = args.clients * 2 if loaded else 0
            with (
                clients(args.client_kind, args.clients, base, folder)
                if loaded
                else _nothing(lambda: "")
            ) as shown:
                wait_until(
                    lambda: json.loads(fetch(base + "api/v1/stats"))["clients"] == want,
                    60,
                    f"{want} streaming clients",
                )
                time.sleep(args.warmup)
                first, cpu0 = scrape(base), cpu_seconds(proc.pid)
                time.sleep(args.duration)
                last, cpu1 = scrape(base), cpu_seconds(proc.pid)
                connected = json.loads(fetch(base + "api/v1/stats"))["clients"]
                reading = shown()
                latest = json.loads(fetch(base + "api/v1/latest"))["text"]
        finally:
            proc.send_signal(signal.SIGINT)
            with suppress(subprocess.TimeoutExpired):
                proc.wait(15)
            proc.kill()
        log.seek(0)
        text = log.read()
    exit_line = EXIT_LINE.search(text)
    span = last["t"] - first["t"]
    frames, dropped = last["frames"] - first["frames"], last["dropped"] - first["dropped"]
    result: dict[str, Any] = {
        "fps": round(frames / span, 2),
        "drop_ratio": round(dropped / max(frames + dropped, 1), 4),
        "daemon_cpu_pct": round(100 * (cpu1 - cpu0) / span, 1),
        "frames": int(frames),
        "exit_fps": float(exit_line.group(2)) if exit_line else None,
        "clients_connected_at_end": connected,
    }
    if loaded:
        result["client_kind"] = args.client_kind
        result["clients"] = args.clients
        result["mqtt"] = use_mqtt
        if use_mqtt:
            result["mqtt_connected"] = bool(last.get("mqtt_connected"))
        if args.client_kind == "chromium":
            result["page_reading_matches_latest"] = reading == latest
    return result


@contextmanager
def _nothing(value: Any) -> Iterator[Any]:
    yield value


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--duration", type=float, default=300.0, help="seconds measured per run")
    parser.add_argument("--warmup", type=float, default=10.0, help="seconds before measuring")
    parser.add_argument("--source", default="synthetic:31415,92653", help="a live 30 fps source")
    parser.add_argument("--clients", type=int, default=3)
    parser.add_argument("--client-kind", choices=("chromium", "http"), default="chromium")
    parser.add_argument("--mqtt", choices=("auto", "off"), default="auto")
    parser.add_argument("--keyframe-interval", type=int, help="passed to edgecam run")
    args = parser.parse_args()
    if args.client_kind == "chromium" and not all(
        os.access(p, os.X_OK) for p in (CHROMIUM, CHROMEDRIVER)
    ):
        raise SystemExit("bench_clients: chromium and chromium-driver are needed (apt)")
    args.mqtt_on = args.mqtt == "auto" and mqtt_available()
    with tempfile.TemporaryDirectory(prefix="edgecam-bench-clients-") as tmp:
        baseline = one_run(args, loaded=False, folder=Path(tmp))
        loaded = one_run(args, loaded=True, folder=Path(tmp))
    change = 100 * (loaded["fps"] - baseline["fps"]) / baseline["fps"]
    report = {
        "source": args.source,
        "duration_s": args.duration,
        "warmup_s": args.warmup,
        "keyframe_interval": args.keyframe_interval,
        "baseline": baseline,
        "loaded": loaded,
        "fps_change_pct": round(change, 2),
        "within_10pct": change >= -10.0,
    }
    if args.mqtt == "auto" and not args.mqtt_on:
        report["note"] = "MQTT skipped: no --mqtt flag in edgecam run or no mosquitto"
    print(json.dumps(report), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The window sink: a real window on a real X server (Xvfb), and its rules with a stand-in GUI."""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from edgecam.overlay import PALETTE, STATUS_BACKGROUND, text_color
from edgecam.sinks import window as window_module
from edgecam.sinks.base import Sink
from edgecam.sinks.window import NO_DISPLAY, DisplayUnavailable, WindowSink, x_display_answers
from edgecam.types import Detections, Frame, Result

ROOT = Path(__file__).resolve().parent.parent


# --- a real X server -----------------------------------------------------------------------


def read_display_number(fd: int, xvfb: subprocess.Popen[bytes], log: Path) -> int:
    """Xvfb writes the display it chose to -displayfd once it accepts connections."""
    data = b""
    deadline = time.monotonic() + 15
    while b"\n" not in data:
        left = deadline - time.monotonic()
        ready, _, _ = select.select([fd], [], [], max(left, 0))
        chunk = os.read(fd, 64) if ready else b""
        if not chunk:
            xvfb.kill()
            xvfb.wait()
            pytest.fail(f"Xvfb did not start:\n{log.read_text(errors='replace')}")
        data += chunk
    return int(data.strip())


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def wait_for_window_manager(x_display: str, wm: subprocess.Popen[bytes], log: Path) -> None:
    """A window manager announces itself with _NET_SUPPORTING_WM_CHECK on the root window."""
    from Xlib import display

    conn = display.Display(x_display)
    try:
        check = conn.intern_atom("_NET_SUPPORTING_WM_CHECK")
        deadline = time.monotonic() + 15
        while conn.screen().root.get_full_property(check, 0) is None:
            if wm.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"openbox did not start:\n{log.read_text(errors='replace')}")
            time.sleep(0.05)
    finally:
        conn.close()


@pytest.fixture(scope="module")
def x_display(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A virtual screen with a window manager, as on a desktop.

    The window manager is not decoration: with none, the wheel's Qt now and then misses the
    window's MapNotify and never paints it (about one start in ten here), a flaky black window.
    """
    setup = "run scripts/setup.sh as root (it installs xvfb and openbox)"
    xvfb, openbox = shutil.which("Xvfb"), shutil.which("openbox")
    if xvfb is None or openbox is None:
        pytest.fail(f"{'Xvfb' if xvfb is None else 'openbox'} is not installed: {setup}")
    if find_spec("Xlib") is None:
        pytest.fail("python-xlib is missing: run scripts/setup.sh dev (the dev extra has it)")
    home = tmp_path_factory.mktemp("x11")
    read_fd, write_fd = os.pipe()
    with (home / "xvfb.log").open("wb") as err:
        server = subprocess.Popen(
            [xvfb, "-displayfd", str(write_fd), "-screen", "0", "1280x1024x24", "-nolisten", "tcp"],
            pass_fds=(write_fd,),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    os.close(write_fd)
    try:
        name = f":{read_display_number(read_fd, server, home / 'xvfb.log')}"
        env = {**os.environ, "DISPLAY": name, "HOME": str(home), "XDG_CONFIG_HOME": str(home)}
        env["XDG_CACHE_HOME"] = str(home)
        with (home / "openbox.log").open("wb") as err:
            wm = subprocess.Popen(
                [openbox], env=env, stdin=subprocess.DEVNULL, stdout=err, stderr=err
            )
        try:
            wait_for_window_manager(name, wm, home / "openbox.log")
            yield name
        finally:
            stop(wm)
    finally:
        os.close(read_fd)
        stop(server)


def run_helper(x_display: str, tmp_path: Path, *args: str) -> dict[str, Any]:
    runtime = tmp_path / "xdg-runtime"
    runtime.mkdir(mode=0o700, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k not in ("WAYLAND_DISPLAY", "XAUTHORITY")}
    env.update(
        DISPLAY=x_display,
        QT_QPA_PLATFORM="xcb",
        XDG_RUNTIME_DIR=str(runtime),  # Qt warns without one
        QT_LOGGING_RULES="*.debug=false;qt.qpa.*=false",
    )
    proc = subprocess.run(
        [sys.executable, "-m", "tests.window_helper", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if proc.returncode != 0 or not proc.stdout.strip():
        pytest.fail(f"window helper failed ({proc.returncode}):\n{proc.stderr}")
    report: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return report


def test_the_daemon_opens_its_window_by_default_when_a_display_exists(
    x_display: str, tmp_path: Path
) -> None:
    # The README's first command on a desktop: no config, a screen, so the overlay window
    # opens; the results still go to stdout, and the run ends cleanly.
    runtime = tmp_path / "xdg-runtime"
    runtime.mkdir(mode=0o700, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k not in ("WAYLAND_DISPLAY", "XAUTHORITY")}
    env.update(DISPLAY=x_display, QT_QPA_PLATFORM="xcb", XDG_RUNTIME_DIR=str(runtime))
    edgecam = str(Path(sys.executable).parent / "edgecam")
    proc = subprocess.run(
        [edgecam, "run", "--source", "synthetic:31415", "--max-frames", "30"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "sinks jsonl, window" in proc.stderr
    results = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(results) == 30 and results[-1]["text"] == "31415"


def test_the_window_shows_the_overlay_on_the_screen(x_display: str, tmp_path: Path) -> None:
    from tests.window_helper import BOX, TRACK, expected_image, locate

    report = run_helper(x_display, tmp_path, "show", str(tmp_path / "shot.png"))
    shot = cv2.imread(str(tmp_path / "shot.png"))
    assert shot is not None and report["found"] and report["painted"], report

    # Where the window's contents are depends on the window manager: find them.
    expected = expected_image()
    found = locate(shot, expected)
    assert found is not None, "the window does not show the overlay pixel for pixel"
    left, top = found
    view = shot[top : top + expected.shape[0], left : left + expected.shape[1]]

    x, y, w, h = BOX
    color = PALETTE[TRACK]
    for edge in (view[y, x : x + w], view[y + h - 1, x : x + w], view[y : y + h, x]):
        assert (edge == color).all()
    assert (view[y + 2 : y + h - 2, x + 2 : x + w - 2] != color).any(axis=2).all()
    digit = (view[y : y + h, x : x + w] < 80).all(axis=2)
    assert digit.sum() > 500  # the dark 7 is inside the box
    above = view[y - 20 : y, x : x + 40]
    assert (above[-1] == color).all()  # label background on the box's top edge
    assert (above == text_color(color)).all(axis=2).any()  # and its text
    assert (view[0, -1] == STATUS_BACKGROUND).all()
    assert not report["mapped_after_close"]


@pytest.mark.parametrize("key", ["q", "Escape"])
def test_q_or_esc_requests_stop(x_display: str, tmp_path: Path, key: str) -> None:
    report = run_helper(x_display, tmp_path, f"key:{key}", str(tmp_path / "shot.png"))
    assert report["found"] and report["painted"], report
    assert report["stop_requested"]
    assert not report["mapped_after_close"]


def test_closing_the_window_requests_stop_and_it_stays_closed(
    x_display: str, tmp_path: Path
) -> None:
    report = run_helper(x_display, tmp_path, "close", str(tmp_path / "shot.png"))
    assert report["found"] and report["painted"], report
    assert report["stop_requested"]
    assert not report["mapped_after"]


def test_a_running_x_server_answers_and_a_missing_one_does_not(x_display: str) -> None:
    assert x_display_answers(x_display)
    assert x_display_answers(f"unix{x_display}.0")
    assert not x_display_answers(":59999")
    assert not x_display_answers("nonsense")


# --- no display ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("environ", "says"),
    [
        ({}, NO_DISPLAY),
        ({"DISPLAY": ""}, NO_DISPLAY),
        ({"DISPLAY": ":59999"}, "does not answer"),
    ],
)
def test_no_display_is_a_clear_one_line_error(environ: dict[str, str], says: str) -> None:
    with pytest.raises(DisplayUnavailable) as caught:
        WindowSink(environ=environ)
    assert says in str(caught.value)
    assert "\n" not in str(caught.value)


def test_wayland_alone_is_refused_when_opencv_draws_with_qt(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The pip wheel's Qt speaks X11 only and would abort the process."""
    monkeypatch.setattr(cv2, "currentUIFramework", lambda: "QT")
    with pytest.raises(DisplayUnavailable, match="X11"):
        WindowSink(environ={"WAYLAND_DISPLAY": "wayland-0"})


# --- its rules, with a stand-in for OpenCV's GUI ---------------------------------------------


class FakeGui:
    """Records GUI calls; ``keys`` are what waitKey returns, one per call."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: list[tuple[str, int]] = []
        self.keys: list[int] = []
        self.visible = True
        for name in ("namedWindow", "resizeWindow", "imshow", "destroyWindow"):
            monkeypatch.setattr(cv2, name, self._recorder(name))
        monkeypatch.setattr(cv2, "waitKey", self._wait_key)
        monkeypatch.setattr(cv2, "getWindowProperty", self._property)
        monkeypatch.setattr(window_module, "check_display", lambda environ: None)

    def _recorder(self, name: str) -> Callable[..., None]:
        def record(*args: object) -> None:
            self.calls.append((name, threading.get_ident()))

        return record

    def _wait_key(self, delay: int) -> int:
        self.calls.append(("waitKey", threading.get_ident()))
        return self.keys.pop(0) if self.keys else -1

    def _property(self, title: str, prop: int) -> float:
        if not self.visible:
            raise cv2.error("NULL guiReceiver (please create a window)")
        return 1.0

    def count(self, name: str) -> int:
        return sum(1 for call, _ in self.calls if call == name)


def sample(seq: int = 0) -> tuple[Result, Frame]:
    image = np.full((48, 64, 3), 255, np.uint8)
    det = Detections(
        boxes=np.array([[10, 10, 20, 20]], np.int32),
        labels=np.array([7], np.int64),
        confidences=np.array([0.9], np.float32),
    )
    result = Result("cam0", seq, 1000.0 + seq / 30, 64, 48, det, "7", {})
    return result, Frame(image, seq, 0.0, 1000.0 + seq / 30, "cam0")


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("max_fps", "arrivals", "shown"),
    [
        (30.0, [i / 60 for i in range(60)], 30),  # a 60 fps camera is halved
        (30.0, [i / 30 + (0.004 if i % 2 else -0.004) for i in range(30)], 30),  # jitter kept
        (10.0, [i / 30 for i in range(30)], 10),
        (None, [i / 60 for i in range(60)], 60),
        (30.0, [0.0, 0.001, 0.002, 5.0, 5.001], 2),  # no credit saved up over a pause
    ],
)
def test_the_display_rate_is_capped_but_events_are_always_pumped(
    monkeypatch: pytest.MonkeyPatch, max_fps: float | None, arrivals: list[float], shown: int
) -> None:
    gui = FakeGui(monkeypatch)
    clock = Clock()
    sink = WindowSink(title="t", max_fps=max_fps, clock=clock)
    for seq, at in enumerate(arrivals):
        clock.now = 100.0 + at
        sink.emit(*sample(seq))
    assert sink.shown == gui.count("imshow") == shown
    assert gui.count("waitKey") == len(arrivals)
    assert gui.count("namedWindow") == 1


def test_frames_not_drawn_still_count_in_the_status_bar_rate(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    FakeGui(monkeypatch)
    clock = Clock()
    sink = WindowSink(title="t", max_fps=10.0, clock=clock)
    for seq in range(31):
        clock.now = 100.0 + seq / 30
        sink.emit(*sample(seq))
    bar = sink.overlay.status_bar
    assert bar is not None and bar.fps() == pytest.approx(30.0)


@pytest.mark.parametrize("key", [ord("q"), ord("Q"), 27, 0x100000 | ord("q")])
def test_stop_keys(monkeypatch: pytest.MonkeyPatch, key: int) -> None:
    gui = FakeGui(monkeypatch)
    sink = WindowSink(title="t")
    assert isinstance(sink, Sink) and sink.name == "window" and not sink.stop_requested
    sink.emit(*sample())
    assert not sink.stop_requested
    gui.keys = [ord("x"), key]
    sink.emit(*sample(1))
    assert not sink.stop_requested
    sink.emit(*sample(2))
    assert sink.stop_requested


def test_a_window_closed_by_the_user_requests_stop_and_is_not_reopened(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    gui = FakeGui(monkeypatch)
    sink = WindowSink(title="t", max_fps=None)
    sink.emit(*sample())
    gui.visible = False
    sink.emit(*sample(1))
    assert sink.stop_requested
    sink.emit(*sample(2))
    sink.close()
    assert gui.count("imshow") == 2
    assert gui.count("namedWindow") == 1
    assert gui.count("destroyWindow") == 0


def test_gui_calls_stay_on_the_thread_that_emits(monkeypatch: pytest.MonkeyPatch) -> None:
    gui = FakeGui(monkeypatch)
    sink = WindowSink(title="t")

    def output_thread() -> None:
        sink.emit(*sample())

    worker = threading.Thread(target=output_thread)
    worker.start()
    worker.join()
    with pytest.raises(RuntimeError, match="one thread"):
        sink.emit(*sample(1))
    sink.close()  # from the wrong thread: logged and left alone, never a GUI call here
    assert gui.count("destroyWindow") == 0
    assert {thread for _, thread in gui.calls} == {worker.ident}


def test_close_takes_the_window_down_once(monkeypatch: pytest.MonkeyPatch) -> None:
    gui = FakeGui(monkeypatch)
    sink = WindowSink(title="t")
    sink.close()  # never shown: nothing to do
    assert gui.calls == []
    sink.emit(*sample())
    sink.close()
    sink.close()
    assert gui.count("destroyWindow") == 1


def test_the_title_names_the_camera_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    FakeGui(monkeypatch)
    sink = WindowSink()
    sink.emit(*sample())
    assert sink.title == "edgecam — cam0"

"""Drives a real WindowSink on the X display in $DISPLAY, in its own process (tests/test_window.py).

OpenCV's Qt GUI is process-wide state, so each scenario runs here rather than in pytest:
    python -m tests.window_helper show OUT.png   show the scene, save a screenshot of the screen
    python -m tests.window_helper key:q          show, press q (XTest), pump until stop_requested
    python -m tests.window_helper close          show, close the window as a window manager would
The last stdout line is a JSON report. Every sink call runs on a worker thread, as the pipeline's
output thread would make them.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
from Xlib import XK, X, display, error, protocol
from Xlib.ext import xtest
from Xlib.xobject.drawable import Window

from edgecam.overlay import Overlay
from edgecam.sinks.window import WindowSink
from edgecam.types import Detections, Frame, Result

TITLE = "edgecam — test"
SIZE = (640, 480)
BOX = (240, 150, 120, 170)  # x, y, w, h around the drawn 7
TRACK = 1
FRAMES = 6


def scene() -> list[tuple[Result, Frame]]:
    """A white picture with a dark 7 and its detection, over a few frames 1/30 s apart."""
    width, height = SIZE
    image = np.full((height, width, 3), 255, np.uint8)
    cv2.line(image, (260, 170), (340, 170), (30, 30, 30), 12)
    cv2.line(image, (340, 170), (285, 300), (30, 30, 30), 12)
    det = Detections(
        boxes=np.array([BOX], np.int32),
        labels=np.array([7], np.int64),
        confidences=np.array([0.98], np.float32),
        track_ids=np.array([TRACK], np.int64),
    )
    out = []
    for i in range(FRAMES):
        wall = 1_000.0 + i / 30
        frame = Frame(image=image, seq=i, captured_mono=wall, captured_wall=wall, source_id="cam0")
        result = Result(
            camera="cam0",
            frame=i,
            captured_wall=wall,
            width=width,
            height=height,
            detections=det,
            text="7",
            latency_ms={"capture_to_result": 25.0},
        )
        out.append((result, frame))
    return out


def expected_image() -> npt.NDArray[np.uint8]:
    """What the window should show once the whole scene went through it."""
    overlay = Overlay.default()
    image = np.empty(0, np.uint8)
    for result, frame in scene():
        image = overlay.render(frame, result)
    return image


def screenshot(conn: display.Display) -> npt.NDArray[np.uint8]:
    root = conn.screen().root
    geometry = root.get_geometry()
    raw = root.get_image(0, 0, geometry.width, geometry.height, X.ZPixmap, 0xFFFFFFFF)
    pixels = np.frombuffer(raw.data, np.uint8).reshape(geometry.height, geometry.width, 4)
    return np.ascontiguousarray(pixels[:, :, :3])  # BGRX on a 24-bit little-endian screen


def find_window(conn: display.Display, title: str) -> Window | None:
    """The mapped window with this title, looking below window-manager frames too."""
    net_wm_name = conn.intern_atom("_NET_WM_NAME")

    def walk(window: Window, depth: int) -> Window | None:
        for child in window.query_tree().children:
            prop = child.get_full_property(net_wm_name, 0)
            if (
                prop is not None
                and bytes(prop.value).decode("utf-8", "replace") == title
                and child.get_attributes().map_state == X.IsViewable
            ):
                return child
            if depth < 2 and (found := walk(child, depth + 1)) is not None:
                return found
        return None

    # A window destroyed while the tree is walked (the window manager's frame of the window
    # just closed, Qt's own helpers) answers BadWindow: walk the tree again.
    for _ in range(20):
        try:
            return walk(conn.screen().root, 0)
        except (error.BadWindow, error.BadDrawable):
            time.sleep(0.02)
    return walk(conn.screen().root, 0)


def locate(shot: npt.NDArray[np.uint8], image: npt.NDArray[np.uint8]) -> tuple[int, int] | None:
    """Top-left of ``image`` in ``shot`` where it appears pixel for pixel, or None.

    Template matching finds the best place (its float sums are not exactly zero even there);
    the pixels then decide.
    """
    scores = cv2.matchTemplate(shot, image, cv2.TM_SQDIFF)
    left, top = cv2.minMaxLoc(scores)[2]
    view = shot[top : top + image.shape[0], left : left + image.shape[1]]
    return (left, top) if np.array_equal(view, image) else None


def on_screen(shot: npt.NDArray[np.uint8], image: npt.NDArray[np.uint8]) -> bool:
    return locate(shot, image) is not None


def run(scenario: str, out: str | None) -> dict[str, Any]:
    conn = display.Display()
    sink = WindowSink(title=TITLE)
    frames = scene()
    for result, frame in frames:
        sink.emit(result, frame)
        time.sleep(1 / 30)
    # Repeat the last result (the status bar ignores repeats) until the screen shows it.
    last = frames[-1]
    expected = expected_image()
    shot = screenshot(conn)
    deadline = time.monotonic() + 10
    while not on_screen(shot, expected) and time.monotonic() < deadline:
        sink.emit(*last)
        time.sleep(0.03)
        shot = screenshot(conn)
    report: dict[str, Any] = {
        "shown": sink.shown,
        "painted": on_screen(shot, expected),
        "waited_s": round(time.monotonic() - deadline + 10, 2),
    }
    if out is not None:
        cv2.imwrite(out, shot)

    window = find_window(conn, TITLE)
    report["found"] = window is not None
    if window is not None:
        geometry = window.get_geometry()
        report["geometry"] = [geometry.x, geometry.y, geometry.width, geometry.height]
    if window is not None and scenario.startswith("key:"):
        window.set_input_focus(X.RevertToParent, X.CurrentTime)
        keycode = conn.keysym_to_keycode(XK.string_to_keysym(scenario.removeprefix("key:")))
        xtest.fake_input(conn, X.KeyPress, keycode)
        xtest.fake_input(conn, X.KeyRelease, keycode)
        conn.sync()
    elif window is not None and scenario == "close":
        protocols = conn.intern_atom("WM_PROTOCOLS")
        delete = conn.intern_atom("WM_DELETE_WINDOW")
        message = protocol.event.ClientMessage(
            window=window, client_type=protocols, data=(32, [delete, X.CurrentTime, 0, 0, 0])
        )
        window.send_event(message)
        conn.sync()

    if scenario != "show":
        deadline = time.monotonic() + 5
        while not sink.stop_requested and time.monotonic() < deadline:
            sink.emit(*last)
            time.sleep(0.02)
        report["stop_requested"] = sink.stop_requested
        for _ in range(5):  # later results must not bring a closed window back
            sink.emit(*last)
            time.sleep(0.02)
        report["mapped_after"] = find_window(conn, TITLE) is not None
    sink.close()
    report["mapped_after_close"] = find_window(conn, TITLE) is not None
    conn.close()
    return report


def main() -> None:
    scenario = sys.argv[1]
    out = sys.argv[2] if len(sys.argv) > 2 else None
    report: dict[str, Any] = {}

    def worker() -> None:
        report.update(run(scenario, out))

    thread = threading.Thread(target=worker, name="output")
    thread.start()
    thread.join()
    if not report:  # the worker raised; threading printed its traceback
        sys.exit(1)
    print(json.dumps(report))


if __name__ == "__main__":
    main()

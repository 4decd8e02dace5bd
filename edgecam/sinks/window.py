"""The live window: the overlay shown with OpenCV's GUI, and q, Esc or closing it to stop."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Mapping

import cv2

from edgecam.errors import UserError
from edgecam.overlay import Overlay
from edgecam.types import Frame, Result

log = logging.getLogger(__name__)

STOP_KEYS = frozenset({ord("q"), ord("Q"), 27})  # 27 is Esc
MAX_START_SIZE = (1280, 800)  # a 1080p camera's window still fits a laptop screen at first
NO_DISPLAY = "no display: set DISPLAY or run headless without --display"


class DisplayUnavailable(UserError):
    """There is no screen to show the window on; the message is one line fit for the CLI."""


def check_display(environ: Mapping[str, str]) -> None:
    """Fail with a clear line now rather than let the GUI toolkit abort the process later.

    Qt (the pip wheel's GUI) ends the whole process when it cannot reach its display, and the
    wheel speaks X11 only; so when X will be used, the X display must be set and answer.
    """
    x_display = environ.get("DISPLAY", "")
    wayland = environ.get("WAYLAND_DISPLAY", "")
    if not x_display and not wayland:
        raise DisplayUnavailable(NO_DISPLAY)
    qt = getattr(cv2, "currentUIFramework", lambda: "")() == "QT"
    if qt and not x_display:
        raise DisplayUnavailable(
            "no display: OpenCV's Qt windows need X11 (XWayland); set DISPLAY "
            "or run headless without --display"
        )
    if (qt or not wayland) and not x_display_answers(x_display):
        raise DisplayUnavailable(
            f"no display: X display {x_display!r} does not answer; set DISPLAY to a running "
            "X server or run headless without --display"
        )


def x_display_answers(display: str, timeout_s: float = 1.0) -> bool:
    """Whether an X server listens where ``display`` ("[host]:N[.screen]") says."""
    host, _, rest = display.rpartition(":")
    number = rest.split(".", 1)[0]
    if not number.isdigit():
        return False
    host = host.removeprefix("unix")  # "unix:0" is the local socket too
    try:
        if host and host != "/":
            with socket.create_connection((host, 6000 + int(number)), timeout=timeout_s):
                return True
        path = f"{host}:{number}" if host.startswith("/") else f"/tmp/.X11-unix/X{number}"
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout_s)
            try:
                sock.connect("\0" + path)  # Linux abstract socket, what Xorg and Xvfb use
            except OSError:
                sock.connect(path)
            return True
    except OSError:
        return False


class WindowSink:
    """Shows each result drawn on its frame, in a resizable window.

    OpenCV's GUI is not thread-safe, so every GUI call happens on the thread that calls
    ``emit`` and ``close`` (the pipeline's output thread); a second thread is refused.
    ``max_fps`` caps drawing: frames due sooner are not drawn, but events are still pumped,
    so keys and the close button answer at the camera's rate. The cap works on a grid of
    1/max_fps slots with a quarter slot of slack, so a camera at exactly the cap is not halved
    by jitter. ``stop_requested`` turns true on q, Esc or the window being closed; after a
    close the window is not opened again.

    Run a window manager: on a bare X server the pip wheel's Qt now and then misses the
    window's MapNotify and leaves it black for good (about one start in ten under Xvfb).
    """

    name = "window"

    def __init__(
        self,
        title: str | None = None,
        overlay: Overlay | None = None,
        max_fps: float | None = 30.0,
        environ: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_fps is not None and max_fps <= 0:
            raise ValueError(f"max_fps must be positive or None, got {max_fps}")
        check_display(os.environ if environ is None else environ)
        self.title = title
        self.overlay = overlay if overlay is not None else Overlay.default()
        self.max_fps = max_fps
        self.stop_requested = False
        self.shown = 0
        self._clock = clock
        self._due: float | None = None
        self._owner: int | None = None
        self._window = ""  # the title it was opened with
        self._open = False
        self._gone = False

    def emit(self, result: Result, frame: Frame) -> None:
        self._check_thread()
        if self._gone:
            return
        if self._due_now():
            image = self.overlay.render(frame, result)
            if not self._open:
                self.title = self.title or f"edgecam — {result.camera}"
                self._window = self.title
                cv2.namedWindow(
                    self._window, cv2.WINDOW_NORMAL | cv2.WINDOW_KEEPRATIO | cv2.WINDOW_GUI_NORMAL
                )
                height, width = image.shape[:2]
                fit = min(1.0, MAX_START_SIZE[0] / width, MAX_START_SIZE[1] / height)
                cv2.resizeWindow(self._window, round(width * fit), round(height * fit))
                self._open = True
            cv2.imshow(self._window, image)
            self.shown += 1
        else:
            self.overlay.observe(result)
        self._pump()

    def close(self) -> None:
        if not self._open or self._gone:
            return
        if self._owner is not None and self._owner != threading.get_ident():
            log.warning("window not closed: close() must run on the thread that called emit()")
            return
        self._gone = True
        try:
            cv2.destroyWindow(self._window)
            cv2.waitKey(1)  # lets the toolkit actually take the window down
        except cv2.error as exc:
            log.debug("window already gone: %s", exc)

    def _due_now(self) -> bool:
        if self.max_fps is None:
            return True
        now = self._clock()
        interval = 1.0 / self.max_fps
        slack = interval / 4
        if self._due is not None and now < self._due - slack:
            return False
        self._due = max(self._due if self._due is not None else now, now - slack) + interval
        return True

    def _pump(self) -> None:
        key = cv2.waitKey(1)
        if key != -1 and (key & 0xFF) in STOP_KEYS:
            log.info("window: stop requested by key")
            self.stop_requested = True
        if self._open and not self._visible():
            log.info("window: closed by the user")
            self.stop_requested = True
            self._gone = True

    def _visible(self) -> bool:
        try:
            return float(cv2.getWindowProperty(self._window, cv2.WND_PROP_VISIBLE)) >= 1
        except cv2.error:  # Qt raises once its last window is gone
            return False

    def _check_thread(self) -> None:
        me = threading.get_ident()
        if self._owner is None:
            self._owner = me
        elif self._owner != me:
            raise RuntimeError(
                "WindowSink.emit called from another thread than the first time: "
                "OpenCV's GUI must stay on one thread"
            )

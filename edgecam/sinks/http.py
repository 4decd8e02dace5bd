"""The HTTP server: a live overlay page, MJPEG, the latest result, SSE, /healthz and /metrics.

aiohttp runs its own event loop on a daemon thread the sink starts. ``emit`` (the pipeline's
output thread) only stores the newest result and frame under a lock and, while a client
streams, nudges the loop thread-safely; it never encodes a picture or touches a socket.

* The overlay is drawn and JPEG-encoded on one worker thread, only while some client watches
  ``/stream.mjpg``, at most once per new frame and ``stream_fps`` times a second, and the
  same bytes go to every client. A client that reads slowly gets the freshest picture when
  it is ready for one: it skips frames and never queues them (one part in flight each, plus
  the transport's own 64 KiB), and one that takes nothing for ``STALL_S`` is dropped.
* ``/api/v1/events`` (server-sent events) sends ``stats`` every second (the telemetry's
  snapshot), ``result`` when the reading changes, and on connect the last minutes of stats
  (``history``) for the page's chart. Events go through a short ring: a slow client skips.
* A bearer token, when set, guards every route but ``/healthz``; a browser opens
  ``/?token=…`` once and is given an HttpOnly cookie instead, so the page's own requests
  work. The token is never logged, and no access log is kept.

``close`` stops the server within about a second, clients connected or not.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import errno
import hashlib
import hmac
import ipaddress
import json
import logging
import re
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import cv2
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from edgecam.errors import UserError
from edgecam.overlay import Overlay
from edgecam.secrets import read_secret
from edgecam.telemetry import Telemetry
from edgecam.types import Frame, Result

log = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
STALL_S = 10.0  # a stream client that takes no frame for this long is dropped
HISTORY_S = 300  # seconds of stats kept for the page's chart
KEEPALIVE_S = 15.0  # an SSE comment when nothing else was sent for this long
SHUTDOWN_S = 0.5  # what aiohttp gives a request still running at close
COOKIE = "edgecam_session"
BOUNDARY = "edgecam-frame"
PAGE_FILES = {"/": ("index.html", "text/html"), "/app.js": ("app.js", "text/javascript")}
PAGE_FILES["/style.css"] = ("style.css", "text/css")
_RECENT = 64  # results kept for the overlay's status bar between two encodes
_LISTEN = re.compile(r"(?:(?P<host>\[[0-9A-Fa-f:.]+\]|[^:\[\]]+):)?(?P<port>\d{1,5})")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class HttpError(UserError):
    """The server cannot start (port in use, bad token file); one line naming the fix."""


def parse_listen(text: str) -> tuple[str | None, int]:
    """``--http [HOST:]PORT`` → (host or None for the config's, port); one-line error else.

    An IPv6 host goes in brackets (``[::1]:8080``); port 0 lets the system pick (logged).
    """
    match = _LISTEN.fullmatch(text.strip())
    port = int(match.group("port")) if match else -1
    if match is None or port > 65535:
        raise HttpError(
            f"--http {text!r}: expected [HOST:]PORT with a port 0-65535, "
            "e.g. 8080, 127.0.0.1:8080 or 0.0.0.0:8080"
        )
    host = match.group("host")
    return (host.strip("[]") if host else None), port


def read_token(
    token_file: Path | None,
    credential: str | None,
    environ: Mapping[str, str] | None = None,
) -> str | None:
    """The bearer token from a file or a systemd credential (``LoadCredential=``), or None.

    Messages name the file, never its content.
    """
    keys = ("http.token_file", "http.token_credential")
    token = read_secret(token_file, credential, keys=keys, error=HttpError, env=environ)
    if token is not None and (token != token.strip() or any(c.isspace() for c in token)):
        raise HttpError(f"{keys[1] if credential else keys[0]}: must hold one token, no spaces")
    return token


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _Broadcast:
    """Wakes every waiter at once: each waits on the current event, which is then replaced."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def fire(self) -> None:
        event, self._event = self._event, asyncio.Event()
        event.set()

    async def wait(self, timeout: float | None = None) -> bool:
        """True when fired, False after ``timeout``."""
        event = self._event
        try:
            await asyncio.wait_for(event.wait(), timeout)
        except asyncio.TimeoutError:
            return False
        return True


class HttpSink:
    """Serves one camera's results over HTTP on ``host:port`` (see the module docstring).

    The server is bound when the sink is made, so a port in use fails before any frame is
    read. ``port`` is the bound port (useful with 0); ``url`` the page's address.
    """

    name = "http"

    def __init__(
        self,
        telemetry: Telemetry,
        *,
        host: str = DEFAULT_HOST,
        port: int = 8080,
        token: str | None = None,
        stream_fps: float = 15.0,
        jpeg_quality: int = 80,
        health_window_s: float = 5.0,
        overlay: Overlay | None = None,
        stall_s: float = STALL_S,
        start_timeout_s: float = 10.0,
    ) -> None:
        if stream_fps <= 0 or not 1 <= jpeg_quality <= 100 or health_window_s <= 0:
            raise ValueError("stream_fps and health_window_s must be positive, quality 1-100")
        self.telemetry = telemetry
        self.host = host
        self.port = port
        self.stream_fps = stream_fps
        self.jpeg_quality = jpeg_quality
        self.health_window_s = health_window_s
        self.stall_s = stall_s
        self.overlay = overlay if overlay is not None else Overlay.default()
        self._token = token
        self._cookie = _session(token) if token else ""
        self._pages = {route: _asset(name) for route, (name, _) in PAGE_FILES.items()}
        # Shared with the output thread: the newest result and frame, and recent results.
        self._lock = threading.Lock()
        self._latest: tuple[Result, Frame] | None = None
        self._seq = 0  # results emitted so far
        self._recent: deque[Result] = deque(maxlen=_RECENT)
        self._watchers = 0  # stream and event clients: emit wakes the loop only for them
        self._wake_pending = False
        # Owned by the server thread.
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._frames: _Broadcast | None = None
        self._jpegs: _Broadcast | None = None
        self._news: _Broadcast | None = None  # a frame or an event: wakes SSE clients
        self._jpeg: tuple[int, bytes] | None = None
        self._encoder: asyncio.Task[None] | None = None
        self._streams = 0
        self._ring: deque[tuple[int, bytes]] = deque(maxlen=32)  # SSE events (id, bytes)
        self._event_id = 0
        self._history: deque[dict[str, Any]] = deque(maxlen=HISTORY_S)
        self._stats: bytes = b""
        self._tasks: set[asyncio.Task[Any]] = set()
        self._executor = concurrent.futures.ThreadPoolExecutor(1, "edgecam-http-jpeg")
        self.encoded = 0  # JPEGs made (shared by every client)
        self._closed = False
        self._ready = threading.Event()
        self._start_error: str | None = None
        self._thread = threading.Thread(target=self._serve, name="edgecam-http", daemon=True)
        self._thread.start()
        if not self._ready.wait(start_timeout_s):
            self.close()
            raise HttpError(f"HTTP server on {self._where()} did not start in {start_timeout_s} s")
        if self._start_error is not None:
            self._thread.join(2.0)
            self._executor.shutdown(wait=False)
            raise HttpError(self._start_error)
        shown = "" if token is None else " (bearer token required)"
        log.info("http: listening on %s: the live page is %s%s", self._where(), self.url, shown)
        if token is None and not is_loopback(host):
            log.warning(
                "http: listening on %s without a token: anyone who reaches this address can "
                "watch the camera; set http.token_file or http.token_credential",
                self._where(),
            )

    @property
    def url(self) -> str:
        host = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(self.host, self.host)  # reachable here
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.port}/"

    @property
    def clients(self) -> int:
        """Clients streaming /stream.mjpg or /api/v1/events now."""
        with self._lock:
            return self._watchers

    # --- the output thread ------------------------------------------------------------------

    def emit(self, result: Result, frame: Frame) -> None:
        with self._lock:
            self._latest = (result, frame)
            self._seq += 1
            self._recent.append(result)
            wake = self._watchers > 0 and not self._wake_pending
            if wake:
                self._wake_pending = True
        loop = self._loop
        if wake and loop is not None:
            with contextlib.suppress(RuntimeError):  # closed under us: nobody to wake
                loop.call_soon_threadsafe(self._on_frame)

    def close(self) -> None:
        """Stop serving (clients are cut off) and end the thread, within about a second."""
        if self._closed:
            return
        self._closed = True
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(stop.set)
        self._thread.join(2.0)
        if self._thread.is_alive():
            log.warning("http: server thread did not stop in time; leaving it behind")
        self._executor.shutdown(wait=False, cancel_futures=True)

    # --- the server thread ------------------------------------------------------------------

    def _where(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    def _serve(self) -> None:
        loop = asyncio.new_event_loop()
        try:
            loop.run_until_complete(self._main(loop))
        except Exception as exc:  # a crash here must not pass silently
            log.error("http: server stopped: %s: %s", type(exc).__name__, exc)
            if not self._ready.is_set():
                self._start_error = f"HTTP server on {self._where()} failed: {exc}"
        finally:
            self._ready.set()
            loop.close()

    async def _main(self, loop: asyncio.AbstractEventLoop) -> None:
        self._stop = asyncio.Event()
        self._frames, self._jpegs, self._news = _Broadcast(), _Broadcast(), _Broadcast()
        app = web.Application(middlewares=[self._auth])
        app.router.add_get("/", self._page)
        app.router.add_get("/app.js", self._page)
        app.router.add_get("/style.css", self._page)
        app.router.add_get("/stream.mjpg", self._stream)
        app.router.add_get("/api/v1/latest", self._latest_result)
        app.router.add_get("/api/v1/stats", self._stats_now)
        app.router.add_get("/api/v1/events", self._events)
        app.router.add_get("/healthz", self._health)
        app.router.add_get("/metrics", self._metrics)
        runner = web.AppRunner(
            app, access_log=None, handle_signals=False, shutdown_timeout=SHUTDOWN_S
        )
        await runner.setup()
        try:
            site = web.TCPSite(runner, self.host, self.port)
            await site.start()
        except OSError as exc:
            self._start_error = self._bind_error(exc)
            await runner.cleanup()
            return
        self.port = _bound_port(runner, self.port)
        self._loop = loop
        self._ready.set()
        ticker = loop.create_task(self._tick())
        try:
            await self._stop.wait()
        finally:
            self._loop = None
            ticker.cancel()
            for task in [*self._tasks, *([self._encoder] if self._encoder else [])]:
                task.cancel()
            await asyncio.gather(ticker, *self._tasks, return_exceptions=True)
            await runner.cleanup()

    def _bind_error(self, exc: OSError) -> str:
        where = self._where()
        if exc.errno == errno.EADDRINUSE:
            return (
                f"cannot serve HTTP on {where}: the port is in use by another program; "
                f"choose another with --http PORT (or http.port), or stop that program"
            )
        if exc.errno == errno.EACCES:
            return f"cannot serve HTTP on {where}: ports below 1024 need root; use 1024 or above"
        if exc.errno == errno.EADDRNOTAVAIL:
            return f"cannot serve HTTP on {where}: no network interface has that address"
        detail = " ".join(str(exc.strerror or exc).split())
        return f"cannot serve HTTP on {where}: {detail}; check http.host and http.port"

    def _on_frame(self) -> None:
        with self._lock:
            self._wake_pending = False
        assert self._frames is not None and self._news is not None
        self._frames.fire()
        self._news.fire()

    def _take(self) -> tuple[int, Result, Frame, list[Result]] | None:
        with self._lock:
            if self._latest is None:
                return None
            recent = list(self._recent)
            self._recent.clear()
            return self._seq, *self._latest, recent

    def _watch(self, delta: int) -> None:
        with self._lock:
            self._watchers += delta

    async def _tick(self) -> None:
        """Once a second: the stats event, and the chart's history."""
        while True:
            snap = self._snapshot()
            self._history.append(
                {
                    "t": snap["t"],
                    "fps": snap["fps"],
                    "p50": snap["latency_ms"]["p50"],
                    "p99": snap["latency_ms"]["p99"],
                    "temp": _hottest(snap.get("thermal")),
                }
            )
            self._stats = _sse("stats", snap)
            self._publish(self._stats)
            await asyncio.sleep(1.0 - time.time() % 1.0)  # on the second, for every client

    def _snapshot(self) -> dict[str, Any]:
        snap = self.telemetry.snapshot()
        since = self.telemetry.seconds_since_result()
        snap["t"] = round(time.time(), 3)
        snap["seconds_since_result"] = None if since is None else round(since, 3)
        snap["flowing"] = since is not None and since <= self.health_window_s
        snap["clients"] = self.clients
        return snap

    def _publish(self, message: bytes) -> None:
        assert self._news is not None
        self._event_id += 1
        self._ring.append((self._event_id, message))
        self._news.fire()

    # --- routes -----------------------------------------------------------------------------

    @web.middleware
    async def _auth(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if self._token is None or request.path == "/healthz":
            return await handler(request)
        given = request.headers.get("Authorization", "")
        scheme, _, value = given.partition(" ")
        if scheme.lower() == "bearer" and _same(value.strip(), self._token):
            return await handler(request)
        if _same(request.cookies.get(COOKIE, ""), self._cookie):
            return await handler(request)
        query = request.query.get("token")
        if request.path == "/" and query is not None and _same(query, self._token):
            # Swap the token in the address bar for a cookie the page's requests carry.
            redirect = web.HTTPSeeOther("/")
            redirect.set_cookie(COOKIE, self._cookie, httponly=True, samesite="Strict", path="/")
            raise redirect
        return web.json_response(
            {"error": "missing or wrong bearer token (Authorization: Bearer …, or /?token=…)"},
            status=401,
            headers={"WWW-Authenticate": 'Bearer realm="edgecam"'},
        )

    async def _page(self, request: web.Request) -> web.Response:
        _name, kind = PAGE_FILES[request.path]
        return web.Response(
            body=self._pages[request.path],
            content_type=kind,
            charset="utf-8",
            headers={"Cache-Control": "no-cache"},
        )

    async def _latest_result(self, request: web.Request) -> web.Response:
        with self._lock:
            latest = self._latest
        if latest is None:
            return web.json_response(
                {"error": "no result yet"}, status=503, headers={"Retry-After": "1"}
            )
        return web.json_response(latest[0].to_dict())

    async def _stats_now(self, request: web.Request) -> web.Response:
        return web.json_response(self._snapshot())

    async def _health(self, request: web.Request) -> web.Response:
        since = self.telemetry.seconds_since_result()
        body: dict[str, Any] = {
            "camera": self.telemetry.camera,
            "seconds_since_result": None if since is None else round(since, 3),
            "window_s": self.health_window_s,
        }
        if since is None:
            return web.json_response({"status": "starting", **body}, status=503)
        if since > self.health_window_s:
            return web.json_response({"status": "stalled", **body}, status=503)
        return web.json_response({"status": "ok", **body})

    async def _metrics(self, request: web.Request) -> web.Response:
        response = web.Response(body=generate_latest(self.telemetry.registry))
        response.headers["Content-Type"] = CONTENT_TYPE_LATEST
        return response

    async def _stream(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={
                "Content-Type": f"multipart/x-mixed-replace; boundary={BOUNDARY}",
                "Cache-Control": "no-store",
                "X-Accel-Buffering": "no",
            }
        )
        await response.prepare(request)
        self._register()
        self._streams += 1
        self._watch(+1)
        if self._encoder is None or self._encoder.done():
            self._encoder = asyncio.get_running_loop().create_task(self._encode_frames())
        try:
            sent = -1
            while True:
                seq, jpeg = await self._next_jpeg(sent)
                head = f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\n"
                head += f"Content-Length: {len(jpeg)}\r\n\r\n"
                if not await self._send(request, response, head.encode() + jpeg + b"\r\n"):
                    break
                sent = seq
        finally:
            self._streams -= 1
            self._watch(-1)
            self._unregister()
        return response

    async def _events(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream",
                "Cache-Control": "no-store",
                "X-Accel-Buffering": "no",
            }
        )
        await response.prepare(request)
        self._register()
        self._watch(+1)
        assert self._news is not None
        try:
            sent = self._event_id
            hello = b"retry: 2000\n\n" + _sse("history", list(self._history)) + self._stats
            text = None
            with self._lock:
                latest = self._latest[0] if self._latest is not None else None
            if latest is not None:
                hello += _sse("result", latest.to_dict())
                text = latest.text
            if not await self._send(request, response, hello):
                return response
            while True:
                fired = await self._news.wait(KEEPALIVE_S)
                out = b"".join(m for i, m in self._ring if i > sent)
                sent = self._event_id
                with self._lock:
                    latest = self._latest[0] if self._latest is not None else None
                if latest is not None and latest.text != text:
                    out += _sse("result", latest.to_dict())
                    text = latest.text
                if not fired:
                    out += b": keep-alive\n\n"
                if out and not await self._send(request, response, out):
                    break
        finally:
            self._watch(-1)
            self._unregister()
        return response

    async def _send(self, request: web.Request, response: web.StreamResponse, data: bytes) -> bool:
        """Write, or drop the client (False) when it is gone or has taken nothing for a while."""
        try:
            await asyncio.wait_for(response.write(data), self.stall_s)
        except asyncio.TimeoutError:
            log.info("http: dropping a client that took nothing for %g s", self.stall_s)
            if request.transport is not None:
                request.transport.abort()
            return False
        except ConnectionError:  # the client went away
            return False
        return True

    def _register(self) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)

    def _unregister(self) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.discard(task)

    async def _next_jpeg(self, after: int) -> tuple[int, bytes]:
        assert self._jpegs is not None
        while self._jpeg is None or self._jpeg[0] <= after:
            await self._jpegs.wait()
        return self._jpeg

    async def _encode_frames(self) -> None:
        """Draw and encode the newest frame, at most ``stream_fps`` a second, while watched."""
        assert self._frames is not None and self._jpegs is not None
        loop = asyncio.get_running_loop()
        interval = 1.0 / self.stream_fps
        done = self._jpeg[0] if self._jpeg is not None else 0
        due = 0.0
        while self._streams > 0:
            with self._lock:
                seq = self._seq
            if seq <= done:
                await self._frames.wait(1.0)  # then look again: the last client may be gone
                continue
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            taken = self._take()
            if taken is None:
                continue
            seq, result, frame, recent = taken
            due = loop.time() + interval
            jpeg = await loop.run_in_executor(self._executor, self._encode, result, frame, recent)
            done = seq
            if jpeg:
                self._jpeg = (seq, jpeg)
                self.encoded += 1
                self._jpegs.fire()

    def _encode(self, result: Result, frame: Frame, recent: list[Result]) -> bytes:
        for seen in recent:  # the status bar's rate is the pipeline's, not the stream's
            self.overlay.observe(seen)
        image = self.overlay.render(frame, result)
        ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, self.jpeg_quality])
        return data.tobytes() if ok else b""


def _sse(event: str, data: Any) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def _session(token: str) -> str:
    """The cookie's value: derived from the token, so the browser never stores the token."""
    return hmac.new(token.encode(), b"edgecam-session/1", hashlib.sha256).hexdigest()


def _hottest(thermal: Mapping[str, Any] | None) -> float | None:
    temps = (thermal or {}).get("temperatures") or {}
    return max(temps.values()) if temps else None


def _asset(name: str) -> bytes:
    return resources.files("edgecam.web").joinpath(name).read_bytes()


def _bound_port(runner: web.AppRunner, asked: int) -> int:
    for address in runner.addresses:
        if isinstance(address, tuple) and len(address) >= 2:
            return int(address[1])
    return asked

"""Results over MQTT: per-frame results, the retained stable reading, availability and stats.

Topics (``prefix`` defaults to ``edgecam``, ``device`` to the hostname)::

    <prefix>/<device>/<camera>/result   each result (edgecam.result/1), every frame or on change
    <prefix>/<device>/<camera>/state    the latest stable reading, retained
    <prefix>/<device>/status            "online" / "offline", retained; the last will says offline
    <prefix>/<device>/stats             every few seconds: fps, drops, latency, outbox, thermal

Delivery: :meth:`MqttSink.emit` only appends to an in-memory queue. The sink's sender thread
moves the queue into an :class:`~edgecam.sinks.outbox.Outbox` (SQLite) in batches and hands
rows to paho in order, a window at a time; a row leaves the outbox only when the broker's
PUBACK for it arrives. The session is persistent (``clean_session=False``), so after a
reconnect paho re-sends the rows it held and the sender waits for them before sending newer
ones: results arrive in order. At-least-once means a row may arrive twice (a PUBACK lost with
the connection, or rows left on disk by a crash and sent again at the next start); consumers
de-duplicate by ``camera`` and ``frame``.

The network runs on paho's own thread (``connect_async`` + ``loop_start``), which reconnects
with back-off; a broker that is away never blocks the frame loop or shutdown.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import socket
import ssl
import sys
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from edgecam.errors import UserError
from edgecam.secrets import read_secret
from edgecam.sinks.outbox import Outbox, Policy, writable_default
from edgecam.types import Frame, Result, iso_utc

if TYPE_CHECKING:
    from paho.mqtt.client import Client, ConnectFlags, DisconnectFlags
    from paho.mqtt.properties import Properties
    from paho.mqtt.reasoncodes import ReasonCode

    from edgecam.config import MqttConfig
    from edgecam.telemetry import Telemetry

log = logging.getLogger(__name__)

PublishMode = Literal["every_frame", "on_change"]

STATE_SCHEMA = "edgecam.state/1"
STATS_SCHEMA = "edgecam.stats/1"
_WINDOW = 64  # results handed to paho before their PUBACK; paho keeps them across reconnects
_BATCH = 512  # results moved from memory to the outbox per transaction, at most
_MAX_PENDING = 10_000  # results waiting in memory for the sender (it is normally ~1)
_STOP_CLIENT_S = 0.5  # how long close waits for paho's thread (it may sit in a TCP connect)


class MqttError(UserError):
    """MQTT cannot be set up (a password file, a certificate); one line naming the fix."""


@dataclass(frozen=True)
class BrokerAddress:
    """What an ``mqtt://`` or ``mqtts://`` URL says; never a password."""

    host: str
    port: int
    tls: bool
    username: str | None = None

    def __str__(self) -> str:
        user = f"{self.username}@" if self.username else ""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'mqtts' if self.tls else 'mqtt'}://{user}{host}:{self.port}"


def stop_loop(client: Client) -> None:
    """``client.loop_stop()``, safe against paho's race after a DISCONNECT (paho-mqtt issue
    #872, open in 2.1): it reads ``client._thread`` twice, and when the network thread ends
    between the two reads (as it does right after a DISCONNECT), ``join`` is called on None
    and raises AttributeError. The thread has ended then, which is all loop_stop waits for."""
    with contextlib.suppress(AttributeError):
        client.loop_stop()


def parse_url(url: str) -> BrokerAddress:
    """``mqtt[s]://[user@]host[:port]``; a ValueError (never echoing a password) otherwise."""
    if "://" not in url:
        raise ValueError("must look like mqtt://host:1883 or mqtts://user@host:8883")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("mqtt", "mqtts"):
        raise ValueError(f"scheme must be mqtt:// or mqtts://, not {scheme}://")
    if parts.password is not None:
        raise ValueError(
            "must not carry a password: put it in a file named by mqtt.password_file "
            "or a systemd credential named by mqtt.password_credential"
        )
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError("must be only mqtt[s]://[user@]host[:port], without a path or query")
    try:
        port = parts.port
    except ValueError:
        raise ValueError("has a port that is not a number from 1 to 65535") from None
    if not parts.hostname:
        raise ValueError("names no host: mqtt://host[:port]")
    if port == 0:
        raise ValueError("has port 0: give a port from 1 to 65535")
    tls = scheme == "mqtts"
    return BrokerAddress(
        host=parts.hostname,
        port=port or (8883 if tls else 1883),
        tls=tls,
        username=parts.username or None,
    )


def device_name(hostname: str | None = None) -> str:
    """The hostname up to its first dot, cut to what ``mqtt.device`` allows (1-64 of
    A-Z a-z 0-9 _ -)."""
    name = (hostname if hostname is not None else socket.gethostname()).split(".")[0]
    name = re.sub(r"[^A-Za-z0-9_-]", "-", name)[:64]
    return name or "edgecam"


class _Secret:
    """A password that never shows in a repr, a log line or a traceback's locals."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "_Secret('***')"


def read_password(
    file: Path | None, credential: str | None, env: Mapping[str, str] | None = None
) -> _Secret | None:
    """The password from a file, or from systemd's ``$CREDENTIALS_DIRECTORY/<credential>``
    (``LoadCredential=``)."""
    keys = ("mqtt.password_file", "mqtt.password_credential")
    password = read_secret(file, credential, keys=keys, error=MqttError, env=env)
    return None if password is None else _Secret(password)


@dataclass(frozen=True)
class Tls:
    ca_file: Path | None = None  # None: the system's CAs
    cert_file: Path | None = None
    key_file: Path | None = None
    insecure: bool = False  # no certificate or host name check: self-signed test brokers only


@dataclass(frozen=True)
class Broker:
    address: BrokerAddress
    password: _Secret | None = field(default=None, repr=False)
    tls: Tls | None = None

    def __str__(self) -> str:
        return str(self.address)


@dataclass
class MqttCounters:
    delivered: int = 0  # results the broker acknowledged
    dropped: int = 0  # results the bound dropped (outbox and memory)
    connects: int = 0
    connected: bool = False


class MqttSink:
    """Publishes results through a persistent MQTT session, with an on-disk outbox."""

    name = "mqtt"

    def __init__(
        self,
        broker: Broker,
        outbox: Outbox,
        *,
        device: str,
        camera: str,
        prefix: str = "edgecam",
        qos: int = 1,
        publish: PublishMode = "every_frame",
        keepalive: int = 30,
        stats_interval: float = 5.0,
        reconnect_min: int = 1,
        reconnect_max: int = 30,
        flush_timeout: float = 1.0,
        telemetry: Telemetry | None = None,
    ) -> None:
        self.broker = broker
        self.outbox = outbox
        self.device, self.camera = device, camera
        self.qos = qos
        self.on_change = publish == "on_change"
        self.keepalive = keepalive
        self.stats_interval = stats_interval
        self.reconnect_max = reconnect_max
        self.flush_timeout = flush_timeout
        self.telemetry = telemetry
        base = f"{prefix}/{device}"
        self.result_topic = f"{base}/{camera}/result"
        self.state_topic = f"{base}/{camera}/state"
        self.status_topic = f"{base}/status"
        self.stats_topic = f"{base}/stats"
        self.client_id = f"edgecam-{device}-{camera}"
        self.counters = MqttCounters(dropped=outbox.dropped)
        # emit() side: the output thread appends, the sender pops (deque ops are atomic).
        self._queue: deque[Result] = deque()
        self._queue_dropped = 0
        self._last_text: str | None = None
        self._state: Result | None = None
        # paho's thread → sender: acknowledged mids and connection events.
        self._acks: deque[int] = deque()
        self._connected = threading.Event()
        self._wake = threading.Event()
        self._closing = threading.Event()
        self._warned = False  # one warning per outage
        self._ever_connected = False
        # Sender-thread state.
        self._inflight: dict[int, int] = {}  # mid → outbox row id
        self._last_id = 0  # the newest row handed to paho
        self._seen_connects = 0
        self._resync = False
        self._state_sent: Result | None = None
        self._full = False
        self._errors: set[str] = set()
        self._said_goodbye = False
        self._client = self._make_client(reconnect_min, reconnect_max)
        self._client.connect_async(broker.address.host, broker.address.port, keepalive)
        self._client.loop_start()
        self._thread = threading.Thread(target=self._run, name="edgecam-mqtt", daemon=True)
        self._thread.start()
        log.info(
            "MQTT: publishing to %s as %s (%s/...), outbox %s (%d waiting)",
            broker,
            self.client_id,
            base,
            outbox.path,
            outbox.depth,
        )

    # --- the output thread --------------------------------------------------------------------

    def emit(self, result: Result, frame: Frame) -> None:
        changed = result.text != self._last_text
        if changed:
            self._last_text = result.text
            self._state = result
        if self.on_change and not changed:
            return
        if len(self._queue) >= _MAX_PENDING:  # the sender is stuck: the policy applies here too
            self._queue_dropped += 1
            if self.outbox.policy == "drop_newest":
                return
            with contextlib.suppress(IndexError):  # the sender took it meanwhile
                self._queue.popleft()
        self._queue.append(result)
        self._wake.set()

    def close(self) -> None:
        """Deliver what the outbox holds for up to ``flush_timeout`` seconds while connected,
        leave the rest on disk for the next start, say ``offline`` and disconnect."""
        self._closing.set()
        self._wake.set()
        self._thread.join(self.flush_timeout + 1.0)
        if self._thread.is_alive():
            log.warning("MQTT: the sender did not stop in time; leaving it behind")
        stopper = threading.Thread(target=stop_loop, args=(self._client,), daemon=True)
        stopper.start()
        # Connected, paho's thread ends at once after the DISCONNECT; otherwise it may sit in
        # a TCP connect or a back-off sleep, with nothing to lose: do not wait for it.
        stopper.join(_STOP_CLIENT_S if self._said_goodbye else 0.0)
        # Break the client ↔ sink cycle, so the client is freed (and closes its sockets) as
        # soon as the sink is, not by a later garbage collection.
        client = self._client
        client.on_connect = client.on_connect_fail = client.on_disconnect = None
        client.on_publish = None

    # --- paho's thread ------------------------------------------------------------------------

    def _make_client(self, reconnect_min: int, reconnect_max: int) -> Client:
        from paho.mqtt.client import Client
        from paho.mqtt.enums import CallbackAPIVersion

        client = Client(CallbackAPIVersion.VERSION2, client_id=self.client_id, clean_session=False)
        client.max_inflight_messages_set(_WINDOW + 16)  # results plus status and state
        client.max_queued_messages_set(0)
        client.reconnect_delay_set(reconnect_min, reconnect_max)
        client.will_set(self.status_topic, "offline", qos=1, retain=True)
        address = self.broker.address
        if address.username:
            password = self.broker.password
            client.username_pw_set(address.username, password.reveal() if password else None)
        tls = self.broker.tls
        if tls is not None:
            try:
                client.tls_set(
                    ca_certs=str(tls.ca_file) if tls.ca_file else None,
                    certfile=str(tls.cert_file) if tls.cert_file else None,
                    keyfile=str(tls.key_file) if tls.key_file else None,
                    cert_reqs=ssl.CERT_NONE if tls.insecure else ssl.CERT_REQUIRED,
                )
            except (OSError, ValueError) as exc:
                names = ", ".join(
                    str(p) for p in (tls.ca_file, tls.cert_file, tls.key_file) if p is not None
                )
                raise MqttError(
                    f"MQTT TLS: {getattr(exc, 'strerror', None) or exc} "
                    f"({names or 'system CAs'}): check mqtt.ca_file, cert_file and key_file"
                ) from None
            if tls.insecure:
                client.tls_insecure_set(True)
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        return client

    def _on_connect(
        self,
        client: Client,
        _userdata: Any,
        flags: ConnectFlags,
        reason: ReasonCode,
        _properties: Properties | None,
    ) -> None:
        if reason.is_failure:
            self._warn(f"MQTT broker {self.broker} refused the connection: {reason}; retrying")
            return
        client.publish(self.status_topic, "online", qos=1, retain=True)
        self.counters.connects += 1
        self.counters.connected = True
        self._connected.set()
        self._gauge_connected(True)
        waiting = self.outbox.depth + len(self._queue)
        if not self._ever_connected:
            log.info("MQTT: connected to %s", self.broker)
        elif self._warned:
            log.info("MQTT: reconnected to %s; %d results waiting to be sent", self.broker, waiting)
        self._ever_connected = True
        self._warned = False
        self._wake.set()

    def _on_connect_fail(self, _client: Client, _userdata: Any) -> None:
        exc = sys.exc_info()[1]  # paho calls this inside its `except OSError`
        why = f"{type(exc).__name__}: {exc}" if exc is not None else "no connection"
        self._warn(
            f"MQTT broker {self.broker} unreachable ({why}); retrying with back-off (at most "
            f"{self.reconnect_max} s apart), results wait in {self.outbox.path}"
        )

    def _on_disconnect(
        self,
        _client: Client,
        _userdata: Any,
        _flags: DisconnectFlags,
        reason: ReasonCode,
        _properties: Properties | None,
    ) -> None:
        was = self._connected.is_set()
        self._connected.clear()
        self.counters.connected = False
        self._gauge_connected(False)
        if was and not self._closing.is_set():
            self._warn(
                f"MQTT: lost the broker {self.broker} ({reason}); reconnecting, results wait "
                f"in {self.outbox.path}"
            )

    def _on_publish(
        self,
        _client: Client,
        _userdata: Any,
        mid: int,
        _reason: ReasonCode,
        _properties: Properties,
    ) -> None:
        self._acks.append(mid)
        self._wake.set()

    def _warn(self, message: str) -> None:
        if self._warned:
            log.debug("%s", message)
        else:
            self._warned = True
            log.warning("%s", message)

    # --- the sender thread --------------------------------------------------------------------

    def _run(self) -> None:
        next_stats = time.monotonic() + self.stats_interval
        while not self._closing.is_set():
            self._wake.clear()
            self._guarded(self._step)
            now = time.monotonic()
            if now >= next_stats:
                next_stats = now + self.stats_interval
                self._guarded(self._publish_stats)
            self._wake.wait(min(0.25, max(0.0, next_stats - now)))
        self._guarded(self._finish)
        self.outbox.close()

    def _guarded(self, work: Any) -> None:
        """A failing step (a full disk) is logged once per message and tried again later."""
        try:
            work()
        except Exception as exc:
            message = f"{type(exc).__name__}: {exc}"
            if message not in self._errors:
                self._errors.add(message)
                log.warning("MQTT sender: %s; retrying", message)
            time.sleep(0.1)

    def _step(self) -> None:
        self._store()
        self._take_acks()
        if self._connected.is_set():
            self._sync_connection()
            self._send_state()
            self._send_rows()
        self._gauge()

    def _store(self) -> None:
        while self._queue:
            batch: list[Result] = []
            while self._queue and len(batch) < _BATCH:
                batch.append(self._queue.popleft())
            rows = [(self.result_topic, r.to_json().encode()) for r in batch]
            try:
                self.outbox.append(rows, keep=len(self._inflight))
            except BaseException:
                self._queue.extendleft(reversed(batch))
                raise

    def _take_acks(self) -> None:
        done: list[int] = []
        while self._acks:
            row = self._inflight.pop(self._acks.popleft(), None)
            if row is not None:
                done.append(row)
        if done:
            self.outbox.delete(done)
            self.counters.delivered += len(done)

    def _sync_connection(self) -> None:
        connects = self.counters.connects
        if connects == self._seen_connects:
            return
        self._seen_connects = connects
        self._state_sent = None  # retained again on every connect
        if self.qos == 0:
            # QoS 0 messages that did not leave before the loss are gone from paho: send again.
            self._inflight.clear()
            self._last_id = 0
        else:
            # paho re-sends what it holds first; newer rows wait for those, to keep order.
            self._resync = True

    def _send_state(self) -> None:
        state = self._state
        if state is None or state is self._state_sent:
            return
        payload = {
            "schema": STATE_SCHEMA,
            "camera": state.camera,
            "text": state.text,
            "digits": [int(c) for c in state.text if c.isdigit()],
            "frame": state.frame,
            "captured_at": iso_utc(state.captured_wall),
        }
        self._client.publish(
            self.state_topic, json.dumps(payload, separators=(",", ":")), self.qos, retain=True
        )
        self._state_sent = state

    def _send_rows(self) -> None:
        from paho.mqtt.enums import MQTTErrorCode

        if self._resync:
            if self._inflight:
                return
            self._resync = False
        for row in self.outbox.after(self._last_id, _WINDOW - len(self._inflight)):
            info = self._client.publish(row.topic, row.payload, qos=self.qos)
            # Without a connection paho keeps a QoS 1/2 message and sends it on reconnect.
            kept = info.rc == MQTTErrorCode.MQTT_ERR_NO_CONN and self.qos > 0
            if info.rc != MQTTErrorCode.MQTT_ERR_SUCCESS and not kept:
                break
            self._inflight[info.mid] = row.id
            self._last_id = row.id

    def _publish_stats(self) -> None:
        if not self._connected.is_set():
            return
        snapshot = self.telemetry.snapshot() if self.telemetry is not None else {}
        payload = {
            "schema": STATS_SCHEMA,
            "device": self.device,
            "camera": self.camera,
            "at": iso_utc(time.time()),
            **snapshot,
            "mqtt": {
                "connected": self._connected.is_set(),
                "outbox": self.outbox.depth,
                "outbox_dropped": self.counters.dropped,
                "delivered": self.counters.delivered,
                "connects": self.counters.connects,
            },
        }
        self._client.publish(self.stats_topic, json.dumps(payload, separators=(",", ":")), 0)

    def _gauge(self) -> None:
        dropped = self.outbox.dropped + self._queue_dropped
        new = dropped - self.counters.dropped
        self.counters.dropped = dropped
        if new and not self._full:
            self._full = True
            log.warning(
                "MQTT outbox %s is full (%d results): %s; counting drops",
                self.outbox.path,
                self.outbox.max_rows,
                "dropping the oldest" if self.outbox.policy == "drop_oldest" else "dropping new",
            )
        elif self._full and self.outbox.depth < self.outbox.max_rows // 2:
            self._full = False
        if self.telemetry is not None:
            self.telemetry.outbox_depth.set(self.outbox.depth + len(self._queue))
            if new:
                self.telemetry.outbox_dropped.inc(new)

    def _gauge_connected(self, up: bool) -> None:
        if self.telemetry is not None:
            self.telemetry.mqtt_connected.set(1.0 if up else 0.0)

    def _finish(self) -> None:
        """On close: deliver for a bounded time, then say offline and disconnect."""
        deadline = time.monotonic() + self.flush_timeout
        self._store()
        while self._connected.is_set() and time.monotonic() < deadline:
            self._take_acks()
            self._sync_connection()
            if self.outbox.depth == 0:
                break
            self._send_rows()
            self._wake.wait(0.02)
            self._wake.clear()
        self._take_acks()
        self._gauge()
        if self._connected.is_set():
            self._send_state()
            info = self._client.publish(self.status_topic, "offline", qos=1, retain=True)
            # RuntimeError: the connection went meanwhile, and the will says offline instead.
            with contextlib.suppress(RuntimeError, ValueError):
                info.wait_for_publish(max(0.1, min(0.5, deadline - time.monotonic())))
            self._said_goodbye = True
        self._client.disconnect()
        if self.outbox.depth:
            log.info(
                "MQTT: %d results left in %s for the next start",
                self.outbox.depth,
                self.outbox.path,
            )


def open_mqtt_sink(
    config: MqttConfig, *, camera: str, telemetry: Telemetry | None = None
) -> MqttSink:
    """The sink a validated ``[mqtt]`` section describes (``config.url`` must be set)."""
    assert config.url is not None
    address = parse_url(config.url)
    username = address.username or config.username
    address = BrokerAddress(address.host, address.port, address.tls or config.tls, username)
    password = read_password(config.password_file, config.password_credential)
    tls = (
        Tls(config.ca_file, config.cert_file, config.key_file, config.tls_insecure)
        if address.tls
        else None
    )
    outbox = Outbox(
        config.outbox_path or writable_default(camera),
        max_rows=config.outbox_max,
        policy=config.outbox_policy,
    )
    try:
        return MqttSink(
            Broker(address, password, tls),
            outbox,
            device=config.device or device_name(),
            camera=camera,
            prefix=config.topic_prefix,
            qos=config.qos,
            publish=config.publish,
            keepalive=config.keepalive,
            stats_interval=config.stats_interval,
            reconnect_min=config.reconnect_min,
            reconnect_max=config.reconnect_max,
            flush_timeout=config.flush_timeout,
            telemetry=telemetry,
        )
    except BaseException:
        outbox.close()
        raise


__all__ = [
    "Broker",
    "BrokerAddress",
    "MqttError",
    "MqttSink",
    "Policy",
    "Tls",
    "device_name",
    "open_mqtt_sink",
    "parse_url",
    "read_password",
]

"""A bounded, ordered, on-disk queue of messages waiting for the MQTT broker (SQLite in WAL mode).

Rows are appended in batches and leave only when the broker has acknowledged them, so what a
sink accepted survives a dead broker, a restart of the daemon or a crash: the next start
delivers what is left, oldest first. Past ``max_rows`` the policy drops the oldest rows not yet
handed to the client (``drop_oldest``) or the incoming ones (``drop_newest``); either way every
drop is counted.

One thread uses an :class:`Outbox` at a time (the MQTT sink's sender); it is not locked. A lock
file beside the database keeps a second daemon from sharing it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from edgecam.errors import UserError

Policy = Literal["drop_oldest", "drop_newest"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    topic TEXT NOT NULL,
    payload BLOB NOT NULL
)
"""


class OutboxError(UserError):
    """The outbox file cannot be opened; the message names the path and the fix."""


@dataclass(frozen=True)
class Row:
    id: int
    topic: str
    payload: bytes


def default_path(camera: str, env: Mapping[str, str] | None = None) -> Path:
    """Where the outbox lives unless configured: systemd's ``$STATE_DIRECTORY`` (the first, if
    several), else ``$XDG_STATE_HOME/edgecam`` or ``~/.local/state/edgecam``; one file a camera."""
    env = os.environ if env is None else env
    name = f"mqtt-outbox-{camera}.sqlite"
    state = env.get("STATE_DIRECTORY", "").split(":")[0]
    if state:
        return Path(state) / name
    xdg = env.get("XDG_STATE_HOME", "")
    base = Path(xdg) if xdg else Path(env.get("HOME") or Path.home()) / ".local" / "state"
    return base / "edgecam" / name


def writable_default(camera: str) -> Path:
    """:func:`default_path`, or ``$TMPDIR/edgecam-<uid>/`` where that folder cannot be made or
    written (a service user without a home)."""
    path = default_path(camera)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if os.access(path.parent, os.W_OK):
            return path
    except OSError:
        pass
    return Path(tempfile.gettempdir()) / f"edgecam-{os.getuid()}" / path.name


class Outbox:
    """FIFO of ``(topic, payload)`` rows on disk, at most ``max_rows`` of them."""

    def __init__(self, path: Path, *, max_rows: int = 100_000, policy: Policy = "drop_oldest"):
        if max_rows < 1:
            raise ValueError(f"max_rows must be at least 1, got {max_rows}")
        self.path = path
        self.max_rows = max_rows
        self.policy = policy
        self.dropped = 0
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._lock = os.open(f"{path}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            raise OutboxError(
                f"MQTT outbox {path}: {exc.strerror or exc}: set mqtt.outbox_path to a "
                "writable file"
            ) from None
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(self._lock)
            raise OutboxError(
                f"MQTT outbox {path} is in use by another edgecam: give each daemon its own "
                "mqtt.outbox_path"
            ) from None
        try:
            # The sink opens it on the pipeline's thread and its sender uses it afterwards.
            self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            # In WAL mode NORMAL survives a crash of the process; only a power cut can lose
            # the last transactions.
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(_SCHEMA)
            row = self._db.execute("SELECT COUNT(*) FROM outbox").fetchone()
        except sqlite3.Error as exc:
            self._release()
            raise OutboxError(
                f"MQTT outbox {path}: {exc}: move or delete the file, or set mqtt.outbox_path"
            ) from None
        self.depth = int(row[0])

    def append(self, rows: Sequence[tuple[str, bytes]], *, keep: int = 0) -> int:
        """Store rows in order, in one transaction; returns how many rows were dropped to stay
        within the bound. ``keep`` oldest rows are never dropped (those in flight)."""
        if not rows:
            return 0
        room = self.max_rows - self.depth
        over = max(0, len(rows) - room)
        dropped = 0
        with self._transaction() as db:
            if over and self.policy == "drop_newest":
                rows = rows[: len(rows) - over]
                dropped = over
            elif over:
                # The oldest rows that no client holds yet go first, then the oldest new ones.
                old = min(over, max(0, self.depth - keep))
                if old:
                    db.execute(
                        "DELETE FROM outbox WHERE id IN "
                        "(SELECT id FROM outbox ORDER BY id LIMIT ? OFFSET ?)",
                        (old, keep),
                    )
                    self.depth -= old
                rows = rows[over - old :]
                dropped = over
            db.executemany("INSERT INTO outbox (topic, payload) VALUES (?, ?)", rows)
        self.depth += len(rows)
        self.dropped += dropped
        return dropped

    def after(self, last_id: int, limit: int) -> list[Row]:
        """Up to ``limit`` rows with ids above ``last_id``, oldest first."""
        if limit <= 0:
            return []
        cursor = self._db.execute(
            "SELECT id, topic, payload FROM outbox WHERE id > ? ORDER BY id LIMIT ?",
            (last_id, limit),
        )
        return [Row(int(i), str(t), bytes(p)) for i, t, p in cursor]

    def delete(self, ids: Iterable[int]) -> None:
        """Remove delivered rows (ids that are already gone are ignored)."""
        batch = [(i,) for i in ids]
        if not batch:
            return
        with self._transaction() as db:
            before = db.total_changes
            db.executemany("DELETE FROM outbox WHERE id = ?", batch)
            self.depth -= db.total_changes - before

    def close(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self._db.close()
        self._release()

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def _release(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self._lock)

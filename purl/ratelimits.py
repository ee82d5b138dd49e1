"""Rate-limit counters every worker of an install sees, and when a client may try again.

With ``REDIS_URL`` the counters live in Redis (limits' own storage). Without it they live in
one SQLite file under ``instance/`` (:class:`SQLiteStorage`, URI ``purl-sqlite:///path``):
gunicorn's workers are separate processes, and counters in each worker's memory would let a
client make every limit as many times as there are workers.

Importing this module registers the ``purl-sqlite`` scheme with limits (its storages register
themselves by ``STORAGE_SCHEME``), so ``purl.extensions`` imports it before the limiter is set up.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import os
import sqlite3
import threading
import time
from pathlib import Path

from limits.storage import Storage
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)

SCHEME = "purl-sqlite"
# Expired rows are deleted at most this often per process (reads ignore them anyway).
PRUNE_SECONDS = 60.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS counters (
    key TEXT PRIMARY KEY,
    value INTEGER NOT NULL,
    expires_at REAL NOT NULL
) WITHOUT ROWID
"""
# One statement, so two workers incrementing the same key at once never lose a hit: a live
# counter grows, an expired one starts again with a fresh window.
_INCR = """
INSERT INTO counters (key, value, expires_at) VALUES (:key, :amount, :expires_at)
ON CONFLICT (key) DO UPDATE SET
    value = CASE WHEN counters.expires_at <= :now THEN excluded.value
                 ELSE counters.value + excluded.value END,
    expires_at = CASE WHEN counters.expires_at <= :now THEN excluded.expires_at
                      ELSE counters.expires_at END
RETURNING value
"""


def _set_up(conn: sqlite3.Connection, seconds: float = 5.0) -> None:
    """WAL and the table, once per file. Workers opening a new file at the same moment race
    for it, and switching to WAL answers "database is locked" without waiting for the busy
    timeout; so the loser tries again for a moment (WAL then usually is set already)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(_SCHEMA)
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def storage_uri(path: str | Path) -> str:
    """The ``RATELIMIT_STORAGE_URI`` of a counter file."""
    return f"{SCHEME}://{Path(path).resolve()}"


class SQLiteStorage(Storage):
    """Fixed-window counters in a SQLite file (WAL), shared by every process that opens it."""

    STORAGE_SCHEME = [SCHEME]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False,
                 **options: float | str | bool) -> None:
        if not uri or not uri.startswith(f"{SCHEME}://"):
            raise ValueError(f"expected {SCHEME}:///path/to/file, got {uri!r}")
        self.path = uri.removeprefix(f"{SCHEME}://")
        self._local = threading.local()
        self._last_prune = 0.0
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return sqlite3.Error

    def _connection(self) -> sqlite3.Connection:
        # One connection per thread and process: a forked worker never reuses its parent's.
        conn = getattr(self._local, "conn", None)
        if conn is not None and self._local.pid == os.getpid():
            return conn
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=5, isolation_level=None)
        conn.execute("PRAGMA busy_timeout=5000")
        conn.execute("PRAGMA synchronous=NORMAL")
        _set_up(conn)
        self._local.conn, self._local.pid = conn, os.getpid()
        return conn

    def _prune(self, conn: sqlite3.Connection, now: float) -> None:
        if now - self._last_prune < PRUNE_SECONDS:
            return
        self._last_prune = now
        deleted = conn.execute("DELETE FROM counters WHERE expires_at <= ?", (now,)).rowcount
        if deleted:
            log.debug("rate limits: pruned %d expired counters", deleted)

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = time.time()
        conn = self._connection()
        self._prune(conn, now)
        row = conn.execute(_INCR, {"key": key, "amount": amount, "expires_at": now + expiry,
                                   "now": now}).fetchone()
        return int(row[0])

    def get(self, key: str) -> int:
        row = self._connection().execute(
            "SELECT value FROM counters WHERE key = ? AND expires_at > ?",
            (key, time.time())).fetchone()
        return int(row[0]) if row else 0

    def get_expiry(self, key: str) -> float:
        now = time.time()
        row = self._connection().execute(
            "SELECT expires_at FROM counters WHERE key = ? AND expires_at > ?",
            (key, now)).fetchone()
        return float(row[0]) if row else now

    def check(self) -> bool:
        try:
            self._connection().execute("SELECT 1").fetchone()
        except sqlite3.Error:
            log.exception("rate limits: %s is not usable", self.path)
            return False
        return True

    def reset(self) -> int | None:
        return self._connection().execute("DELETE FROM counters").rowcount

    def clear(self, key: str) -> None:
        self._connection().execute("DELETE FROM counters WHERE key = ?", (key,))


def retry_after_seconds(error: HTTPException, reset_at: float | None) -> int | None:
    """Whole seconds until a refused client may try again: from the exception's own
    ``retry_after`` (a view that counted by hand), else from the breached limit's reset."""
    retry_after = getattr(error, "retry_after", None)
    now = time.time()
    if isinstance(retry_after, dt.datetime):
        reset_at = retry_after.timestamp()
    elif isinstance(retry_after, int | float):
        reset_at = now + retry_after
    if reset_at is None:
        return None
    return max(1, math.ceil(reset_at - now))

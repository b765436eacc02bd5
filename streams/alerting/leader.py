"""One alerting engine per app, whatever the number of workers: a PostgreSQL advisory lock.

Why: the engine needs a global view. Dependency suppression looks at the
parent's device-down alert, which lives on whichever partition the parent's
records land on; escalation and flap timers must run once, not once per
worker. Evaluating every record costs little (hundreds of thousands of
samples per second per core), so one engine is enough and several would be
wrong. Every worker runs the alerting task; the one holding the lock
evaluates, the others stand by and take over within seconds when its
database session ends (crash, kill -9, network loss).

The lock is session-level, held by a dedicated connection; if that
connection dies the leader stops evaluating (another may already have taken
over) and competes again.
"""

from __future__ import annotations

import contextlib
import logging
import zlib

import psycopg

from netvigil.db import connect
from netvigil.settings import Settings

__all__ = ["LeaderLock"]

log = logging.getLogger(__name__)


class LeaderLock:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        # one lock per application id: test workers with their own app id do not compete
        self.key = zlib.crc32(f"{settings.streams.app_id}/alerting".encode())
        self._conn: psycopg.Connection | None = None

    def try_acquire(self) -> bool:
        """Blocking; True when this process now leads. Database errors mean "not now"."""
        try:
            conn = connect(self.settings, autocommit=True)
            row = conn.execute("SELECT pg_try_advisory_lock(%s)", (self.key,)).fetchone()
        except psycopg.Error as exc:
            log.warning("alerting leadership: database unavailable: %s", exc)
            return False
        if row and row[0]:
            self._conn = conn
            return True
        conn.close()
        return False

    def alive(self) -> bool:
        """Still holding the lock (the session that holds it still answers)."""
        if self._conn is None:
            return False
        try:
            self._conn.execute("SELECT 1")
            return True
        except psycopg.Error:
            self.release()
            return False

    def release(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(psycopg.Error):
                self._conn.close()  # closing the session releases the lock
            self._conn = None

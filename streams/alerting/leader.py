"""One alerting engine per app, whatever the number of workers: a PostgreSQL advisory lock.

Why: the engine needs a global view. Dependency suppression looks at the
parent's device-down alert, which lives on whichever partition the parent's
records land on; escalation and flap timers must run once, not once per
worker. Evaluating every record costs little (hundreds of thousands of
samples per second per core), so one engine is enough and several would be
wrong. Every worker runs the alerting task; the one holding the lock
evaluates, the others stand by and take over within seconds when its
database session ends (crash, kill -9, network loss).

The lock is session-level, held by a dedicated connection. If that
connection dies the leader tries to take the lock again: when another worker
has it, the leader steps down; when the database cannot be reached at all it
keeps evaluating (a PostgreSQL outage must not silence alerting; at worst
two workers notify the same alert until the database is back).
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
        return self._acquire() == "held"

    def _acquire(self) -> str:
        try:
            conn = connect(self.settings, autocommit=True)
            row = conn.execute("SELECT pg_try_advisory_lock(%s)", (self.key,)).fetchone()
        except psycopg.Error as exc:
            log.warning("alerting leadership: database unavailable: %s", exc)
            return "unknown"
        if row and row[0]:
            self._conn = conn
            return "held"
        conn.close()
        return "lost"

    def check(self) -> str:
        """ "held", "lost" (another worker leads now) or "unknown" (the database is unreachable).

        A leader that cannot reach the database keeps evaluating ("unknown"):
        an outage of PostgreSQL must not silence alerting. Only when the
        database answers and the lock is someone else's does it step down.
        """
        if self._conn is not None:
            try:
                self._conn.execute("SELECT 1")
                return "held"
            except psycopg.Error:
                self.release()
        return self._acquire()

    def alive(self) -> bool:
        """Still holding the lock (the session that holds it still answers)."""
        return self._conn is not None and self.check() == "held"

    def release(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(psycopg.Error):
                self._conn.close()  # closing the session releases the lock
            self._conn = None

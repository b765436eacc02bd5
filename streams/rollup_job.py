"""The rollup job: 1-minute and 1-hour rollups computed by PostgreSQL from stored samples.

Runs every 30 s in every worker (:mod:`streams.agents.rollups`); an advisory
lock makes one worker at a time do it. Each run rolls up the closed minutes
since the last run plus a look-back (late samples -- a backlog after a
database outage, a replay -- are folded in, the SQL being idempotent), and
the hours those minutes belong to, so the current hour's rollup grows as it goes.
"""

from __future__ import annotations

import datetime as dt
import logging

from netvigil.db import connect
from netvigil.settings import Settings
from streams.monitoring import ROWS_WRITTEN
from streams.rollup import ROLLUP_1H_SQL, ROLLUP_1M_SQL

__all__ = ["LOCK_ID", "run_rollups"]

log = logging.getLogger(__name__)

LOCK_ID = 74202


def run_rollups(
    settings: Settings,
    now: dt.datetime | None = None,
    lookback: dt.timedelta = dt.timedelta(minutes=5),
    grace: dt.timedelta = dt.timedelta(seconds=30),
    first_run: dt.timedelta = dt.timedelta(hours=2),
) -> dict[str, int]:
    """Roll up what is due; returns rows upserted per table ({} if another worker holds the lock)."""
    now = now or dt.datetime.now(dt.UTC)
    end = (now - grace).replace(second=0, microsecond=0)
    with connect(settings, autocommit=True) as conn:
        row = conn.execute("SELECT pg_try_advisory_lock(%s)", (LOCK_ID,)).fetchone()
        if not row or not row[0]:
            return {}
        try:
            wm = conn.execute("SELECT done FROM rollup_watermarks WHERE name = 'rollup_1m'").fetchone()
            start = (wm[0] if wm else end - first_run) - lookback
            start = max(start, end - dt.timedelta(days=1))
            counts: dict[str, int] = {}
            with conn.transaction():
                cur = conn.execute(ROLLUP_1M_SQL, {"start": start, "end": end})
                counts["rollup_1m"] = max(cur.rowcount, 0)
                hour = start.replace(minute=0, second=0, microsecond=0)
                cur = conn.execute(ROLLUP_1H_SQL, {"start": hour, "end": end})
                counts["rollup_1h"] = max(cur.rowcount, 0)
                conn.execute(
                    "INSERT INTO rollup_watermarks (name, done) VALUES ('rollup_1m', %s)"
                    " ON CONFLICT (name) DO UPDATE SET done = excluded.done",
                    (end,),
                )
            for table, n in counts.items():
                ROWS_WRITTEN.labels(table).inc(n)
            log.debug("rollups %s..%s: %s", start, end, counts)
            return counts
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (LOCK_ID,))

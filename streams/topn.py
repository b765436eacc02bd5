"""Top-N and day-over-day queries for the app, answered from the rollup tables.

Queries on ``rollup_1m`` / ``rollup_1h`` rather than a Redis sorted set: the
rollups are already there, exact and durable, a top-N over the last minutes
of 1-minute rollups touches (series x minutes) small rows through the
``(series_id, ts)`` key and the BRIN index on ts, and any window the app asks
for works without the worker having to maintain one set per window.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import psycopg

__all__ = ["TOP_QUERIES", "day_over_day", "top_n"]

# name -> (metrics summed per series key, order). The value is the mean over the window.
TOP_QUERIES: dict[str, tuple[tuple[str, ...], str]] = {
    "busiest_interfaces": (("if_in_bps", "if_out_bps"), "interface"),
    "highest_cpu": (("cpu_load_pct",), "device"),
    "most_errors": (("if_in_errors_ps", "if_out_errors_ps"), "interface"),
    "fullest_disks": (("disk_used_pct",), "instance"),
}


def top_n(
    conn: psycopg.Connection, which: str, minutes: int = 15, n: int = 10, now: dt.datetime | None = None
) -> list[dict[str, Any]]:
    """The ``n`` series (device, instance) with the highest mean over the last ``minutes``."""
    metrics, _ = TOP_QUERIES[which]
    now = now or dt.datetime.now(dt.UTC)
    rows = conn.execute(
        "SELECT s.device, s.instance, sum(r.avg * r.n) / sum(r.n) * %s AS value, max(r.max) AS peak"
        " FROM rollup_1m r JOIN series s ON s.id = r.series_id"
        " WHERE s.metric = ANY(%s) AND r.ts >= %s AND r.ts < %s"
        " GROUP BY s.device, s.instance ORDER BY value DESC NULLS LAST LIMIT %s",
        (len(metrics), list(metrics), now - dt.timedelta(minutes=minutes), now, n),
    ).fetchall()
    return [{"device": d, "instance": i, "value": v, "peak": p} for d, i, v, p in rows]


def day_over_day(
    conn: psycopg.Connection, device: str, metric: str, instance: str = "", hours: int = 24
) -> list[dict[str, Any]]:
    """Hourly means of the last ``hours`` beside the same hour one day earlier."""
    rows = conn.execute(
        "SELECT t.ts, t.avg, y.avg FROM series s"
        " JOIN rollup_1h t ON t.series_id = s.id AND t.ts >= now() - make_interval(hours => %s)"
        " LEFT JOIN rollup_1h y ON y.series_id = s.id AND y.ts = t.ts - interval '1 day'"
        " WHERE s.device = %s AND s.metric = %s AND s.instance = %s ORDER BY t.ts",
        (hours, device, metric, instance),
    ).fetchall()
    return [{"ts": ts, "value": v, "yesterday": y} for ts, v, y in rows]

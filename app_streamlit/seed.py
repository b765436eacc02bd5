"""Synthetic data for tests, screenshots and the query benchmark.

Rows are generated inside PostgreSQL (``generate_series``) rather than sent
from Python: the benchmark's tens of millions of rollup rows then cost no
client-side serialisation, and a test fixture seeds a few devices in seconds.
Every name starts with ``prefix`` so runs of different engineers on the shared
test database never collide, and ``purge`` removes exactly what was seeded.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import psycopg

__all__ = [
    "DEVICE_METRICS",
    "Fleet",
    "purge",
    "seed_alerts",
    "seed_all",
    "seed_anomalies",
    "seed_events",
    "seed_fleet",
    "seed_models",
]

from app_streamlit.seed_records import seed_alerts, seed_events, seed_models

log = logging.getLogger(__name__)
Conn = psycopg.Connection[Any]

# metric -> instances; "{if}" expands to interface indexes 1..interfaces.
DEVICE_METRICS: dict[str, tuple[str, ...]] = {
    "cpu_user_pct": ("",),
    "cpu_system_pct": ("",),
    "cpu_iowait_pct": ("",),
    "load_1": ("",),
    "load_5": ("",),
    "load_15": ("",),
    "mem_used_pct": ("",),
    "mem_buffer_pct": ("",),
    "mem_cached_pct": ("",),
    "swap_used_pct": ("",),
    "disk_used_pct": ("/", "/var"),
    "diskio_busy_pct": ("sda",),
    "if_in_bps": ("{if}",),
    "if_out_bps": ("{if}",),
    "if_in_util_pct": ("{if}",),
    "if_out_util_pct": ("{if}",),
    "if_in_errors_ps": ("{if}",),
    "if_out_errors_ps": ("{if}",),
    "if_in_discards_ps": ("{if}",),
    "if_out_discards_ps": ("{if}",),
}

# A daily sine around a per-metric base, a three-day swell (so today differs from yesterday)
# and a little noise; percentages stay in 0..100.
_VALUE = """
LEAST(CASE WHEN m.metric LIKE '%%_pct' THEN 100 ELSE 1e12 END, GREATEST(0,
  m.base * (1 + 0.35 * sin(2 * pi() * extract(epoch FROM t) / 86400 + m.id %% 7)
                + 0.2 * sin(2 * pi() * extract(epoch FROM t) / 259200) + 0.1 * random())))
"""
_BASE = """
CASE WHEN metric LIKE 'if_%%_bps' THEN 2e8 WHEN metric LIKE 'if_%%_util_pct' THEN 20
     WHEN metric LIKE 'if_%%errors_ps' OR metric LIKE 'if_%%discards_ps' THEN 0.5
     WHEN metric LIKE 'load_%%' THEN 1.5 WHEN metric = 'disk_used_pct' THEN 55
     WHEN metric LIKE 'mem_used%%' THEN 45 WHEN metric LIKE 'cpu_user%%' THEN 25 ELSE 8 END
"""


@dataclass
class Fleet:
    prefix: str
    devices: list[str] = field(default_factory=list)
    series: int = 0
    rows: dict[str, int] = field(default_factory=dict)


def seed_fleet(
    conn: Conn,
    prefix: str,
    n_devices: int,
    now: datetime,
    *,
    interfaces: int = 2,
    metrics: dict[str, tuple[str, ...]] | None = None,
    hours_1h: int = 24 * 8,
    hours_1m: float = 50,
    minutes_raw: int = 120,
    detail_devices: int | None = None,
) -> Fleet:
    """Devices with interfaces, an LLDP tree, series and rollups ending at ``now``.

    Rows are written time-major (every series for one minute, then the next),
    as the stream writes them, so BRIN indexes on ts are as sharp as in
    production (the LATERAL makes time the outer loop without a sort).

    1 h rollups cover ``hours_1h`` for every device; 1 m rollups cover
    ``hours_1m`` for the first ``detail_devices`` devices (all by default) and
    the last 30 minutes for the rest, so "latest" views see the whole fleet.
    """
    metrics = metrics or DEVICE_METRICS
    fleet = Fleet(prefix)
    detail = n_devices if detail_devices is None else detail_devices
    conn.execute(
        "INSERT INTO devices (name, address, status, tags, sys_name, sys_descr, last_seen, parent)"
        " SELECT %(p)s || lpad(i::text, 5, '0'), '127.1.' || (i / 250) || '.' || (i %% 250 + 1),"
        "  CASE WHEN i %% 97 = 5 THEN 'down' WHEN i %% 89 = 7 THEN 'unreachable' ELSE 'up' END,"
        "  jsonb_build_object('site', 'site-' || (i / 50), 'role', CASE WHEN i < 4 THEN 'core' ELSE 'access' END),"
        "  %(p)s || lpad(i::text, 5, '0'), 'Linux ' || %(p)s || ' simulated host', %(now)s, NULL"
        " FROM generate_series(0, %(n)s - 1) i",
        {"p": prefix, "n": n_devices, "now": now},
    )
    fleet.devices = [f"{prefix}{i:05d}" for i in range(n_devices)]
    conn.execute(
        "INSERT INTO interfaces (device, if_index, name, alias, speed_bps, admin_status, oper_status)"
        " SELECT %(p)s || lpad(i::text, 5, '0'), k, 'eth' || (k - 1), 'uplink ' || k, 1e9, 1, 1"
        " FROM generate_series(0, %(n)s - 1) i, generate_series(1, %(k)s) k",
        {"p": prefix, "n": n_devices, "k": interfaces},
    )
    # LLDP tree: device i hangs off device (i - 1) / 4 (both directions, as LLDP reports them).
    conn.execute(
        "INSERT INTO lldp_neighbors (device, local_port, remote_chassis, remote_sys_name, remote_port)"
        " SELECT %(p)s || lpad(a::text, 5, '0'), 'eth' || d, 'chassis-' || b, %(p)s || lpad(b::text, 5, '0'),"
        "  'eth' || u FROM (SELECT i AS a, (i - 1) / 4 AS b, 0 AS u, 1 + (i - 1) %% 4 AS d"
        "   FROM generate_series(1, %(n)s - 1) i"
        "   UNION ALL SELECT (i - 1) / 4, i, 1 + (i - 1) %% 4, 0 FROM generate_series(1, %(n)s - 1) i) x",
        {"p": prefix, "n": n_devices},
    )
    pairs = [(m, inst) for m, insts in metrics.items() for inst in insts]
    plain = [(m, i) for m, i in pairs if i != "{if}"]
    per_if = [m for m, i in pairs if i == "{if}"]
    conn.execute(
        "INSERT INTO series (device, metric, instance)"
        " SELECT d.name, x.metric, x.instance FROM devices d,"
        "  unnest(%(m)s::text[], %(i)s::text[]) AS x(metric, instance) WHERE d.name LIKE %(like)s"
        " UNION ALL SELECT d.name, m, k::text FROM devices d, unnest(%(ifm)s::text[]) m,"
        "  generate_series(1, %(k)s) k WHERE d.name LIKE %(like)s",
        {
            "m": [m for m, _ in plain],
            "i": [i for _, i in plain],
            "ifm": per_if,
            "k": interfaces,
            "like": prefix.replace("_", "\\_") + "%",
        },
    )
    ids = "CREATE TEMP TABLE nv_seed_series AS SELECT s.id, s.metric, " + _BASE + " AS base,"
    ids += " (substr(s.device, %(plen)s + 1)::int < %(detail)s) AS detail FROM series s WHERE s.device LIKE %(like)s"
    conn.execute("DROP TABLE IF EXISTS nv_seed_series")
    conn.execute(
        ids,
        {"plen": len(prefix), "detail": detail, "like": prefix.replace("_", "\\_") + "%"},
    )
    fleet.series = int(conn.execute("SELECT count(*) FROM nv_seed_series").fetchone()[0])  # type: ignore[index]
    end = now.replace(second=0, microsecond=0)
    plans = [
        (
            "rollup_1h",
            end.replace(minute=0) - timedelta(hours=hours_1h),
            end.replace(minute=0),
            "1 hour",
            "true",
            60,
        ),
        ("rollup_1m", end - timedelta(hours=hours_1m), end, "1 minute", "m.detail", 1),
        ("rollup_1m", end - timedelta(minutes=30), end, "1 minute", "NOT m.detail", 1),
    ]
    for table, start, stop, step, where, n in plans:
        cur = conn.execute(
            f"INSERT INTO {table} (series_id, ts, n, avg, min, max, p95)"
            f" SELECT x.id, t, {n}, x.v, x.v * 0.8, x.v * 1.2, x.v * 1.1 FROM"
            f" generate_series(%(start)s::timestamptz, %(stop)s::timestamptz - interval '{step}', interval '{step}') t,"
            f" LATERAL (SELECT m.id, {_VALUE} AS v FROM nv_seed_series m WHERE {where}) x",
            {"start": start, "stop": stop},
        )
        fleet.rows[table] = fleet.rows.get(table, 0) + cur.rowcount
    cur = conn.execute(
        "INSERT INTO metric_samples (series_id, ts, value) SELECT x.id, t, x.v"
        " FROM generate_series(%(start)s::timestamptz, %(stop)s, interval '1 minute') t,"
        " LATERAL (SELECT m.id, " + _VALUE + " AS v FROM nv_seed_series m WHERE m.detail) x",
        {"start": end - timedelta(minutes=minutes_raw), "stop": end},
    )
    fleet.rows["metric_samples"] = cur.rowcount
    conn.execute("DROP TABLE nv_seed_series")
    return fleet


def seed_anomalies(conn: Conn, prefix: str, now: datetime, hours: int = 6) -> None:
    """Scores with an expected band for CPU and traffic of the first device, a few flagged; a disk forecast."""
    like = f"{prefix}00000"
    conn.execute(
        "INSERT INTO anomaly_scores (series_id, ts, value, score, likelihood, is_anomaly, expected_low,"
        " expected_high, model, model_version)"
        " SELECT r.series_id, r.ts, r.avg, CASE WHEN extract(minute FROM r.ts) = 17 THEN 0.99 ELSE 0.2 END, 0.5,"
        "  extract(minute FROM r.ts) = 17 AND extract(hour FROM r.ts)::int %% 2 = 0, r.avg * 0.7, r.avg * 1.3,"
        "  'hst', 1"
        " FROM rollup_1m r JOIN series s ON s.id = r.series_id"
        " WHERE s.device = %s AND s.metric IN ('cpu_user_pct', 'if_in_bps') AND r.ts >= %s",
        (like, now - timedelta(hours=hours)),
    )
    conn.execute(
        "INSERT INTO forecasts (series_id, ts, horizon_s, slope_per_s, intercept, threshold, crossing_at)"
        " SELECT s.id, %s, 7 * 86400, 30.0 / (7 * 86400), 62, 90, %s FROM series s"
        " WHERE s.device = %s AND s.metric = 'disk_used_pct' AND s.instance = '/'",
        (now - timedelta(minutes=5), now + timedelta(days=6.5), like),
    )


def purge(conn: Conn, prefix: str) -> None:
    """Remove everything ``seed_*`` wrote for ``prefix``."""
    like = prefix.replace("_", "\\_") + "%"
    for table in ("rollup_1h", "rollup_1m", "metric_samples", "anomaly_scores", "forecasts"):
        conn.execute(
            f"DELETE FROM {table} WHERE series_id IN (SELECT id FROM series WHERE device LIKE %s)", (like,)
        )
    for query in (
        "DELETE FROM series WHERE device LIKE %s",
        "DELETE FROM alert_events WHERE key LIKE %s",
        "DELETE FROM alerts WHERE key LIKE %s",
        "DELETE FROM syslog_messages WHERE device LIKE %s",
        "DELETE FROM traps WHERE device LIKE %s",
        "DELETE FROM model_registry WHERE family LIKE %s",
        "DELETE FROM component_health WHERE component LIKE %s",
        "DELETE FROM silences WHERE matcher->>'device' LIKE %s",
        "DELETE FROM devices WHERE name LIKE %s",
    ):
        conn.execute(query, (like,))


def seed_all(conn: Conn, prefix: str, now: datetime, n_devices: int = 6) -> tuple[Fleet, list[str]]:
    """A small complete data set: fleet, anomalies, forecasts, alerts, events, models, health."""
    with conn.transaction():
        fleet = seed_fleet(conn, prefix, n_devices, now)
        seed_anomalies(conn, prefix, now)
        keys = seed_alerts(conn, prefix, fleet.devices, now)
        seed_events(conn, prefix, fleet.devices, now)
        seed_models(conn, prefix, now)
    return fleet, keys

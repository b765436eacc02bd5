"""Overview page data: the fleet at a glance, cheap enough to refresh every few seconds."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pandas as pd
import psycopg

from app_streamlit.data.common import read_frame

__all__ = [
    "active_alerts_by_severity",
    "anomaly_rate",
    "busiest_interfaces",
    "devices_by_status",
    "fullest_disks",
    "highest_cpu",
    "last_data",
    "pipeline_health",
]

Conn = psycopg.Connection[Any]
WINDOW = timedelta(minutes=15)


def devices_by_status(conn: Conn) -> pd.DataFrame:
    return read_frame(
        conn, "SELECT status, count(*) AS devices FROM devices WHERE enabled GROUP BY status ORDER BY 2 DESC"
    )


def active_alerts_by_severity(conn: Conn) -> pd.DataFrame:
    return read_frame(
        conn,
        "SELECT severity, count(*) FILTER (WHERE state = 'open') AS open,"
        " count(*) FILTER (WHERE state = 'acknowledged') AS acknowledged"
        " FROM alerts WHERE state IN ('open', 'acknowledged') GROUP BY severity"
        " ORDER BY array_position(ARRAY['critical','major','minor','warning','info'], severity)",
    )


# Latest-window averages come from the 1 m rollups: one index probe per series
# on (series_id, ts), never a scan of raw samples.
_LATEST = """
WITH s AS (SELECT id, device, metric, instance FROM series WHERE metric = ANY(%(metrics)s)),
r AS (
    SELECT s.device, s.metric, s.instance, avg(r.avg) AS value
    FROM s JOIN rollup_1m r ON r.series_id = s.id AND r.ts >= %(since)s
    GROUP BY s.device, s.metric, s.instance
)
"""


def busiest_interfaces(conn: Conn, now: datetime, limit: int = 10) -> pd.DataFrame:
    return read_frame(
        conn,
        _LATEST + "SELECT r.device, r.instance AS if_index, i.name AS interface,"
        " max(value) FILTER (WHERE metric = 'if_in_bps') AS in_bps,"
        " max(value) FILTER (WHERE metric = 'if_out_bps') AS out_bps"
        " FROM r LEFT JOIN interfaces i ON i.device = r.device AND i.if_index::text = r.instance"
        " GROUP BY r.device, r.instance, i.name"
        " ORDER BY coalesce(max(value) FILTER (WHERE metric = 'if_in_bps'), 0)"
        " + coalesce(max(value) FILTER (WHERE metric = 'if_out_bps'), 0) DESC LIMIT %(limit)s",
        {"metrics": ["if_in_bps", "if_out_bps"], "since": now - WINDOW, "limit": limit},
    )


def highest_cpu(conn: Conn, now: datetime, limit: int = 10) -> pd.DataFrame:
    return read_frame(
        conn,
        _LATEST + "SELECT device,"
        " sum(value) FILTER (WHERE metric IN ('cpu_user_pct','cpu_system_pct','cpu_iowait_pct')) AS busy_pct,"
        " max(value) FILTER (WHERE metric = 'cpu_user_pct') AS user_pct,"
        " max(value) FILTER (WHERE metric = 'cpu_system_pct') AS system_pct,"
        " max(value) FILTER (WHERE metric = 'cpu_iowait_pct') AS iowait_pct"
        " FROM r WHERE instance = '' GROUP BY device ORDER BY 2 DESC NULLS LAST LIMIT %(limit)s",
        {
            "metrics": ["cpu_user_pct", "cpu_system_pct", "cpu_iowait_pct"],
            "since": now - WINDOW,
            "limit": limit,
        },
    )


def fullest_disks(conn: Conn, now: datetime, limit: int = 10) -> pd.DataFrame:
    return read_frame(
        conn,
        _LATEST + "SELECT device, instance AS mount, value AS used_pct FROM r"
        " ORDER BY value DESC NULLS LAST LIMIT %(limit)s",
        {"metrics": ["disk_used_pct"], "since": now - WINDOW, "limit": limit},
    )


def anomaly_rate(conn: Conn, now: datetime, hours: int = 24) -> pd.DataFrame:
    """Scored points and anomalies per hour over the last ``hours``."""
    return read_frame(
        conn,
        "SELECT date_trunc('hour', ts) AS hour, count(*) AS scored,"
        " count(*) FILTER (WHERE is_anomaly) AS anomalies"
        " FROM anomaly_scores WHERE ts >= %s AND ts <= %s GROUP BY 1 ORDER BY 1",
        (now - timedelta(hours=hours), now),
    )


def pipeline_health(conn: Conn, now: datetime) -> pd.DataFrame:
    """Heartbeats of collectors and workers with their age in seconds (detail holds lag, counts)."""
    return read_frame(
        conn,
        "SELECT component, last_seen, extract(epoch FROM (%s - last_seen))::float8 AS age_s,"
        " detail::text AS detail FROM component_health ORDER BY component",
        (now,),
    )


# Newest row per kind of data within a recent window; BRIN on ts keeps each a short scan.
_LAST_DATA: dict[str, tuple[str, timedelta]] = {
    "SNMP samples": ("metric_samples", timedelta(hours=1)),
    "1 m rollups": ("rollup_1m", timedelta(hours=1)),
    "ping": ("ping_results", timedelta(hours=1)),
    "anomaly scores": ("anomaly_scores", timedelta(hours=1)),
    "traps": ("traps", timedelta(days=7)),
    "syslog": ("syslog_messages", timedelta(days=7)),
}


def last_data(conn: Conn, now: datetime) -> pd.DataFrame:
    """Newest timestamp per data kind (None: nothing within its window)."""
    parts = [
        f"SELECT %s AS data, (SELECT max(ts) FROM {table} WHERE ts >= %s) AS newest"
        for table, _ in _LAST_DATA.values()
    ]
    params: list[Any] = []
    for name, (_, window) in _LAST_DATA.items():
        params += [name, now - window]
    frame = read_frame(conn, " UNION ALL ".join(parts), params)
    frame["age_s"] = [
        (now - t).total_seconds() if t is not None and not pd.isna(t) else None for t in frame["newest"]
    ]
    return frame

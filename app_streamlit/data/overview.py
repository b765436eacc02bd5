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
    "devices_by_status",
    "hot_spots",
    "last_data",
    "pipeline_health",
]

Conn = psycopg.Connection[Any]
WINDOW = timedelta(minutes=2)


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


# "Now" is the average of the 1 m rollups of the last two minutes (one or two
# closed buckets per series). One scan of that window (BRIN on ts, today's
# partition) feeds all three hot-spot lists, aggregated by series id before
# any string is touched: at 15,000 devices a 15-minute window or three
# separate queries cost 1-3 s, this costs ~0.2 s.
_HOT = """
WITH a AS (
    SELECT series_id, avg(avg) AS value FROM rollup_1m
    WHERE ts >= %(since)s AND ts <= %(now)s GROUP BY series_id
), r AS MATERIALIZED (
    SELECT s.device, s.metric, s.instance, a.value
    FROM a JOIN series s ON s.id = a.series_id WHERE s.metric = ANY(%(metrics)s)
), ifs AS (
    SELECT device, instance,
           max(value) FILTER (WHERE metric = 'if_in_bps') AS a,
           max(value) FILTER (WHERE metric = 'if_out_bps') AS b
    FROM r WHERE metric IN ('if_in_bps', 'if_out_bps') GROUP BY device, instance
), cpu AS (
    SELECT device, '' AS instance,
           sum(value) AS a,
           max(value) FILTER (WHERE metric = 'cpu_user_pct') AS b,
           max(value) FILTER (WHERE metric = 'cpu_system_pct') AS c,
           max(value) FILTER (WHERE metric = 'cpu_iowait_pct') AS d
    FROM r WHERE metric IN ('cpu_user_pct', 'cpu_system_pct', 'cpu_iowait_pct') AND instance = ''
    GROUP BY device
)
(SELECT 'if' AS kind, device, instance, a, b, NULL::float8 AS c, NULL::float8 AS d FROM ifs
  ORDER BY coalesce(a, 0) + coalesce(b, 0) DESC LIMIT %(limit)s)
UNION ALL
(SELECT 'cpu', device, instance, a, b, c, d FROM cpu ORDER BY a DESC NULLS LAST LIMIT %(limit)s)
UNION ALL
(SELECT 'disk', device, instance, value, NULL, NULL, NULL FROM r WHERE metric = 'disk_used_pct'
  ORDER BY value DESC NULLS LAST LIMIT %(limit)s)
"""
_HOT_METRICS = [
    "if_in_bps",
    "if_out_bps",
    "cpu_user_pct",
    "cpu_system_pct",
    "cpu_iowait_pct",
    "disk_used_pct",
]


def hot_spots(conn: Conn, now: datetime, limit: int = 10) -> dict[str, pd.DataFrame]:
    """Busiest interfaces, highest CPU and fullest disks over the last few minutes, from one scan."""
    frame = read_frame(
        conn, _HOT, {"since": now - WINDOW, "now": now, "metrics": _HOT_METRICS, "limit": limit}
    )
    ifs = frame[frame["kind"] == "if"].rename(columns={"instance": "if_index", "a": "in_bps", "b": "out_bps"})
    names = read_frame(
        conn,
        "SELECT i.device, i.if_index::text AS if_index, i.name AS interface FROM interfaces i"
        " JOIN unnest(%s::text[], %s::text[]) AS x(device, if_index)"
        "   ON x.device = i.device AND x.if_index = i.if_index::text",
        (list(ifs["device"]), list(ifs["if_index"])),
    )
    ifs = ifs.merge(names, on=["device", "if_index"], how="left")
    cpu = frame[frame["kind"] == "cpu"].rename(
        columns={"a": "busy_pct", "b": "user_pct", "c": "system_pct", "d": "iowait_pct"}
    )
    disk = frame[frame["kind"] == "disk"].rename(columns={"instance": "mount", "a": "used_pct"})
    return {
        "interfaces": ifs[["device", "if_index", "interface", "in_bps", "out_bps"]].reset_index(drop=True),
        "cpu": cpu[["device", "busy_pct", "user_pct", "system_pct", "iowait_pct"]].reset_index(drop=True),
        "disks": disk[["device", "mount", "used_pct"]].reset_index(drop=True),
    }


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
# A kind with nothing inside its window shows no time: that is the alarm.
_LAST_DATA: dict[str, tuple[str, timedelta]] = {
    "SNMP samples": ("metric_samples", timedelta(minutes=3)),
    "1 m rollups": ("rollup_1m", timedelta(minutes=3)),
    "ping": ("ping_results", timedelta(minutes=3)),
    "anomaly scores": ("anomaly_scores", timedelta(minutes=3)),
    "traps": ("traps", timedelta(hours=1)),
    "syslog": ("syslog_messages", timedelta(hours=1)),
}


def last_data(conn: Conn, now: datetime) -> pd.DataFrame:
    """Newest timestamp per data kind (None: nothing within its window)."""
    parts = [
        f"SELECT %s AS data, %s AS window, (SELECT max(ts) FROM {table} WHERE ts >= %s) AS newest"
        for table, _ in _LAST_DATA.values()
    ]
    params: list[Any] = []
    for name, (_, window) in _LAST_DATA.items():
        params += [name, _human(window), now - window]
    frame = read_frame(conn, " UNION ALL ".join(parts), params)
    frame["age_s"] = [
        (now - t).total_seconds() if t is not None and not pd.isna(t) else None for t in frame["newest"]
    ]
    return frame


def _human(window: timedelta) -> str:
    minutes = int(window.total_seconds() // 60)
    return f"{minutes // 60} h" if minutes >= 60 else f"{minutes} min"

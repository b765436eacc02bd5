"""Device inventory and the time series drawn on a device's page."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import pandas as pd
import psycopg

from app_streamlit.data.common import (
    SOURCE_TABLE,
    Source,
    bucket_for,
    choose_source,
    like_pattern,
    read_frame,
    read_numbers,
)

__all__ = [
    "anomalies",
    "day_over_day",
    "device_info",
    "device_series",
    "forecasts",
    "interfaces",
    "inventory",
    "series_data",
]

Conn = psycopg.Connection[Any]


def inventory(conn: Conn, search: str = "", status: Sequence[str] = (), limit: int = 500) -> pd.DataFrame:
    """Devices whose name, address, system name/description or tags contain ``search``."""
    return read_frame(
        conn,
        "SELECT d.name, d.address, d.status, d.last_seen, d.snmp_version, d.sys_name, d.sys_descr,"
        " d.tags::text AS tags, coalesce(a.open_alerts, 0) AS open_alerts"
        " FROM devices d LEFT JOIN ("
        "   SELECT device, count(*) AS open_alerts FROM alerts"
        "   WHERE state IN ('open', 'acknowledged') GROUP BY device) a ON a.device = d.name"
        " WHERE (%(q)s = '' OR d.name ILIKE %(pat)s OR d.address ILIKE %(pat)s"
        "        OR d.sys_name ILIKE %(pat)s OR d.sys_descr ILIKE %(pat)s OR d.tags::text ILIKE %(pat)s)"
        "   AND (cardinality(%(status)s::text[]) = 0 OR d.status = ANY(%(status)s::text[]))"
        " ORDER BY d.name LIMIT %(limit)s",
        {"q": search, "pat": like_pattern(search), "status": list(status), "limit": limit},
    )


def device_info(conn: Conn, name: str) -> pd.DataFrame:
    return read_frame(
        conn,
        "SELECT name, address, port, snmp_version, poll_interval, modules, tags::text AS tags, parent,"
        " enabled, sys_name, sys_descr, sys_object_id, status, last_seen FROM devices WHERE name = %s",
        (name,),
    )


def device_series(conn: Conn, device: str) -> pd.DataFrame:
    return read_frame(
        conn,
        "SELECT id, metric, instance, unit, label FROM series WHERE device = %s ORDER BY metric, instance",
        (device,),
    )


def interfaces(conn: Conn, device: str) -> pd.DataFrame:
    return read_frame(
        conn,
        "SELECT if_index, name, alias, descr, speed_bps, admin_status, oper_status, updated_at"
        " FROM interfaces WHERE device = %s ORDER BY if_index",
        (device,),
    )


def series_data(
    conn: Conn,
    device: str,
    metrics: Sequence[str],
    start: datetime,
    end: datetime,
    instances: Sequence[str] | None = None,
    source: Source | None = None,
) -> pd.DataFrame:
    """Points (ts, metric, instance, value) from the table fitting the range.

    Raw samples for short ranges, 1 m rollups up to two days, 1 h rollups
    beyond; ``value`` is the bucket average for rollups. The points come back
    as plain numbers (series id, epoch, value) and are labelled here: building
    a DataFrame from tens of thousands of datetime objects and repeated
    strings cost ten times the query itself.
    """
    source = source or choose_source(end - start)
    table = SOURCE_TABLE[source]
    value = "t.value" if source == "raw" else "t.avg"
    ids = read_frame(
        conn,
        "SELECT id, metric, instance FROM series WHERE device = %(device)s AND metric = ANY(%(metrics)s)"
        " AND (%(any_instance)s OR instance = ANY(%(instances)s))",
        {
            "device": device,
            "metrics": list(metrics),
            "any_instance": instances is None,
            "instances": list(instances or []),
        },
    )
    points = read_numbers(
        conn,
        f"SELECT t.series_id, extract(epoch FROM t.ts)::float8, {value} FROM {table} t"
        " WHERE t.series_id = ANY(%s) AND t.ts >= %s AND t.ts < %s ORDER BY t.series_id, t.ts",
        (list(ids["id"]), start, end),
        width=3,
    )
    sid = points[:, 0].astype(int)
    lookup = ids.set_index("id")
    frame = pd.DataFrame(
        {
            "ts": pd.to_datetime(points[:, 1], unit="s", utc=True),
            "metric": lookup["metric"].reindex(sid).to_numpy(),
            "instance": lookup["instance"].reindex(sid).to_numpy(),
            "value": points[:, 2],
        }
    )
    frame["source"] = source
    return frame


def anomalies(
    conn: Conn,
    device: str,
    metrics: Sequence[str],
    start: datetime,
    end: datetime,
    source: Source | None = None,
) -> pd.DataFrame:
    """Anomaly scores thinned to the chart's resolution: expected band, worst score, anomaly flag."""
    source = source or choose_source(end - start)
    bucket = bucket_for(source)
    return read_frame(
        conn,
        "SELECT date_bin(%(bucket)s, a.ts, TIMESTAMPTZ '2000-01-01') AS ts, s.metric, s.instance,"
        " avg(a.value) AS value, max(a.score) AS score, bool_or(a.is_anomaly) AS is_anomaly,"
        " avg(a.expected_low) AS expected_low, avg(a.expected_high) AS expected_high, max(a.model) AS model"
        " FROM series s JOIN anomaly_scores a ON a.series_id = s.id AND a.ts >= %(start)s AND a.ts < %(end)s"
        " WHERE s.device = %(device)s AND s.metric = ANY(%(metrics)s)"
        " GROUP BY 1, 2, 3 ORDER BY 2, 3, 1",
        {"bucket": bucket, "device": device, "metrics": list(metrics), "start": start, "end": end},
    )


def forecasts(conn: Conn, device: str, metrics: Sequence[str], since: datetime) -> pd.DataFrame:
    """The newest trend forecast per series of the device (made after ``since``)."""
    return read_frame(
        conn,
        "SELECT DISTINCT ON (f.series_id) s.metric, s.instance, f.ts, f.horizon_s, f.slope_per_s,"
        " f.intercept, f.threshold, f.crossing_at"
        " FROM series s JOIN forecasts f ON f.series_id = s.id AND f.ts >= %(since)s"
        " WHERE s.device = %(device)s AND s.metric = ANY(%(metrics)s)"
        " ORDER BY f.series_id, f.ts DESC",
        {"device": device, "metrics": list(metrics), "since": since},
    )


def day_over_day(frame: pd.DataFrame) -> pd.DataFrame:
    """The same points moved one day later, to overlay yesterday on today (pure)."""
    shifted = frame.copy()
    if not shifted.empty:
        shifted["ts"] = pd.to_datetime(shifted["ts"]) + timedelta(days=1)
    return shifted

"""Alerts console data: the filtered list, timelines, root-cause groups, silences."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import pandas as pd
import psycopg

from app_streamlit.data.common import like_pattern, read_frame

__all__ = [
    "active_silences",
    "alert_by_key",
    "alert_list",
    "alert_timeline",
    "group_by_root_cause",
    "tag_filter",
]

Conn = psycopg.Connection[Any]
SEVERITIES = ("critical", "major", "minor", "warning", "info")
STATES = ("open", "acknowledged", "suppressed", "resolved")


def tag_filter(tag: str) -> tuple[str | None, str | None]:
    """``key=value`` -> (containment JSON, None); ``key`` -> (None, key); "" -> (None, None)."""
    tag = tag.strip()
    if not tag:
        return None, None
    if "=" in tag:
        key, value = (p.strip() for p in tag.split("=", 1))
        return json.dumps({key: value}), None
    return None, tag


def alert_list(
    conn: Conn,
    severities: Sequence[str] = (),
    states: Sequence[str] = ("open", "acknowledged"),
    device: str = "",
    tag: str = "",
    limit: int = 500,
) -> pd.DataFrame:
    contains, has_key = tag_filter(tag)
    return read_frame(
        conn,
        "SELECT key, severity, state, device, instance, metric, kind, rule, summary, value, threshold,"
        " score, flapping, root_cause, tags::text AS tags, started, updated, acknowledged_by,"
        " acknowledged_at, false_positive"
        " FROM alerts"
        " WHERE (cardinality(%(sev)s::text[]) = 0 OR severity = ANY(%(sev)s::text[]))"
        "   AND (cardinality(%(states)s::text[]) = 0 OR state = ANY(%(states)s::text[]))"
        "   AND (%(device)s = '' OR device ILIKE %(device_pat)s)"
        "   AND (%(contains)s::jsonb IS NULL OR tags @> %(contains)s::jsonb)"
        "   AND (%(has_key)s::text IS NULL OR tags ? %(has_key)s::text)"
        " ORDER BY array_position(ARRAY['critical','major','minor','warning','info'], severity), started DESC"
        " LIMIT %(limit)s",
        {
            "sev": list(severities),
            "states": list(states),
            "device": device,
            "device_pat": like_pattern(device),
            "contains": contains,
            "has_key": has_key,
            "limit": limit,
        },
    )


def alert_by_key(conn: Conn, key: str) -> pd.DataFrame:
    return read_frame(
        conn,
        "SELECT key, severity, state, device, instance, metric, kind, rule, summary, root_cause,"
        " tags::text AS tags, started, updated, acknowledged_by FROM alerts WHERE key = %s",
        (key,),
    )


def alert_timeline(conn: Conn, key: str) -> pd.DataFrame:
    """Transitions, notifications, remediation output and notes of one alert, oldest first."""
    return read_frame(
        conn,
        "SELECT ts, kind, actor, from_state, to_state, detail::text AS detail"
        " FROM alert_events WHERE key = %s ORDER BY ts, id",
        (key,),
    )


def active_silences(conn: Conn, now: datetime) -> pd.DataFrame:
    return read_frame(
        conn,
        "SELECT id, matcher::text AS matcher, starts_at, ends_at, created_by, comment"
        " FROM silences WHERE ends_at > %s ORDER BY starts_at",
        (now,),
    )


def group_by_root_cause(alerts: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """(root key, its alerts with the root first), biggest group first (pure).

    An alert whose ``root_cause`` names an alert not in the list still groups
    under that key, so symptoms of a resolved root stay together.
    """
    if alerts.empty:
        return []
    root = alerts["root_cause"].where(
        alerts["root_cause"].notna() & (alerts["root_cause"] != ""), alerts["key"]
    )
    frame = alerts.assign(_root=root, _is_root=(alerts["key"] == root))
    groups = []
    for key, group in frame.groupby("_root", sort=False):
        ordered = group.sort_values("_is_root", ascending=False).drop(columns=["_root", "_is_root"])
        groups.append((str(key), ordered))
    groups.sort(key=lambda g: -len(g[1]))
    return groups

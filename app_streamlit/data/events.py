"""Trap and syslog search: one time-ordered list of both, and its CSV export."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import Any, Literal

import pandas as pd
import psycopg

from app_streamlit.data.common import like_pattern, read_frame

__all__ = ["SYSLOG_SEVERITIES", "search_events", "to_csv"]

Conn = psycopg.Connection[Any]
Kind = Literal["all", "trap", "syslog"]

SYSLOG_SEVERITIES = ("emerg", "alert", "crit", "err", "warning", "notice", "info", "debug")

# Traps carry no syslog severity: a severity filter keeps syslog lines at or
# above it and leaves traps out only when the user asks for syslog alone.
_QUERY = """
SELECT * FROM (
    SELECT ts, 'trap' AS kind, coalesce(device, source) AS device, NULL::smallint AS severity,
           trap_name AS app, trap_oid || ' ' || varbinds::text AS message
    FROM traps
    WHERE %(want_traps)s AND ts >= %(start)s AND ts < %(end)s
      AND (%(device)s = '' OR coalesce(device, source) ILIKE %(device_pat)s)
      AND (%(text)s = '' OR trap_name ILIKE %(text_pat)s OR trap_oid ILIKE %(text_pat)s
           OR varbinds::text ILIKE %(text_pat)s)
    UNION ALL
    SELECT ts, 'syslog' AS kind, coalesce(device, hostname, source) AS device, severity,
           app, message
    FROM syslog_messages
    WHERE %(want_syslog)s AND ts >= %(start)s AND ts < %(end)s
      AND (%(device)s = '' OR coalesce(device, hostname, source) ILIKE %(device_pat)s)
      AND (%(max_sev)s::int IS NULL OR severity <= %(max_sev)s::int)
      AND (%(text)s = '' OR message ILIKE %(text_pat)s OR app ILIKE %(text_pat)s)
) e ORDER BY ts DESC LIMIT %(limit)s
"""


def search_events(
    conn: Conn,
    start: datetime,
    end: datetime,
    kind: Kind = "all",
    device: str = "",
    max_severity: int | None = None,
    text: str = "",
    limit: int = 2000,
) -> pd.DataFrame:
    """Newest first; ``max_severity`` is the syslog number (0 emerg .. 7 debug) to keep at or below.

    The range is searched newest slice first (last day, last week, the rest)
    and stops once ``limit`` rows are found: a common word over 30 days then
    reads one day of messages, not thirty. A rare one still reads them all.
    """
    params: dict[str, Any] = {
        "want_traps": kind in ("all", "trap") and max_severity is None,
        "want_syslog": kind in ("all", "syslog"),
        "device": device,
        "device_pat": like_pattern(device),
        "max_sev": max_severity,
        "text": text,
        "text_pat": like_pattern(text),
    }
    parts: list[pd.DataFrame] = []
    found = 0
    for lo, hi in _slices(start, end):
        part = read_frame(conn, _QUERY, params | {"start": lo, "end": hi, "limit": limit - found})
        parts.append(part)
        found += len(part)
        if found >= limit:
            break
    filled = [p for p in parts if not p.empty]
    frame = pd.concat(filled, ignore_index=True) if len(filled) > 1 else (filled or parts)[0]
    frame["severity_name"] = [
        SYSLOG_SEVERITIES[int(s)] if s is not None and not pd.isna(s) and 0 <= int(s) < 8 else ""
        for s in frame["severity"]
    ]
    return frame


def _slices(start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """[start, end) cut at one day and one week before ``end``, newest slice first (pure)."""
    cuts = [end, end - timedelta(days=1), end - timedelta(days=7), start]
    out = []
    for hi, lo in itertools.pairwise(cuts):
        lo, hi = max(lo, start), min(hi, end)
        if lo < hi:
            out.append((lo, hi))
    return out or [(start, end)]


def to_csv(frame: pd.DataFrame) -> bytes:
    """CSV export; cells starting with = + - @ are quoted so spreadsheets do not run them."""
    safe = frame.copy()
    for col in safe.columns:
        if safe[col].dtype == object:
            safe[col] = safe[col].map(
                lambda v: "'" + v if isinstance(v, str) and v[:1] in ("=", "+", "-", "@") else v
            )
    text: str = safe.to_csv(index=False)
    return text.encode()

"""Reading training material from the database: series history and labelled alerts.

History comes from ``rollup_1m`` (one point per minute: the average) or, when a
family has no rollups yet, from ``metric_samples``.  Labels come from the alert
console: an alert an operator acknowledged is a true positive, one marked
``false_positive`` is a negative; alerts nobody touched are not labels.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import msgspec
import numpy as np
import psycopg

from models.nab.data import NabSeries
from netvigil.metrics import CATALOGUE
from netvigil.settings import Settings, load_settings

log = logging.getLogger(__name__)

SOURCES = ("rollup_1m", "metric_samples")


@dataclass(frozen=True)
class History:
    """One series' stored points, oldest first (``ts`` in epoch seconds)."""

    series_id: int
    device: str
    metric: str
    instance: str
    ts: np.ndarray
    values: np.ndarray

    @property
    def key(self) -> str:
        return f"{self.device}|{self.metric}|{self.instance}"

    def as_nab(self) -> NabSeries:
        """The same points as an unlabelled NAB series, for the NAB runner's code."""
        return NabSeries(key=f"db/{self.key}", ts=self.ts, values=self.values, timestamps=[], windows=[])


@dataclass(frozen=True)
class AlertLabel:
    """An alert an operator judged: ``positive`` (acknowledged) or not (false positive)."""

    key: str
    series_id: int
    started: float  # epoch seconds
    positive: bool


def settings_for(dsn: str | None = None) -> Settings:
    """Effective settings, with the writer DSN replaced when ``dsn`` is given (notebooks)."""
    settings = load_settings()
    if dsn:
        settings = msgspec.structs.replace(
            settings, postgres=msgspec.structs.replace(settings.postgres, dsn=dsn)
        )
    return settings


def family_metrics(family: str) -> list[str]:
    """Metric names of a series family (``netvigil.metrics``); unknown family -> error."""
    names = [m.name for m in CATALOGUE.values() if m.family == family]
    if not names:
        families = sorted({m.family for m in CATALOGUE.values()})
        raise ValueError(f"unknown series family {family!r}; known: {families}")
    return names


def load_history(
    conn: psycopg.Connection,
    family: str,
    since_days: float = 14.0,
    device_like: str | None = None,
    source: str = "auto",
    max_series: int | None = None,
    min_points: int = 2,
) -> list[History]:
    """Every series of ``family`` (optionally devices matching SQL LIKE ``device_like``).

    ``source`` is ``rollup_1m``, ``metric_samples`` or ``auto`` (rollups, else raw).
    """
    if source == "auto":
        for src in SOURCES:
            found = load_history(conn, family, since_days, device_like, src, max_series, min_points)
            if found:
                return found
        return []
    if source not in SOURCES:
        raise ValueError(f"source must be one of {SOURCES} or 'auto'")
    value = "t.avg" if source == "rollup_1m" else "t.value"
    rows = conn.execute(
        f"SELECT s.id, s.device, s.metric, s.instance, extract(epoch FROM t.ts)::float8, {value}"
        f" FROM {source} t JOIN series s ON s.id = t.series_id"
        " WHERE s.metric = ANY(%s) AND t.ts >= now() - make_interval(secs => %s)"
        " AND (%s::text IS NULL OR s.device LIKE %s)"
        " ORDER BY s.id, t.ts",
        (family_metrics(family), since_days * 86400.0, device_like, device_like),
    ).fetchall()
    out: list[History] = []
    start = 0
    for i in range(1, len(rows) + 1):
        if i == len(rows) or rows[i][0] != rows[start][0]:
            chunk = rows[start:i]
            if len(chunk) >= min_points:
                sid, dev, met, inst = chunk[0][:4]
                out.append(
                    History(
                        int(sid),
                        dev,
                        met,
                        inst,
                        np.array([r[4] for r in chunk], dtype=np.float64),
                        np.array([r[5] for r in chunk], dtype=np.float64),
                    )
                )
            start = i
    if max_series is not None:
        out = out[:max_series]
    log.info(
        "loaded %d %s series (%d points) from %s", len(out), family, sum(len(h.values) for h in out), source
    )
    return out


def load_alert_labels(
    conn: psycopg.Connection, family: str, since_days: float = 14.0, device_like: str | None = None
) -> list[AlertLabel]:
    """Judged alerts on series of ``family``: acknowledged -> positive, false_positive -> negative."""
    rows = conn.execute(
        "SELECT a.key, s.id, extract(epoch FROM a.started)::float8, a.false_positive"
        " FROM alerts a JOIN series s"
        "   ON s.device = a.device AND s.metric = a.metric AND s.instance = a.instance"
        " WHERE s.metric = ANY(%s) AND a.started >= now() - make_interval(secs => %s)"
        " AND (%s::text IS NULL OR a.device LIKE %s)"
        " AND (a.false_positive OR a.acknowledged_at IS NOT NULL OR a.acknowledged_by IS NOT NULL)"
        " ORDER BY a.started",
        (family_metrics(family), since_days * 86400.0, device_like, device_like),
    ).fetchall()
    return [AlertLabel(str(k), int(sid), float(t), not bool(fp)) for k, sid, t, fp in rows]


__all__ = [
    "SOURCES",
    "AlertLabel",
    "History",
    "family_metrics",
    "load_alert_labels",
    "load_history",
    "settings_for",
]

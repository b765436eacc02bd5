"""Rolling statistics and time-bucket rollups of a series. Pure.

Two uses, one vocabulary (:class:`Summary`: n, mean, min, max, p95):

- **rolling windows** (:class:`RollingStats`): per series, the last 1 minute,
  5 minutes and 1 hour of values, exact (a window holds at most a few hundred
  values at SNMP poll rates, so the p95 is computed exactly over the window
  rather than sketched). For rules and detectors that want "p95 over the last
  5 minutes" in the stream.
- **persisted rollups** (``rollup_1m``, ``rollup_1h``): computed by PostgreSQL
  from the stored samples (:mod:`streams.agents.rollups`, SQL in
  :data:`ROLLUP_1M_SQL`), because the database already holds every sample
  exactly once, durably, whatever worker wrote it. 1-hour rollups are merged
  from 1-minute rollups with :func:`merge` semantics: exact n, mean, min and
  max; the p95 is the 95th percentile of the minute p95s (an approximation
  that never under-states a sustained peak).

Flagged samples (``flag IS NOT NULL``, e.g. a rate above the interface speed)
are kept out of rollups: they are stored, not trusted.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = [
    "ROLLUP_1H_SQL",
    "ROLLUP_1M_SQL",
    "WINDOWS",
    "RollingStats",
    "RollingWindow",
    "Summary",
    "bucket_start",
    "merge",
    "percentile",
    "summarise",
]

WINDOWS: tuple[tuple[str, float], ...] = (("1m", 60.0), ("5m", 300.0), ("1h", 3600.0))


@dataclass(frozen=True)
class Summary:
    n: int
    mean: float
    min: float
    max: float
    p95: float


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile of sorted-or-not ``values`` (PostgreSQL percentile_cont)."""
    if not values:
        raise ValueError("percentile of no values")
    ordered = sorted(values)
    pos = q * (len(ordered) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def summarise(values: Sequence[float]) -> Summary:
    if not values:
        raise ValueError("summary of no values")
    return Summary(len(values), sum(values) / len(values), min(values), max(values), percentile(values, 0.95))


def merge(parts: Sequence[Summary]) -> Summary:
    """Combine bucket summaries (1-minute -> 1-hour), as the SQL rollup does."""
    if not parts:
        raise ValueError("merge of no summaries")
    n = sum(p.n for p in parts)
    return Summary(
        n,
        sum(p.mean * p.n for p in parts) / n,
        min(p.min for p in parts),
        max(p.max for p in parts),
        percentile([p.p95 for p in parts], 0.95),
    )


def bucket_start(ts: float, width: float) -> float:
    return math.floor(ts / width) * width


class RollingWindow:
    """Values of the last ``width`` seconds (by sample time, which only moves forward)."""

    def __init__(self, width: float) -> None:
        self.width = width
        self._points: deque[tuple[float, float]] = deque()

    def add(self, ts: float, value: float) -> None:
        self._points.append((ts, value))
        self.expire(ts)

    def expire(self, now: float) -> None:
        cutoff = now - self.width
        points = self._points
        while points and points[0][0] <= cutoff:
            points.popleft()

    def summary(self) -> Summary | None:
        return summarise([v for _, v in self._points]) if self._points else None

    def __len__(self) -> int:
        return len(self._points)


class RollingStats:
    """1-minute, 5-minute and 1-hour windows of every series fed to it."""

    def __init__(self, windows: Iterable[tuple[str, float]] = WINDOWS) -> None:
        self.windows = tuple(windows)
        self._series: dict[tuple[str, str, str], list[RollingWindow]] = {}

    def add(self, device: str, metric: str, instance: str, ts: float, value: float) -> None:
        key = (device, metric, instance)
        wins = self._series.get(key)
        if wins is None:
            wins = self._series[key] = [RollingWindow(w) for _, w in self.windows]
        for w in wins:
            w.add(ts, value)

    def summaries(self, device: str, metric: str, instance: str = "") -> dict[str, Summary]:
        """Window name -> summary, for the windows holding any value."""
        wins = self._series.get((device, metric, instance), [])
        out: dict[str, Summary] = {}
        for (name, _), w in zip(self.windows, wins, strict=False):
            s = w.summary()
            if s is not None:
                out[name] = s
        return out


# Persisted rollups. Parameters: %(start)s, %(end)s (timestamptz). Idempotent:
# re-running a range rewrites the same rows (late samples are picked up).
ROLLUP_1M_SQL = """
INSERT INTO rollup_1m (series_id, ts, n, avg, min, max, p95)
SELECT series_id, date_trunc('minute', ts) AS bucket, count(*), avg(value), min(value), max(value),
       percentile_cont(0.95) WITHIN GROUP (ORDER BY value)
FROM metric_samples
WHERE ts >= %(start)s AND ts < %(end)s AND flag IS NULL
GROUP BY series_id, bucket
ON CONFLICT (series_id, ts) DO UPDATE
SET n = excluded.n, avg = excluded.avg, min = excluded.min, max = excluded.max, p95 = excluded.p95
"""

ROLLUP_1H_SQL = """
INSERT INTO rollup_1h (series_id, ts, n, avg, min, max, p95)
SELECT series_id, date_trunc('hour', ts) AS bucket, sum(n), sum(avg * n) / sum(n), min(min), max(max),
       percentile_cont(0.95) WITHIN GROUP (ORDER BY p95)
FROM rollup_1m
WHERE ts >= %(start)s AND ts < %(end)s
GROUP BY series_id, bucket
ON CONFLICT (series_id, ts) DO UPDATE
SET n = excluded.n, avg = excluded.avg, min = excluded.min, max = excluded.max, p95 = excluded.p95
"""

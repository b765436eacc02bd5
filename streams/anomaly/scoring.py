"""Pure steps of anomaly scoring: gather a batch group by family, pick what to store, alert state.

No I/O here: :mod:`streams.anomaly.stage` feeds these from the pipeline's
batch hook and carries their results to PostgreSQL, Kafka and the alert engine.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from models.online import BankResult
from netvigil.metrics import family_of
from streams.anomaly.config import AnomalyConfig
from streams.app import SeriesBatch

__all__ = ["AnomalyTracker", "Points", "gather", "store_mask"]


@dataclass
class Points:
    """The points of one family in one batch group, in arrival order."""

    series_ids: list[int] = field(default_factory=list)
    devices: list[str] = field(default_factory=list)
    metrics: list[str] = field(default_factory=list)
    instances: list[str] = field(default_factory=list)
    ts: list[float] = field(default_factory=list)
    values: list[float] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.series_ids)

    def keys(self) -> list[str]:
        """Bank keys: the series id (stable across restarts, short)."""
        return [str(s) for s in self.series_ids]


def gather(groups: Sequence[SeriesBatch], config: AnomalyConfig) -> dict[str, Points]:
    """Scored points by family; flagged (untrusted) values and non-finite ones are left out."""
    out: dict[str, Points] = {}
    fam_cache: dict[str, str | None] = {}
    for g in groups:
        b = g.batch
        flags = b.flags
        for m, sid in zip(b.metrics, g.series_ids, strict=True):
            fam = fam_cache.get(m.metric, "?")
            if fam == "?":
                f = family_of(m.metric)
                fam = f if config.scored(m.metric, f) else None
                fam_cache[m.metric] = fam
            if fam is None or not math.isfinite(m.value):
                continue
            if flags and (f"{m.metric}.{m.instance}" in flags or m.metric in flags):
                continue
            p = out.get(fam)
            if p is None:
                p = out[fam] = Points()
            p.series_ids.append(sid)
            p.devices.append(b.device)
            p.metrics.append(m.metric)
            p.instances.append(m.instance)
            p.ts.append(b.ts)
            p.values.append(m.value)
    return out


def store_mask(
    rows: np.ndarray, ts: np.ndarray, flag: np.ndarray, last_stored: np.ndarray, every: float
) -> np.ndarray:
    """Which points to store: flagged ones, and one per series every ``every`` seconds.

    ``last_stored`` (indexed by bank row, -inf when never) is updated in place.
    A series seen twice in one batch may store both points (at most one extra).
    """
    keep = np.ones(len(rows), dtype=bool) if every <= 0 else flag | (ts - last_stored[rows] >= every)
    last_stored[rows[keep]] = ts[keep]
    return keep


@dataclass
class Change:
    """An alert condition change for one series: firing (at a flag) or cleared."""

    index: int  # position in the family's Points
    firing: bool


class AnomalyTracker:
    """Anomaly alert condition per series: opens at a flag, clears after values settle.

    The bank flags the onset of an incident only (later points of it are held
    low by suppression), so "cleared" cannot be "no flag": it is ``clear_points``
    consecutive values inside the expected range.  Only series with an active
    condition are held (a dict), so the cost is per incident, not per series.
    """

    def __init__(self, clear_points: int = 3) -> None:
        self.clear_points = clear_points
        self.active: dict[int, int] = {}  # series id -> consecutive values back inside

    def observe(self, series_ids: Sequence[int], values: np.ndarray, res: BankResult) -> list[Change]:
        changes: list[Change] = []
        flagged: list[int] = np.flatnonzero(res.flag).tolist()
        for i in flagged:
            self.active[series_ids[i]] = 0
            changes.append(Change(i, True))
        if not self.active:
            return changes
        skip = set(flagged)
        for i, sid in enumerate(series_ids):
            if sid not in self.active or i in skip:
                continue
            inside = res.lower[i] <= values[i] <= res.upper[i]
            n = self.active[sid] + 1 if inside else 0
            if n >= self.clear_points:
                del self.active[sid]
                changes.append(Change(i, False))
            else:
                self.active[sid] = n
        return changes

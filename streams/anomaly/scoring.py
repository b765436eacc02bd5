"""Pure steps of anomaly scoring: gather a batch group by family, pick what to store, alert state.

No I/O here: :mod:`streams.anomaly.stage` feeds these from the pipeline's
batch hook and carries their results to PostgreSQL, Kafka and the alert engine.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from models.online import BankResult
from netvigil.metrics import family_of
from netvigil.records import Metric
from streams.anomaly.config import AnomalyConfig
from streams.app import SeriesBatch

__all__ = ["AnomalyTracker", "Points", "Values", "gather", "store_mask"]


class _Ids(dict[str, int]):
    """Metric name -> small int, assigned on first sight (``__missing__``: no per-point branch)."""

    def __missing__(self, key: str) -> int:
        self[key] = n = len(self)
        return n


@dataclass
class Values:
    """Every value of one hook call, column-wise (one Python pass over the metrics, then numpy).

    Scoring and forecasting both select from these arrays, so the per-value
    Python work is a handful of C-level list comprehensions; the labels
    (device, metric, instance) are only looked up for the rows that are kept.
    """

    metrics: list[Metric]  # flat, in arrival order
    names: list[str]  # metric id -> metric name
    mids: np.ndarray  # metric id of each value
    series_ids: np.ndarray  # int64
    ts: np.ndarray  # float64, the batch's ts
    values: np.ndarray  # float64
    batch: np.ndarray  # index into ``devices``
    devices: list[str]
    finite: np.ndarray
    trusted: np.ndarray  # not named in the batch's ``flags``

    @classmethod
    def of(cls, groups: Sequence[SeriesBatch]) -> Values:
        metrics: list[Metric] = []
        sids: list[int] = []
        devices: list[str] = []
        stamps: list[float] = []
        counts: list[int] = []
        flagged: list[int] = []
        for g in groups:
            b, ms = g.batch, g.batch.metrics
            if len(ms) != len(g.series_ids):
                raise ValueError(f"{b.device}: {len(ms)} metrics but {len(g.series_ids)} series ids")
            if b.flags:
                f = b.flags
                o = len(metrics)
                flagged += [
                    o + j for j, x in enumerate(ms) if f"{x.metric}.{x.instance}" in f or x.metric in f
                ]
            metrics += ms
            sids += g.series_ids
            devices.append(b.device)
            stamps.append(b.ts)
            counts.append(len(ms))
        ids = _Ids()
        mids = np.array([ids[x.metric] for x in metrics], dtype=np.int64)
        values = np.array([x.value for x in metrics], dtype=np.float64)
        trusted = np.ones(len(metrics), dtype=bool)
        trusted[flagged] = False
        return cls(
            metrics=metrics,
            names=list(ids),
            mids=mids,
            series_ids=np.array(sids, dtype=np.int64),
            ts=np.repeat(np.array(stamps, dtype=np.float64), counts),
            values=values,
            batch=np.repeat(np.arange(len(devices)), counts),
            devices=devices,
            finite=np.isfinite(values),
            trusted=trusted,
        )

    def by_name(self, pick: Sequence[object] | np.ndarray) -> np.ndarray:
        """``pick[metric id]`` for every value (a per-metric-name table spread to the values)."""
        return np.asarray(pick)[self.mids] if len(self.mids) else np.asarray(pick)[:0]

    def labels(self, pos: np.ndarray) -> tuple[list[str], list[str], list[str]]:
        """Device, metric and instance of the values at ``pos``."""
        ms = [self.metrics[j] for j in pos.tolist()]
        devs = self.devices
        return (
            [devs[b] for b in self.batch[pos].tolist()],
            [x.metric for x in ms],
            [x.instance for x in ms],
        )


@dataclass
class Points:
    """The points of one family in one batch group, in arrival order (positions in ``source``)."""

    source: Values
    pos: np.ndarray

    def __len__(self) -> int:
        return len(self.pos)

    @property
    def series_ids(self) -> np.ndarray:
        out: np.ndarray = self.source.series_ids[self.pos]
        return out

    @property
    def ts(self) -> np.ndarray:
        out: np.ndarray = self.source.ts[self.pos]
        return out

    @property
    def values(self) -> np.ndarray:
        out: np.ndarray = self.source.values[self.pos]
        return out

    def keys(self) -> list[str]:
        """Bank keys: the series id (stable across restarts, short)."""
        return list(map(str, self.series_ids.tolist()))

    def labels(self, idx: np.ndarray) -> tuple[list[str], list[str], list[str]]:
        """Device, metric and instance of the points at ``idx`` (positions in this family)."""
        return self.source.labels(self.pos[idx])


def gather(groups: Sequence[SeriesBatch] | Values, config: AnomalyConfig) -> dict[str, Points]:
    """Scored points by family; flagged (untrusted) values and non-finite ones are left out.

    Families come in order of their first point, as a per-point pass would give them.
    """
    v = groups if isinstance(groups, Values) else Values.of(groups)
    fams: list[str] = []
    code: list[int] = []
    for name in v.names:
        f = family_of(name)
        if config.scored(name, f):
            if f not in fams:
                fams.append(f)
            code.append(fams.index(f))
        else:
            code.append(-1)
    codes = v.by_name(code)
    codes[~(v.finite & v.trusted)] = -1
    out: list[tuple[int, str, np.ndarray]] = []
    for k, f in enumerate(fams):
        pos = np.flatnonzero(codes == k)
        if len(pos):
            out.append((int(pos[0]), f, pos))
    return {f: Points(v, pos) for _, f, pos in sorted(out, key=lambda t: t[0])}


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

    def observe(
        self, series_ids: Sequence[int] | np.ndarray, values: np.ndarray, res: BankResult
    ) -> list[Change]:
        """Changes in point order; only points of series with an active condition are looked at."""
        changes: list[Change] = []
        ids = np.asarray(series_ids, dtype=np.int64)
        flagged: list[int] = np.flatnonzero(res.flag).tolist()
        for i in flagged:
            self.active[int(ids[i])] = 0
            changes.append(Change(i, True))
        if not self.active:
            return changes
        held = np.fromiter(self.active, dtype=np.int64, count=len(self.active))
        cand = np.isin(ids, held)
        cand[flagged] = False
        for i in np.flatnonzero(cand).tolist():
            sid = int(ids[i])
            if sid not in self.active:  # cleared by an earlier point of this call
                continue
            inside = res.lower[i] <= values[i] <= res.upper[i]
            n = self.active[sid] + 1 if inside else 0
            if n >= self.clear_points:
                del self.active[sid]
                changes.append(Change(i, False))
            else:
                self.active[sid] = n
        return changes

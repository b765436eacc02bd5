"""Bounded windows of capacity series and the forecast made from them (pure, numpy).

Each capacity series keeps at most ``points`` samples spaced at least
``window / points`` seconds apart in a ring (float64 time + float32 value:
12 bytes a point, 1.4 KiB a series at the default 120 points), so memory is
bounded whatever the poll rate.  Every ``every`` seconds of data time a series
gets a robust trend (:func:`models.forecast.fit_trend`) and a time to its
threshold (:func:`models.forecast.time_to_threshold`, whose guards refuse flat
or noisy data).
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass

import numpy as np

from models.forecast import MAX_PAIRS_POINTS, eta_of_trend, fit_trend, theil_sen_rows, trend_of

__all__ = ["Forecast", "ForecastWindows"]


@dataclass(frozen=True)
class Forecast:
    series_id: int
    ts: float  # last point of the window (when the forecast is made, in data time)
    slope_per_s: float
    intercept: float  # fitted value at ts
    threshold: float
    eta_s: float | None  # seconds until the trend reaches the threshold (None: it does not, in horizon)


class ForecastWindows:
    def __init__(
        self,
        window: float = 6 * 3600.0,
        points: int = 120,
        every: float = 300.0,
        min_span: float = 3600.0,
        horizon: float = 24 * 3600.0,
    ) -> None:
        self.window, self.points, self.every = window, points, every
        self.min_span, self.horizon = min_span, horizon
        self.step = window / points
        self._rows: dict[int, int] = {}
        self._ts = np.zeros((0, points))
        self._val = np.zeros((0, points), dtype=np.float32)
        self._n = np.zeros(0, dtype=np.int64)  # points ever written (ring head = n % points)
        self._last = np.zeros(0)
        self._last_fc = np.zeros(0)

    def __len__(self) -> int:
        return len(self._rows)

    def nbytes_per_series(self) -> float:
        return (self._ts.itemsize + self._val.itemsize) * self.points + 8 * 3 + 100  # + dict entry

    def _row(self, sid: int) -> int:
        row = self._rows.get(sid)
        if row is None:
            row = self._rows[sid] = len(self._rows)
            if row >= len(self._n):
                grow = max(64, len(self._n))
                self._ts = np.vstack([self._ts, np.zeros((grow, self.points))])
                self._val = np.vstack([self._val, np.zeros((grow, self.points), dtype=np.float32)])
                self._n = np.r_[self._n, np.zeros(grow, dtype=np.int64)]
                self._last = np.r_[self._last, np.full(grow, -np.inf)]
                self._last_fc = np.r_[self._last_fc, np.full(grow, -np.inf)]
        return row

    def snapshot(self) -> bytes:
        """The windows as ``.npz`` bytes (no pickle), for a restart to resume forecasting at once."""
        used = len(self._rows)
        buf = io.BytesIO()
        np.savez(
            buf,
            ts=self._ts[:used],
            val=self._val[:used],
            n=self._n[:used],
            last=self._last[:used],
            last_fc=self._last_fc[:used],
            rows=np.frombuffer(json.dumps(self._rows).encode(), dtype=np.uint8),
        )
        return buf.getvalue()

    def restore(self, blob: bytes) -> None:
        """Load :meth:`snapshot` output taken with the same ``points``."""
        with np.load(io.BytesIO(blob), allow_pickle=False) as d:
            if d["ts"].shape[1:] != (self.points,):
                raise ValueError(f"snapshot has {d['ts'].shape[1:]} points per series, not {self.points}")
            self._ts, self._val, self._n = d["ts"].copy(), d["val"].copy(), d["n"].copy()
            self._last, self._last_fc = d["last"].copy(), d["last_fc"].copy()
            self._rows = {int(k): int(v) for k, v in json.loads(d["rows"].tobytes().decode()).items()}

    def window_of(self, sid: int) -> tuple[np.ndarray, np.ndarray]:
        """(ts, values) of a series in time order."""
        row = self._rows.get(sid)
        if row is None:
            return np.zeros(0), np.zeros(0)
        return self._window(row)

    def _window(self, row: int) -> tuple[np.ndarray, np.ndarray]:
        n = int(self._n[row])
        k = min(n, self.points)
        order = (np.arange(n - k, n)) % self.points
        return self._ts[row, order], self._val[row, order].astype(np.float64)

    def add_many(
        self, sids: np.ndarray, ts: np.ndarray, values: np.ndarray, thresholds: np.ndarray
    ) -> list[tuple[int, Forecast]]:
        """``add`` for many points at once: (position, forecast) in point order, same results.

        The ring writes and due checks are numpy over all points; only the
        forecasts that are due run Python (:func:`fit_trend`).  A series seen
        more than once is handled in rounds (one point per series each), in order.
        """
        get = self._rows.get
        found = [get(s) for s in sids.tolist()]
        if None in found:
            found = [self._row(s) if r is None else r for s, r in zip(sids.tolist(), found, strict=True)]
        rows = np.array(found, dtype=np.int64)
        order = np.argsort(rows, kind="stable")
        srt = rows[order]
        first = np.r_[True, srt[1:] != srt[:-1]] if len(srt) else np.zeros(0, dtype=bool)
        out: list[tuple[int, Forecast]] = []
        if first.all():
            return self._add_distinct(np.arange(len(rows)), rows, sids, ts, values, thresholds)
        starts = np.maximum.accumulate(np.where(first, np.arange(len(rows)), 0))
        rank = np.empty(len(rows), dtype=np.int64)
        rank[order] = np.arange(len(rows)) - starts
        for r in range(int(rank.max()) + 1):
            sel = np.flatnonzero(rank == r)
            out += self._add_distinct(sel, rows[sel], sids[sel], ts[sel], values[sel], thresholds[sel])
        out.sort(key=lambda t: t[0])
        return out

    def _add_distinct(
        self, pos: np.ndarray, rows: np.ndarray, sids: np.ndarray, ts: np.ndarray, x: np.ndarray,
        thr: np.ndarray,
    ) -> list[tuple[int, Forecast]]:  # fmt: skip
        due = ~(ts - self._last[rows] < self.step * 0.9)
        r, t = rows[due], ts[due]
        head = self._n[r] % self.points
        self._ts[r, head], self._val[r, head] = t, x[due]
        self._n[r] += 1
        self._last[r] = t
        fc = ~(t - self._last_fc[r] < self.every)
        r, t = r[fc], t[fc]
        n = self._n[r]
        k = np.minimum(n, self.points)
        oldest = self._ts[r, (n - k) % self.points]
        ok = ~((k < 6) | (t - oldest < self.min_span))
        r, t = r[ok], t[ok]
        self._last_fc[r] = t
        where = np.flatnonzero(due)[fc][ok]
        picked = zip(pos[where].tolist(), r.tolist(), sids[where].tolist(), thr[where].tolist(), strict=True)
        return self._forecasts(list(picked))

    def _forecasts(self, due: list[tuple[int, int, int, float]]) -> list[tuple[int, Forecast]]:
        """Forecasts for (position, row, series id, threshold), in the order given.

        Windows that ``fit_trend`` would take whole (finite, strictly increasing,
        inside ``window``, at most ``MAX_PAIRS_POINTS``) are grouped by length
        and their Theil-Sen lines fitted together (:func:`theil_sen_rows`, same
        medians); any other window goes through :meth:`_fit` on its own.
        """
        made: dict[int, Forecast | None] = {}
        same: dict[int, list[tuple[int, int, float, np.ndarray, np.ndarray]]] = {}
        for k, (_, row, sid, threshold) in enumerate(due):
            t, y = self._window(row)
            whole = (
                6 <= len(t) <= MAX_PAIRS_POINTS
                and t[-1] - t[0] >= self.min_span
                and t[0] >= t[-1] - self.window
                and bool(np.all(np.diff(t) > 0))
                and bool(np.isfinite(t).all() and np.isfinite(y).all())
            )
            if whole:
                same.setdefault(len(t), []).append((k, sid, threshold, t, y))
            else:
                made[k] = self._fit(sid, t, y, threshold)
        for group in same.values():
            for c in range(0, len(group), 256):  # bounded temporaries: 256 x n(n-1)/2 pairs
                chunk = group[c : c + 256]
                slopes, icepts = theil_sen_rows(
                    np.stack([g[3] for g in chunk]), np.stack([g[4] for g in chunk])
                )
                for (k, sid, threshold, t, y), b, a in zip(
                    chunk, slopes.tolist(), icepts.tolist(), strict=True
                ):
                    trend = trend_of(t, y, b, a)
                    eta = eta_of_trend(trend, threshold, horizon=self.horizon)
                    made[k] = Forecast(sid, trend.t_ref, trend.slope, trend.intercept, threshold, eta)
        return [(due[k][0], f) for k in sorted(made) if (f := made[k]) is not None]

    def _fit(self, sid: int, t: np.ndarray, y: np.ndarray, threshold: float) -> Forecast | None:
        """Trend and crossing from one Theil-Sen fit (``time_to_threshold`` would fit again)."""
        trend = fit_trend(t, y, window=self.window, min_span=self.min_span)
        if trend is None:
            return None
        eta = eta_of_trend(trend, threshold, horizon=self.horizon)
        return Forecast(sid, trend.t_ref, trend.slope, trend.intercept, threshold, eta)

    def add(self, sid: int, ts: float, value: float, threshold: float) -> Forecast | None:
        """Keep the point if it is due; return a forecast if one is due for this series."""
        row = self._row(sid)
        if ts - self._last[row] < self.step * 0.9:
            return None
        head = int(self._n[row]) % self.points
        self._ts[row, head], self._val[row, head] = ts, value
        self._n[row] += 1
        self._last[row] = ts
        if ts - self._last_fc[row] < self.every:
            return None
        t, y = self.window_of(sid)
        if len(t) < 6 or t[-1] - t[0] < self.min_span:
            return None
        self._last_fc[row] = ts
        return self._fit(sid, t, y, threshold)


def human_duration(seconds: float) -> str:
    """'now', '45 min', '3.2 h', '2.5 d'."""
    if seconds <= 0:
        return "now"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"

"""Predictive alerts for capacity metrics: robust trend and time to a threshold.

Disk usage, memory, interface utilisation and latency creep towards a limit long
before they cross it.  A Theil-Sen line (median of pairwise slopes) over a recent
window shrugs off the odd spike that would tilt a least-squares fit; guards then
refuse to forecast when the data do not support a trend: too short a span, a poor
fit (R^2), or a rise over the window that is small against the noise.  A flat or
noisy series therefore yields ``None`` rather than a spurious "full in 900 days".
Pure functions; the stream worker decides when to raise and clear the alert.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

import numpy as np

log = logging.getLogger(__name__)

MAX_PAIRS_POINTS = 400  # Theil-Sen is O(n^2): thin longer windows evenly


@dataclass(frozen=True)
class Trend:
    """A line ``value = intercept + slope * (ts - t_ref)`` and how well it fits."""

    slope: float  # units per second
    intercept: float  # value at t_ref
    t_ref: float  # the last timestamp of the window (epoch seconds)
    r2: float
    noise: float  # robust std of residuals (1.4826 * MAD)
    span: float  # seconds covered by the window

    def value_at(self, ts: float) -> float:
        return self.intercept + self.slope * (ts - self.t_ref)


def theil_sen(ts: np.ndarray, values: np.ndarray) -> tuple[float, float]:
    """Median pairwise slope and median intercept at ``ts[-1]``."""
    t = np.asarray(ts, dtype=np.float64)
    y = np.asarray(values, dtype=np.float64)
    if len(t) > MAX_PAIRS_POINTS:
        keep = np.linspace(0, len(t) - 1, MAX_PAIRS_POINTS).round().astype(np.int64)
        t, y = t[keep], y[keep]
    i, j = np.triu_indices(len(t), k=1)
    dt = t[j] - t[i]
    ok = dt > 0
    slope = float(np.median((y[j] - y[i])[ok] / dt[ok])) if ok.any() else 0.0
    intercept = float(np.median(y - slope * (t - t[-1])))
    return slope, intercept


def theil_sen_rows(ts: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`theil_sen` of each row at once (same medians, same numbers).

    For windows of equal length (at most ``MAX_PAIRS_POINTS``) with strictly
    increasing times, so every pair counts; the stream worker fits thousands of
    such windows every few minutes, and one call per window was most of the cost.
    """
    i, j = np.triu_indices(ts.shape[1], k=1)
    slope = np.median((values[:, j] - values[:, i]) / (ts[:, j] - ts[:, i]), axis=1)
    intercept = np.median(values - slope[:, None] * (ts - ts[:, -1:]), axis=1)
    return slope, intercept


def fit_trend(
    ts: np.ndarray,
    values: np.ndarray,
    window: float | None = None,
    min_span: float = 3600.0,
    min_points: int = 6,
) -> Trend | None:
    """Robust trend over the last ``window`` seconds, or None if too little data."""
    t = np.asarray(ts, dtype=np.float64)
    y = np.asarray(values, dtype=np.float64)
    ok = np.isfinite(t) & np.isfinite(y)
    t, y = t[ok], y[ok]
    order = np.argsort(t, kind="stable")
    t, y = t[order], y[order]
    if window is not None and len(t):
        keep = t >= t[-1] - window
        t, y = t[keep], y[keep]
    if len(t) < min_points or t[-1] - t[0] < min_span:
        return None
    slope, intercept = theil_sen(t, y)
    return trend_of(t, y, slope, intercept)


def trend_of(t: np.ndarray, y: np.ndarray, slope: float, intercept: float) -> Trend:
    """The :class:`Trend` of a Theil-Sen line over a prepared window (sorted, finite, clipped)."""
    resid = y - (intercept + slope * (t - t[-1]))
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    r2 = 1.0 - float(np.sum(resid**2)) / ss_tot if ss_tot > 0 else 0.0
    noise = 1.4826 * float(np.median(np.abs(resid - np.median(resid))))
    return Trend(slope, intercept, float(t[-1]), r2, noise, float(t[-1] - t[0]))


def time_to_threshold(
    ts: np.ndarray,
    values: np.ndarray,
    threshold: float,
    direction: Literal["up", "down"] = "up",
    window: float | None = 6 * 3600.0,
    min_span: float = 3600.0,
    min_r2: float = 0.6,
    min_signal_to_noise: float = 3.0,
    horizon: float = 30 * 86400.0,
) -> float | None:
    """Seconds from the last point until the trend reaches ``threshold``, or None.

    ``direction`` says which side is bad: "up" (used %, latency) alerts on reaching
    the threshold from below, "down" (free space) from above.  Returns 0.0 if the
    latest fitted value is already past it; None when there is no trustworthy trend towards it, or when the crossing
    lies beyond ``horizon`` (a forecast that far out is not actionable).
    """
    trend = fit_trend(ts, values, window=window, min_span=min_span)
    if trend is None:
        return None
    return eta_of_trend(trend, threshold, direction, min_r2, min_signal_to_noise, horizon)


def eta_of_trend(
    trend: Trend,
    threshold: float,
    direction: Literal["up", "down"] = "up",
    min_r2: float = 0.6,
    min_signal_to_noise: float = 3.0,
    horizon: float = 30 * 86400.0,
) -> float | None:
    """:func:`time_to_threshold` from a trend already fitted on the same window.

    The stream worker fits the trend for the forecast row anyway; fitting it a
    second time (Theil-Sen, the whole cost) only to get the crossing doubled it.
    """
    now_value = trend.value_at(trend.t_ref)
    rising = direction == "up"
    if (rising and now_value >= threshold) or (not rising and now_value <= threshold):
        return 0.0
    rise = abs(trend.slope) * trend.span
    if trend.r2 < min_r2 or rise < min_signal_to_noise * max(trend.noise, 1e-12):
        return None
    if trend.slope == 0 or (trend.slope > 0) != rising:
        return None
    eta = (threshold - now_value) / trend.slope
    if eta > horizon:
        log.debug("crossing in %.0f s is beyond the %.0f s horizon", eta, horizon)
        return None
    return float(eta)

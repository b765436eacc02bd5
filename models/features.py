"""Windowed features of one series, the input of the offline (scikit-learn) models.

Pure functions over arrays, so they can be checked by hand.  For a series ``x`` and
a window width ``w``, row ``t`` (for every ``t >= w - 1``) describes the window
``x[t-w+1 .. t]``:

* ``mean``, ``std`` (population, ddof 0), ``min``, ``max``, ``last`` (= ``x[t]``);
* ``slope``: least-squares slope of the window against its index (units per step);
* ``z_last``: ``(last - m) / s`` where ``m``, ``s`` are the mean and std of the window
  *without* its last point (how surprising the newest point is), clipped to ±50;
* ``hour_sin``, ``hour_cos``: hour of day (UTC) on the unit circle; ``dow``: day of
  week, 0 = Monday.

A model shared by a whole family (every CPU series) must not learn "this device is
busier than that one", so ``model_features`` adds scale-free versions of the level
features: relative to a causal *baseline* (the median and spread of the ``baseline``
points before the window), so nothing uses the future.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

DAY = 86400.0
Z_CLIP = 50.0

RAW_COLUMNS: tuple[str, ...] = ("mean", "std", "min", "max", "last", "slope", "z_last")
TIME_COLUMNS: tuple[str, ...] = ("hour_sin", "hour_cos", "dow")
MODEL_COLUMNS: tuple[str, ...] = (
    "lvl_mean",
    "lvl_min",
    "lvl_max",
    "lvl_last",
    "rel_std",
    "rel_slope",
    "z_last",
    "hour_sin",
    "hour_cos",
    "dow",
)


def time_features(ts: np.ndarray) -> dict[str, np.ndarray]:
    """Hour-of-day on the circle and day of week (Monday 0) of epoch-second times, UTC."""
    ts = np.asarray(ts, dtype=np.float64)
    angle = 2.0 * np.pi * (ts % DAY) / DAY
    dow = (np.floor(ts / DAY) + 3.0) % 7.0  # 1970-01-01 was a Thursday (3)
    return {"hour_sin": np.sin(angle), "hour_cos": np.cos(angle), "dow": dow}


def window_features(ts: np.ndarray, values: np.ndarray, width: int) -> pd.DataFrame:
    """One row per full window (see module docstring).

    ``row`` is the index of the window's last point in ``values``, ``ts`` its time.
    """
    if width < 2:
        raise ValueError("width must be at least 2 (z_last needs a point before the last)")
    x = np.asarray(values, dtype=np.float64)
    t = np.asarray(ts, dtype=np.float64)
    if len(x) != len(t):
        raise ValueError("ts and values must have the same length")
    cols = [*RAW_COLUMNS, *TIME_COLUMNS]
    if len(x) < width:
        return pd.DataFrame(
            {"row": np.zeros(0, dtype=np.int64), "ts": np.zeros(0), **{c: np.zeros(0) for c in cols}}
        )
    win = sliding_window_view(x, width)
    mean = win.mean(axis=1)
    idx = np.arange(width, dtype=np.float64) - (width - 1) / 2.0
    slope = (win - mean[:, None]) @ idx / float(idx @ idx)
    prev = win[:, :-1]
    p_mean = prev.mean(axis=1)
    p_std = prev.std(axis=1)
    last = win[:, -1]
    z = (last - p_mean) / (p_std + 1e-9 * np.abs(p_mean) + 1e-12)
    frame = {
        "row": np.arange(width - 1, len(x)),
        "ts": t[width - 1 :],
        "mean": mean,
        "std": win.std(axis=1),
        "min": win.min(axis=1),
        "max": win.max(axis=1),
        "last": last,
        "slope": slope,
        "z_last": np.clip(z, -Z_CLIP, Z_CLIP),
    }
    return pd.DataFrame({**frame, **time_features(t[width - 1 :])})


def model_features(ts: np.ndarray, values: np.ndarray, width: int, baseline: int) -> pd.DataFrame:
    """``window_features`` plus scale-free columns; rows without a baseline yet are dropped.

    The baseline of the window ending at ``t`` is the ``baseline`` points ending at
    ``t - width`` (at least ``width`` of them): median ``b`` and spread ``s`` =
    max(IQR / 1.349, std / 10, 1e-6 |b|, 1e-9).  Level features become ``(f - b) / s``,
    ``rel_std`` = std / s, ``rel_slope`` = slope * width / s (rise over the window);
    all clipped to ±50 so one extreme value cannot dominate a tree split.
    """
    feats = window_features(ts, values, width)
    if feats.empty:
        return feats.assign(**{c: np.zeros(0) for c in MODEL_COLUMNS if c not in feats})
    s = pd.Series(np.asarray(values, dtype=np.float64))
    roll = s.rolling(baseline, min_periods=width)
    med = roll.median().shift(width).to_numpy()[width - 1 :]
    iqr = (roll.quantile(0.75) - roll.quantile(0.25)).shift(width).to_numpy()[width - 1 :]
    std = roll.std(ddof=0).shift(width).to_numpy()[width - 1 :]
    scale = np.maximum.reduce([iqr / 1.349, std / 10.0, 1e-6 * np.abs(med), np.full_like(med, 1e-9)])
    out = feats.copy()
    for col in ("mean", "min", "max", "last"):
        out[f"lvl_{col}"] = np.clip((feats[col].to_numpy() - med) / scale, -Z_CLIP, Z_CLIP)
    out["rel_std"] = np.clip(feats["std"].to_numpy() / scale, 0.0, Z_CLIP)
    out["rel_slope"] = np.clip(feats["slope"].to_numpy() * width / scale, -Z_CLIP, Z_CLIP)
    return out[np.isfinite(med)].reset_index(drop=True)


__all__ = [
    "MODEL_COLUMNS",
    "RAW_COLUMNS",
    "TIME_COLUMNS",
    "model_features",
    "time_features",
    "window_features",
]

"""Predictive alerts: a filling disk is forecast early enough; flat or noisy is not."""

from __future__ import annotations

import numpy as np
import pytest

from models.forecast import fit_trend, theil_sen, theil_sen_rows, time_to_threshold

pytestmark = pytest.mark.unit
T0 = 1_700_000_000.0


def test_filling_disk_predicts_crossing_well_ahead() -> None:
    # 60 % full, +2 %/hour, small noise, one reading per minute; threshold 90 % is
    # crossed at t = 15 h.  Simulate the stream and find when the alert first fires.
    rng = np.random.default_rng(0)
    ts = T0 + 60.0 * np.arange(16 * 60)
    disk = 60.0 + 2.0 * (ts - T0) / 3600.0 + rng.normal(0, 0.2, len(ts))
    crossing = T0 + 15 * 3600.0
    first_alert = None
    for k in range(60, int(np.searchsorted(ts, crossing)), 10):
        eta = time_to_threshold(ts[:k], disk[:k], 90.0)
        if eta is not None and eta < 6 * 3600:  # an alert for "full within 6 h"
            predicted = ts[k - 1] + eta
            assert abs(predicted - crossing) < 20 * 60  # right within 20 minutes
            first_alert = first_alert or ts[k - 1]
    assert first_alert is not None
    assert crossing - first_alert >= 30 * 60


def test_flat_disk_gives_none() -> None:
    rng = np.random.default_rng(1)
    ts = T0 + 60.0 * np.arange(600)
    assert time_to_threshold(ts, np.full(600, 42.0), 90.0) is None
    assert time_to_threshold(ts, 42.0 + rng.normal(0, 0.5, 600), 90.0) is None


def test_noisy_series_gives_none() -> None:
    rng = np.random.default_rng(2)
    ts = T0 + 60.0 * np.arange(600)
    noisy = 50 + 0.0002 * (ts - T0) + rng.normal(0, 10, 600)
    assert time_to_threshold(ts, noisy, 90.0) is None


def test_spike_does_not_tilt_the_trend() -> None:
    ts = T0 + 60.0 * np.arange(300)
    y = 10.0 + 0.001 * (ts - T0)
    y[150] = 500.0
    trend = fit_trend(ts, y)
    assert trend is not None and trend.slope == pytest.approx(0.001, rel=1e-6)


def test_falling_series_and_already_crossed() -> None:
    ts = T0 + 60.0 * np.arange(300)
    free = 50.0 - 0.001 * (ts - T0)  # free space falling 3.6 %/h
    eta = time_to_threshold(ts, free, 10.0, direction="down")
    assert eta == pytest.approx((free[-1] - 10.0) / 0.001, rel=1e-6)
    assert time_to_threshold(ts, free, 40.0, direction="down") == 0.0
    assert time_to_threshold(ts, free, 90.0) is None  # falling away from an upper limit
    assert time_to_threshold(ts[:3], free[:3], 10.0, direction="down") is None  # too short


def test_theil_sen_rows_gives_each_row_the_same_numbers_as_theil_sen() -> None:
    rng = np.random.default_rng(5)
    for n in (6, 7, 120):  # odd and even pair counts
        ts = np.cumsum(rng.uniform(60, 240, (9, n)), axis=1) + 1.7e9
        ys = 40 + 1e-4 * (ts - ts[:, :1]) + rng.normal(0, 1, (9, n))
        slopes, icepts = theil_sen_rows(ts, ys)
        assert [(b, a) for b, a in zip(slopes.tolist(), icepts.tolist(), strict=True)] == [
            theil_sen(t, y) for t, y in zip(ts, ys, strict=True)
        ]

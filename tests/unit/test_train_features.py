"""Window features, onset filtering and alert metrics, checked against hand-worked values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from models.features import MODEL_COLUMNS, model_features, time_features, window_features
from models.train.data import AlertLabel
from models.train.evaluate import alert_metrics, onset


def test_window_features_by_hand() -> None:
    ts = np.array([0.0, 60.0, 120.0, 180.0])
    f = window_features(ts, np.array([1.0, 2.0, 3.0, 6.0]), width=3)
    assert list(f["row"]) == [2, 3]
    assert list(f["ts"]) == [120.0, 180.0]
    # window [1, 2, 3]
    assert f.loc[0, "mean"] == 2.0
    assert f.loc[0, "std"] == pytest.approx(math.sqrt(2 / 3))
    assert (f.loc[0, "min"], f.loc[0, "max"], f.loc[0, "last"]) == (1.0, 3.0, 3.0)
    assert f.loc[0, "slope"] == pytest.approx(1.0)
    assert f.loc[0, "z_last"] == pytest.approx(3.0)  # (3 - 1.5) / 0.5
    # window [2, 3, 6]
    assert f.loc[1, "mean"] == pytest.approx(11 / 3)
    assert f.loc[1, "std"] == pytest.approx(math.sqrt(26 / 9))
    assert f.loc[1, "slope"] == pytest.approx(2.0)  # ((-1)(-5/3) + (1)(7/3)) / 2
    assert f.loc[1, "z_last"] == pytest.approx(7.0)  # (6 - 2.5) / 0.5


def test_short_series_has_no_rows_and_width_must_allow_z() -> None:
    assert window_features(np.arange(2.0), np.arange(2.0), 3).empty
    with pytest.raises(ValueError):
        window_features(np.arange(5.0), np.arange(5.0), 1)


def test_constant_window_z_is_finite_and_clipped() -> None:
    f = window_features(np.arange(4.0), np.array([5.0, 5.0, 5.0, 9.0]), 3)
    assert f["z_last"].tolist() == [0.0, 50.0]


def test_time_features() -> None:
    t = time_features(np.array([0.0, 6 * 3600.0, 4 * 86400.0 + 12 * 3600.0]))
    assert t["hour_sin"][0] == pytest.approx(0.0) and t["hour_cos"][0] == pytest.approx(1.0)
    assert t["hour_sin"][1] == pytest.approx(1.0) and t["hour_cos"][1] == pytest.approx(0.0, abs=1e-12)
    assert t["hour_cos"][2] == pytest.approx(-1.0)
    assert t["dow"].tolist() == [3.0, 3.0, 0.0]  # 1970-01-01 Thursday; 01-05 Monday


def test_model_features_causal_baseline_by_hand() -> None:
    values = np.array([0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 10.0])
    f = model_features(np.arange(7.0) * 60, values, width=2, baseline=4)
    # first row with a baseline: t = 2 * width - 1 = 3, baseline = values[0:2] = [0, 1]
    assert f["row"].tolist()[0] == 3
    scale = 0.5 / 1.349  # IQR of [0, 1] (linear quantiles) / 1.349 beats std / 10
    first = f.iloc[0]
    assert first["lvl_mean"] == pytest.approx(0.0)  # window [0, 1]: mean 0.5 = median
    assert first["lvl_last"] == pytest.approx(0.5 / scale)
    assert first["rel_std"] == pytest.approx(0.5 / scale)
    assert set(MODEL_COLUMNS) <= set(f.columns)
    # the final jump to 10 is judged against a baseline that does not contain it
    assert f.iloc[-1]["lvl_last"] > 10


def test_model_features_ignore_the_future() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=300)
    a = model_features(np.arange(300.0), x, 10, 50)
    y = x.copy()
    y[200:] += 100.0
    b = model_features(np.arange(300.0), y, 10, 50)
    before = a["row"] < 200
    cols = list(MODEL_COLUMNS)
    assert np.allclose(a.loc[before, cols].to_numpy(), b.loc[before, cols].to_numpy())


def test_onset_keeps_only_rising_peaks() -> None:
    out = onset(np.array([0.2, 0.6, 0.6, 0.5, 0.9]), suppress=10**9)
    assert out.tolist() == [0.2, 0.6, 0.0, 0.0, 0.9]


def test_onset_peak_expires_after_suppress_points() -> None:
    out = onset(np.array([0.8, 0.5, 0.5, 0.5, 0.5]), suppress=2)
    assert out.tolist() == [0.8, 0.0, 0.5, 0.0, 0.5]


def test_alert_metrics_by_hand() -> None:
    ts = np.arange(0.0, 3600.0, 60.0)
    sc = np.zeros(len(ts))
    sc[10] = 0.9  # t = 600
    sc[40] = 0.9  # t = 2400
    labels = [
        AlertLabel("a", 1, 600.0, True),  # flagged, positive -> TP
        AlertLabel("b", 1, 1500.0, True),  # nothing near -> FN
        AlertLabel("c", 1, 2700.0, False),  # 2400 is within 600 s -> FP
        AlertLabel("d", 1, 3500.0, False),  # TN
        AlertLabel("e", 2, 100.0, True),  # series not scored
    ]
    m = alert_metrics(labels, {1: (ts, sc)}, threshold=0.5, tolerance_s=300.0)
    assert (m["alert_tp"], m["alert_fn"], m["alert_fp"], m["alert_tn"]) == (1, 1, 1, 1)
    assert m["alert_precision"] == 0.5 and m["alert_recall"] == 0.5
    assert m["alerts_unscored"] == 1 and m["alerts_labelled"] == 4


def test_alert_metrics_without_flags_has_no_precision() -> None:
    m = alert_metrics([AlertLabel("a", 1, 0.0, False)], {1: (np.zeros(1), np.zeros(1))}, 0.5)
    assert m["alert_precision"] is None and m["alert_recall"] is None

"""Pure steps of the anomaly stage: selection, storage sampling, alert condition, forecasts, thresholds."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np

from models.online import BankResult, make_detector
from netvigil.records import Alert, Metric, MetricBatch
from streams.alerting.rules import parse_rules
from streams.anomaly.alerts import ModelEngine
from streams.anomaly.config import AnomalyConfig
from streams.anomaly.forecasting import ForecastWindows, human_duration
from streams.anomaly.scoring import AnomalyTracker, gather, store_mask
from streams.anomaly.snapshots import load_banks, save_banks
from streams.anomaly.stage import thresholds_from_rules
from streams.app import SeriesBatch


def sb(
    device: str, ts: float, metrics: list[tuple[str, str, float]], flags: dict[str, str] | None = None
) -> SeriesBatch:
    batch = MetricBatch(device=device, ts=ts, metrics=[Metric(*m) for m in metrics], flags=flags or {})
    return SeriesBatch(batch, list(range(100, 100 + len(metrics))))


def test_gather_groups_by_family_and_leaves_out_untrusted_values() -> None:
    g = sb(
        "r1",
        10.0,
        [
            ("if_in_bps", "1", 5.0),
            ("if_in_bps", "2", 6.0),
            ("cpu_user_pct", "", 3.0),
            ("disk_size_bytes", "/", 1e9),  # skipped metric
            ("sys_uptime_s", "", 1.0),  # family "status" not scored
            ("mem_used_pct", "", math.nan),
        ],
        flags={"if_in_bps.2": "above_speed"},
    )
    out = gather([g], AnomalyConfig())
    assert set(out) == {"interface", "cpu"}
    assert out["interface"].series_ids.tolist() == [100] and out["interface"].keys() == ["100"]
    assert out["cpu"].values.tolist() == [3.0] and out["cpu"].ts.tolist() == [10.0]


def test_gather_families_are_configurable() -> None:
    g = sb("r1", 10.0, [("if_in_bps", "1", 5.0), ("cpu_user_pct", "", 3.0)])
    assert set(gather([g], AnomalyConfig(families=("cpu",)))) == {"cpu"}


def test_store_mask_keeps_flags_and_one_point_per_interval() -> None:
    last = np.full(4, -np.inf)
    rows = np.array([0, 1])
    no = np.zeros(2, dtype=bool)
    assert store_mask(rows, np.array([0.0, 0.0]), no, last, 300).tolist() == [True, True]
    assert store_mask(rows, np.array([60.0, 60.0]), no, last, 300).tolist() == [False, False]
    assert store_mask(rows, np.array([120.0, 120.0]), np.array([True, False]), last, 300).tolist() == [
        True,
        False,
    ]
    assert store_mask(rows, np.array([300.0, 300.0]), no, last, 300).tolist() == [False, True]
    assert store_mask(rows, np.array([301.0, 301.0]), no, last, 0).tolist() == [True, True]


def result(flag: list[bool], lower: float = 0.0, upper: float = 10.0) -> BankResult:
    n = len(flag)
    z = np.zeros(n)
    return BankResult(z, z, z, np.array(flag), np.full(n, lower), np.full(n, upper))


def test_tracker_opens_at_a_flag_and_clears_after_values_settle() -> None:
    t = AnomalyTracker(clear_points=2)
    ch = t.observe([7, 8], np.array([50.0, 5.0]), result([True, False]))
    assert [(c.index, c.firing) for c in ch] == [(0, True)]
    assert t.observe([7], np.array([5.0]), result([False])) == []
    assert t.observe([7], np.array([50.0]), result([False])) == [], "outside again: the count restarts"
    assert t.observe([7], np.array([5.0]), result([False])) == []
    ch = t.observe([7], np.array([5.0]), result([False]))
    assert [(c.index, c.firing) for c in ch] == [(0, False)] and t.active == {}


def test_windows_are_bounded_and_forecast_a_linear_fill() -> None:
    w = ForecastWindows(window=6 * 3600, points=120, every=300, min_span=3600, horizon=86400)
    forecasts = []
    for i in range(600):  # one point a minute, 0.1 %/min from 40 %
        fc = w.add(1, 60.0 * i, 40 + 0.1 * i, 85.0)
        if fc is not None:
            forecasts.append(fc)
    t, _ = w.window_of(1)
    assert len(t) == 120 and t[-1] - t[0] <= 6 * 3600
    first = forecasts[0]
    assert 3600 <= first.ts <= 3600 + 300
    assert first.eta_s is not None and math.isclose(first.ts + first.eta_s, 450 * 60, abs_tol=60)
    assert math.isclose(first.slope_per_s, 0.1 / 60, rel_tol=1e-6)
    assert all(b.ts - a.ts >= 300 for a, b in itertools.pairwise(forecasts))
    assert forecasts[-1].eta_s == 0.0, "past the threshold: crossing now"


def test_a_flat_series_has_a_trend_but_no_crossing() -> None:
    w = ForecastWindows(every=300, min_span=3600)
    got = [w.add(2, 60.0 * i, 60 + 0.01 * math.sin(i), 90.0) for i in range(200)]
    fcs = [f for f in got if f is not None]
    assert fcs and all(f.eta_s is None for f in fcs)


def test_thresholds_come_from_the_lowest_first_level_of_above_rules() -> None:
    rules = parse_rules(
        {
            "rules": [
                {"name": "disk", "metric": "disk_used_pct", "levels": {"warning": 85, "critical": 97}},
                {"name": "disk-tight", "metric": "disk_used_pct", "levels": {"major": 80}},
                {"name": "fast", "type": "rate", "metric": "mem_used_pct", "levels": {"warning": 1}},
            ]
        },
        "test",
    )
    th = thresholds_from_rules(rules, {"disk_used_pct": 90.0, "mem_used_pct": 90.0})
    assert th == {"disk_used_pct": 80.0, "mem_used_pct": 90.0}


def test_human_duration() -> None:
    assert [human_duration(s) for s in (0, 2700, 3.2 * 3600, 3 * 86400)] == [
        "now",
        "45 min",
        "3.2 h",
        "3.0 d",
    ]


def test_model_engine_adopts_only_model_alerts() -> None:
    def alert(key: str, kind: str) -> Alert:
        return Alert(key=key, rule=key, device="d", kind=kind, severity="warning", state="open",
                     summary="", started=1.0, updated=1.0)  # type: ignore[arg-type]  # fmt: skip

    e = ModelEngine()
    e.load([alert("a", "anomaly"), alert("p", "predictive"), alert("t", "threshold")])
    assert set(e.active) == {"a", "p"}


def test_snapshots_round_trip(tmp_path: Path) -> None:
    bank = make_detector("default")
    idx = bank.index(["1", "2"])
    for i in range(20):
        bank.update(idx, np.full(2, 60.0 * i), np.array([10.0 + i % 2, 20.0]))
    save_banks(tmp_path, {"cpu": bank.snapshot()}, {"cpu": 3})
    (tmp_path / "broken.npz").write_bytes(b"not a snapshot")
    banks, versions = load_banks(tmp_path)
    assert versions == {"cpu": 3} and set(banks) == {"cpu"}
    assert banks["cpu"].keys() == ["1", "2"]
    for k, arr in bank._state.items():
        assert np.array_equal(banks["cpu"]._state[k][:2], arr[:2], equal_nan=True)


def test_forecast_windows_round_trip() -> None:
    w = ForecastWindows(every=300, min_span=3600)
    for i in range(90):
        w.add(5, 60.0 * i, 40 + 0.1 * i, 85.0)
    again = ForecastWindows(every=300, min_span=3600)
    again.restore(w.snapshot())
    t1, v1 = w.window_of(5)
    t2, v2 = again.window_of(5)
    assert np.array_equal(t1, t2) and np.array_equal(v1, v2)
    fc = again.add(5, 60.0 * 90 + 300, 40 + 0.1 * 95, 85.0)
    assert fc is not None and fc.eta_s is not None, "forecasting resumes at once after a restore"

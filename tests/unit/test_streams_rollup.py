"""Rolling windows and rollup summaries (pure)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from streams.rollup import RollingStats, RollingWindow, Summary, bucket_start, merge, percentile, summarise


def test_percentile_matches_postgres_percentile_cont() -> None:
    # SELECT percentile_cont(0.95) WITHIN GROUP (ORDER BY v) FROM generate_series(1, 10) v -> 9.55
    assert percentile(list(range(1, 11)), 0.95) == pytest.approx(9.55)
    assert percentile([5.0], 0.95) == 5.0


def test_summarise() -> None:
    s = summarise([3.0, 1.0, 2.0, 10.0])
    assert (s.n, s.mean, s.min, s.max) == (4, 4.0, 1.0, 10.0)
    assert s.p95 == pytest.approx(8.95)


def test_window_expires_by_sample_time() -> None:
    w = RollingWindow(60)
    for t in range(0, 180, 10):
        w.add(float(t), float(t))
    s = w.summary()
    assert s is not None
    assert len(w) == 6 and s.min == 120 and s.max == 170


def test_rolling_stats_three_windows() -> None:
    r = RollingStats()
    for t in range(0, 3600, 60):
        r.add("r1", "cpu_load_pct", "", float(t), 1.0 if t < 3300 else 100.0)
    got = r.summaries("r1", "cpu_load_pct")
    assert set(got) == {"1m", "5m", "1h"}
    assert got["1m"].n == 1 and got["1m"].mean == 100.0
    assert got["5m"].n == 5 and got["5m"].min == 100.0
    assert got["1h"].n == 60 and got["1h"].max == 100.0 and got["1h"].min == 1.0
    assert r.summaries("nope", "x") == {}


def test_bucket_start() -> None:
    assert bucket_start(125.0, 60) == 120.0
    assert bucket_start(3599.9, 3600) == 0.0


@given(st.lists(st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=20), min_size=1, max_size=20))
def test_merge_is_exact_for_n_mean_min_max(chunks: list[list[float]]) -> None:
    parts = [summarise(c) for c in chunks]
    whole = summarise([v for c in chunks for v in c])
    m = merge(parts)
    assert m.n == whole.n
    assert m.mean == pytest.approx(whole.mean, rel=1e-9, abs=1e-6)
    assert (m.min, m.max) == (whole.min, whole.max)
    assert m.min <= m.p95 <= m.max


def test_empty_inputs_raise() -> None:
    with pytest.raises(ValueError):
        summarise([])
    with pytest.raises(ValueError):
        merge([])
    assert isinstance(summarise([1.0]), Summary)

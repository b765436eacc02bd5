"""Rollups computed by PostgreSQL from stored samples, and top-N from them."""

from __future__ import annotations

import datetime as dt
import time
import uuid

import pytest

from netvigil.db import connect
from netvigil.settings import Settings
from streams.rollup import percentile
from streams.rollup_job import run_rollups
from streams.topn import day_over_day, top_n


def test_rollup_1m_and_1h_exclude_flagged_samples_and_feed_top_n(pg_stack: Settings) -> None:
    device = f"ru-{uuid.uuid4().hex[:8]}"
    now = dt.datetime.now(dt.UTC)
    minute = (now - dt.timedelta(minutes=3)).replace(second=0, microsecond=0)
    values = [1e15 + v for v in (10.0, 20.0, 30.0, 40.0, 50.0, 60.0)]
    with connect(pg_stack) as conn:
        sid = conn.execute(
            "INSERT INTO series (device, metric, instance) VALUES (%s, 'if_in_bps', '1') RETURNING id",
            (device,),
        ).fetchone()[0]
        for i, v in enumerate(values):
            conn.execute(
                "INSERT INTO metric_samples (series_id, ts, value) VALUES (%s, %s, %s)",
                (sid, minute + dt.timedelta(seconds=5 * i), v),
            )
        conn.execute(  # above the interface speed: stored, flagged, not rolled up
            "INSERT INTO metric_samples (series_id, ts, value, flag) VALUES (%s, %s, 1e18, 'above_speed')",
            (sid, minute + dt.timedelta(seconds=50)),
        )
        conn.commit()
    for _ in range(50):  # another worker may hold the rollup lock for a moment
        if run_rollups(pg_stack):
            break
        time.sleep(0.2)
    else:
        pytest.fail("rollup lock never free")
    with connect(pg_stack) as conn:
        r1m = conn.execute(
            "SELECT n, avg, min, max, p95 FROM rollup_1m WHERE series_id = %s", (sid,)
        ).fetchall()
        r1h = conn.execute("SELECT n, avg, max FROM rollup_1h WHERE series_id = %s", (sid,)).fetchall()
        top = top_n(conn, "busiest_interfaces", minutes=10, n=50)
        dod = day_over_day(conn, device, "if_in_bps", "1")
    assert len(r1m) == 1
    n, avg, lo, hi, p95 = r1m[0]
    assert (n, lo, hi) == (6, values[0], values[-1])
    assert avg == pytest.approx(sum(values) / 6)
    assert p95 == pytest.approx(percentile(values, 0.95))
    assert r1h == [(6, pytest.approx(avg), values[-1])]
    assert any(t["device"] == device and t["instance"] == "1" for t in top)
    assert dod and dod[-1]["yesterday"] is None

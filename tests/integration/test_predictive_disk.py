"""Predictive alerts from the anomaly stage against real PostgreSQL and Redis.

A disk filling at a steady rate (one point per simulated minute) must raise a
predictive alert at least 30 minutes of simulated time before it crosses the
static threshold; a flat disk none; a disk whose growth stops sees its
alert resolved.  The stage is driven through its batch hook, exactly as the
pipeline calls it, with timestamps ending now.
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Callable

from netvigil.db import connect
from netvigil.settings import Settings
from streams.anomaly.config import AnomalyConfig
from streams.anomaly.stage import AnomalyStage
from streams.anomaly.testing import group, series_ids

THRESHOLD = 85.0


def config(u: str) -> AnomalyConfig:
    return AnomalyConfig(
        registry_family=f"online-{u}",
        flush_interval=0.1,
        thresholds={"disk_used_pct": THRESHOLD},
        thresholds_from_rules=False,
    )


async def feed(
    stage: AnomalyStage, device: str, ids: list[int], minutes: int, value: Callable[[int], float]
) -> float:
    """Feed one disk point per simulated minute ending now; returns the first timestamp."""
    t0 = time.time() - minutes * 60
    for i in range(minutes):
        await stage.process([group(device, t0 + 60 * i, [("disk_used_pct", "/", value(i))], ids)])
    await stage.flush()
    return t0


def alerts(settings: Settings, device: str) -> list[tuple[str, str, str, float, float | None, float]]:
    with connect(settings) as conn:
        rows = conn.execute(
            "SELECT kind, state, summary, extract(epoch FROM started), threshold, extract(epoch FROM updated)"
            " FROM alerts WHERE device = %s AND kind = 'predictive'",
            (device,),
        ).fetchall()
    return [(r[0], r[1], r[2], float(r[3]), r[4], float(r[5])) for r in rows]


async def test_a_filling_disk_is_predicted_30_minutes_before_the_threshold(pg_stack: Settings) -> None:
    u = uuid.uuid4().hex[:8]
    device = f"pd-{u}-srv1"
    ids = series_ids(pg_stack, device, [("disk_used_pct", "/")])
    stage = AnomalyStage(pg_stack, config(u), publish_kafka=False)
    await stage.start()
    try:
        rate = 0.1  # percentage points per minute: 40 % -> 85 % in 450 min
        t0 = await feed(stage, device, ids, 480, lambda i: 40.0 + rate * i)
    finally:
        await stage.stop()
    crossing = t0 + (THRESHOLD - 40.0) / rate * 60
    found = alerts(pg_stack, device)
    assert len(found) == 1, found
    _, state, summary, started, threshold, _ = found[0]
    # The feed ends past the threshold (88 %): from the crossing on, the static rule owns
    # the condition and the prediction has resolved.
    assert state == "resolved" and threshold == THRESHOLD
    assert started <= crossing - 1800, f"raised {(crossing - started) / 60:.0f} min before the crossing"
    assert summary.startswith(f"disk / on {device} full 85 %"), summary
    with connect(pg_stack) as conn:
        fc = conn.execute(
            "SELECT extract(epoch FROM crossing_at), slope_per_s FROM forecasts"
            " WHERE series_id = %s AND crossing_at IS NOT NULL ORDER BY ts LIMIT 1",
            (ids[0],),
        ).fetchone()
    assert fc is not None
    assert abs(float(fc[0]) - crossing) < 600, "first stored forecast within 10 min of the true crossing"
    assert math.isclose(float(fc[1]), rate / 60, rel_tol=0.05)


async def test_a_flat_disk_raises_no_predictive_alert(pg_stack: Settings) -> None:
    u = uuid.uuid4().hex[:8]
    device = f"pd-{u}-flat"
    ids = series_ids(pg_stack, device, [("disk_used_pct", "/")])
    stage = AnomalyStage(pg_stack, config(u), publish_kafka=False)
    await stage.start()
    try:
        await feed(stage, device, ids, 480, lambda i: 60.0 + 0.05 * math.sin(i / 5))
    finally:
        await stage.stop()
    assert alerts(pg_stack, device) == []
    with connect(pg_stack) as conn:
        n = conn.execute("SELECT count(*) FROM forecasts WHERE series_id = %s", (ids[0],)).fetchone()
    assert n is not None and n[0] > 0, "forecasts are stored (no crossing) for the app to draw"


async def test_the_alert_clears_when_the_growth_stops(pg_stack: Settings) -> None:
    u = uuid.uuid4().hex[:8]
    device = f"pd-{u}-stop"
    ids = series_ids(pg_stack, device, [("disk_used_pct", "/")])
    stage = AnomalyStage(pg_stack, config(u), publish_kafka=False)
    await stage.start()
    try:  # 3 h rising 0.1 %/min (40 -> 58 %), then 7 h flat: the window forgets the rise
        await feed(stage, device, ids, 600, lambda i: 40.0 + 0.1 * min(i, 180))
    finally:
        await stage.stop()
    found = alerts(pg_stack, device)
    assert len(found) == 1 and found[0][1] == "resolved", found
    with connect(pg_stack) as conn:
        states = [
            r[0]
            for r in conn.execute(
                "SELECT to_state FROM alert_events WHERE key = %s AND kind = 'transition' ORDER BY ts",
                (f"predictive:disk_used_pct/{device}//",),
            )
        ]
    assert states == ["open", "resolved"], states

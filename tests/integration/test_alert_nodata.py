"""No data and durable ``for`` timers through the real runtime, PostgreSQL and Redis (no Kafka).

A series that stops reporting: its alert is resolved "no data" in the
``alerts`` table and on its timeline; a nodata rule opens and resolves; a
``for`` condition pending when the leader fails over fires on time on the
new leader (its timer restored from ``alert_timers``).
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest

from netvigil.db import connect
from netvigil.records import Metric, MetricBatch
from netvigil.settings import Settings
from streams.alerting.runtime import AlertRuntime
from streams.notify.receiver import LocalReceiver
from streams.testing import webhook_notify, with_rules

U = "n" + uuid.uuid4().hex[:7]
RULES = f"""
rules:
  - name: {U}-cpu
    metric: cpu_load_pct
    match: {{device: "{U}-c*"}}
    levels: {{warning: 80}}
    nodata: 5s
  - name: {U}-silent
    type: nodata
    match: {{device: "{U}-s*"}}
    nodata: 5s
    severity: minor
  - name: {U}-for
    metric: if_in_util_pct
    match: {{device: "{U}-f*"}}
    levels: {{warning: 85}}
    clear: 70
    for: 60s
    nodata: 10m
"""


@pytest.fixture
def nd_settings(pg_stack: Settings, tmp_path: Path) -> Settings:
    return with_rules(pg_stack, tmp_path, RULES)


def runtime(settings: Settings, hook: LocalReceiver) -> AlertRuntime:
    notify = webhook_notify(f"{hook.url}/a")
    rt = AlertRuntime(settings, notify_config=notify, publish_kafka=False, refresh_interval=0)
    rt.sweep_interval = 0
    return rt


def batch(device: str, ts: float, value: float = 90.0) -> MetricBatch:
    return MetricBatch(device=device, ts=ts, metrics=[Metric("cpu_load_pct", "", value)])


def timeline(settings: Settings, key: str) -> list[tuple[str, str | None, str | None]]:
    """(kind, to_state, reason) of the alert's system events, oldest first."""
    with connect(settings) as conn:
        rows = conn.execute(
            "SELECT kind, to_state, detail->>'reason' FROM alert_events"
            " WHERE key = %s AND kind IN ('transition', 'nodata') ORDER BY ts, kind DESC",
            (key,),
        ).fetchall()
    return [(r[0], r[1], r[2]) for r in rows]


def state(settings: Settings, key: str) -> str | None:
    with connect(settings) as conn:
        r = conn.execute("SELECT state FROM alerts WHERE key = %s", (key,)).fetchone()
    return r[0] if r else None


async def test_silent_series_alert_is_resolved_no_data_in_the_database(
    nd_settings: Settings, hook: LocalReceiver
) -> None:
    key = f"{U}-cpu/{U}-c1/"
    rt = runtime(nd_settings, hook)
    await rt.start()
    try:
        now = time.time()
        rt.handle("metrics", batch(f"{U}-c1", now - 20))
        rt.handle("metrics", batch(f"{U}-c2", now - 20, 10.0))
        await rt.flush()
        assert state(nd_settings, key) == "open"
        rt.handle("metrics", batch(f"{U}-c2", now - 16, 10.0))  # the stream moves on; c1 is silent 4 s
        await rt.tick()
        await rt.flush()
        assert state(nd_settings, key) == "open"
        rt.handle("metrics", batch(f"{U}-c2", now - 14, 10.0))  # c1 silent 6 s > 5 s
        await rt.tick()
        await rt.flush()
        assert state(nd_settings, key) == "resolved"
        assert timeline(nd_settings, key) == [
            ("transition", "open", "condition met"),
            ("transition", "resolved", "no data"),
            ("nodata", None, None),
        ]
        with connect(nd_settings) as conn:
            (detail,) = conn.execute(
                "SELECT detail FROM alert_events WHERE key = %s AND kind = 'nodata'", (key,)
            ).fetchone() or (None,)
        assert detail is not None and detail["silent_s"] == 6 and detail["limit_s"] == 5
    finally:
        await rt.stop()


async def test_nodata_rule_opens_for_a_silent_device_and_resolves_on_data(
    nd_settings: Settings, hook: LocalReceiver
) -> None:
    key = f"{U}-silent/{U}-s1/"
    rt = runtime(nd_settings, hook)
    await rt.start()
    try:
        now = time.time()
        rt.handle("metrics", batch(f"{U}-s1", now - 20, 1.0))
        rt.handle("metrics", batch(f"{U}-s2", now - 14, 1.0))
        await rt.tick()
        await rt.flush()
        assert state(nd_settings, key) == "open"
        assert state(nd_settings, f"{U}-silent/{U}-s2/") is None
        rt.handle("metrics", batch(f"{U}-s1", now - 13, 1.0))
        await rt.flush()
        assert state(nd_settings, key) == "resolved"
        assert timeline(nd_settings, key) == [
            ("transition", "open", "condition met"),
            ("transition", "resolved", "data received"),
        ]
    finally:
        await rt.stop()


def util(device: str, ts: float, value: float) -> MetricBatch:
    return MetricBatch(device=device, ts=ts, metrics=[Metric("if_in_util_pct", "3", value)])


def timer_rows(settings: Settings, device: str) -> list[tuple[float, float]]:
    with connect(settings) as conn:
        rows = conn.execute(
            "SELECT since, seen FROM alert_timers WHERE rule = %s AND device = %s AND instance = '3'",
            (f"{U}-for", device),
        ).fetchall()
    return [(r[0], r[1]) for r in rows]


async def test_for_timer_pending_at_failover_fires_on_time_on_the_new_leader(
    nd_settings: Settings, hook: LocalReceiver
) -> None:
    device = f"{U}-f1"
    key = f"{U}-for/{device}/3"
    now = time.time()
    old = runtime(nd_settings, hook)
    await old.start()
    new = runtime(nd_settings, hook)
    try:
        old.handle("metrics", util(device, now - 70, 90))
        old.handle("metrics", util(device, now - 60, 91))
        await old.flush()
        assert timer_rows(nd_settings, device) == [(now - 70, now - 70)]
        assert state(nd_settings, key) is None  # pending: 10 s of the 60 s
        # the old leader dies here (kill -9: nothing more is written); a new one takes over
        await new.start()
        new.handle("metrics", util(device, now - 15, 92))  # 55 s since the breach began
        await new.flush()
        assert state(nd_settings, key) is None
        new.handle("metrics", util(device, now - 5, 93))  # 65 s: fires now, not 60 s after the failover
        await new.flush()
        assert state(nd_settings, key) == "open"
        with connect(nd_settings) as conn:
            (started,) = conn.execute(
                "SELECT extract(epoch FROM started) FROM alerts WHERE key = %s", (key,)
            ).fetchone() or (None,)
        assert started is not None and abs(float(started) - (now - 5)) < 0.01
        new.handle("metrics", util(device, now - 4, 10))
        await new.flush()
        assert state(nd_settings, key) == "resolved"
        assert timer_rows(nd_settings, device) == []  # cleared: the timer row is gone
    finally:
        await new.stop()
        await old.stop()

"""The alerting runtime against real PostgreSQL and Redis (no Kafka needed).

Restart from the ``alerts`` table with an acknowledgement made by the app,
rules from the ``threshold_rules`` table, a bad rule file that must not
replace the good rule set, and a database outage that loses nothing.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from pathlib import Path

import msgspec
import pytest

from netvigil.db import connect
from netvigil.records import Metric, MetricBatch
from netvigil.settings import Settings
from streams.alerting import metrics as alert_metrics
from streams.alerting.runtime import AlertRuntime
from streams.alerting.store import AlertStore
from streams.notify.receiver import LocalReceiver
from streams.testing import webhook_notify, with_rules

U = "r" + uuid.uuid4().hex[:7]
RULES = f"""
rules:
  - name: {U}-cpu
    metric: cpu_load_pct
    match: {{device: "{U}-*"}}
    levels: {{warning: 80, critical: 95}}
"""


@pytest.fixture
def rt_settings(pg_stack: Settings, tmp_path: Path) -> Settings:
    return with_rules(pg_stack, tmp_path, RULES)


def runtime(settings: Settings, hook: LocalReceiver) -> AlertRuntime:
    notify = webhook_notify(f"{hook.url}/a")
    return AlertRuntime(settings, notify_config=notify, publish_kafka=False, refresh_interval=0)


def cpu(device: str, value: float) -> MetricBatch:
    return MetricBatch(device=device, ts=time.time(), metrics=[Metric("cpu_load_pct", "", value)])


def row(settings: Settings, key: str) -> tuple[str, str] | None:
    with connect(settings) as conn:
        r = conn.execute("SELECT state, severity FROM alerts WHERE key = %s", (key,)).fetchone()
    return (r[0], r[1]) if r else None


async def test_restart_respects_an_acknowledgement_made_by_the_app(
    rt_settings: Settings, hook: LocalReceiver
) -> None:
    device, key = f"{U}-ack", f"{U}-cpu/{U}-ack/"
    a = runtime(rt_settings, hook)
    await a.start()
    a.handle("metrics", cpu(device, 85))
    await a.flush()
    assert row(rt_settings, key) == ("open", "warning")
    await asyncio.to_thread(hook.wait_for, 1, 10)
    await a.stop()
    with connect(rt_settings) as conn:  # what the app does on "acknowledge"
        conn.execute(
            "UPDATE alerts SET state = 'acknowledged', acknowledged_by = 'alice', acknowledged_at = now() WHERE key = %s",
            (key,),
        )
        conn.execute(
            "INSERT INTO alert_events (key, ts, kind, actor) VALUES (%s, now(), 'ack', 'alice')", (key,)
        )
        conn.commit()
    b = runtime(rt_settings, hook)
    await b.start()
    try:
        assert b.engine.active[key].alert.state == "acknowledged"
        b.handle("metrics", cpu(device, 99))  # severity rises: recorded, not renotified
        await b.flush()
        assert row(rt_settings, key) == ("acknowledged", "critical")
        await asyncio.sleep(0.5)
        assert len(hook.requests) == 1
        b.handle("metrics", cpu(device, 10))
        await b.flush()
        assert row(rt_settings, key) == ("resolved", "critical")
    finally:
        await b.stop()


async def test_rules_from_the_database_and_a_bad_file_keeps_the_previous_set(
    rt_settings: Settings, hook: LocalReceiver
) -> None:
    name = f"{U}-db-mem"
    with connect(rt_settings) as conn:
        conn.execute(
            "INSERT INTO threshold_rules (name, definition) VALUES (%s, %s)",
            (
                name,
                json.dumps(
                    {"metric": "mem_used_pct", "levels": {"major": 90}, "match": {"device": f"{U}-*"}}
                ),
            ),
        )
        conn.commit()
    rt = runtime(rt_settings, hook)
    await rt.start()
    try:
        assert {r.name for r in rt.rules.rules} >= {f"{U}-cpu", name}
        errors_before = alert_metrics.RULE_ERRORS._value.get()
        path = Path(rt_settings.streams.rules_file)
        path.write_text(RULES + "    colour: red\n")  # noqa: ASYNC240 - a test fixture file
        os.utime(path, (time.time() + 5, time.time() + 5))
        await rt.refresh(force=True)
        assert {r.name for r in rt.rules.rules} >= {f"{U}-cpu", name}  # the previous good set still runs
        assert alert_metrics.RULE_ERRORS._value.get() == errors_before + 1
        rt.handle(
            "metrics", MetricBatch(device=f"{U}-m", ts=time.time(), metrics=[Metric("mem_used_pct", "", 95)])
        )
        await rt.flush()
        assert row(rt_settings, f"{name}/{U}-m/") == ("open", "major")
    finally:
        await rt.stop()
        with connect(rt_settings) as conn:
            conn.execute("DELETE FROM threshold_rules WHERE name = %s", (name,))
            conn.commit()


async def test_database_outage_loses_nothing(rt_settings: Settings, hook: LocalReceiver) -> None:
    device, key = f"{U}-out", f"{U}-cpu/{U}-out/"
    rt = runtime(rt_settings, hook)
    await rt.start()
    good = rt.store
    try:
        bad = msgspec.structs.replace(
            rt_settings,
            postgres=msgspec.structs.replace(
                rt_settings.postgres, dsn="postgresql://netvigil:netvigil@127.0.0.1:9/x"
            ),
        )
        rt.store = AlertStore(bad)
        rt.handle("metrics", cpu(device, 85))
        await rt.flush()  # fails: kept
        assert row(rt_settings, key) is None
        rt.handle("metrics", cpu(device, 10))
        await rt.flush()
        rt.store = good
        await rt.flush()
        assert row(rt_settings, key) == ("resolved", "warning")
        with connect(rt_settings) as conn:
            kinds = [
                r[0]
                for r in conn.execute(
                    "SELECT to_state FROM alert_events WHERE key = %s AND kind = 'transition' ORDER BY ts",
                    (key,),
                )
            ]
        assert kinds == ["open", "resolved"]
    finally:
        await rt.stop()


def test_one_alerting_leader_per_app(pg_stack: Settings) -> None:
    from streams.alerting.leader import LeaderLock

    mine = msgspec.structs.replace(
        pg_stack, streams=msgspec.structs.replace(pg_stack.streams, app_id=f"{U}-lead")
    )
    other_app = msgspec.structs.replace(
        pg_stack, streams=msgspec.structs.replace(pg_stack.streams, app_id=f"{U}-other")
    )
    a, b, c = LeaderLock(mine), LeaderLock(mine), LeaderLock(other_app)
    try:
        assert a.try_acquire() and a.alive()
        assert not b.try_acquire()  # a second worker of the same app stands by
        assert c.try_acquire()  # another app id leads its own alerting
        a.release()  # the leader's session ends (crash, kill -9): the standby takes over
        assert not a.alive()
        assert b.try_acquire()
        assert a.check() == "lost"  # the old leader steps down
        unreachable = msgspec.structs.replace(
            mine, postgres=msgspec.structs.replace(mine.postgres, dsn="postgresql://x:y@127.0.0.1:9/x")
        )
        assert LeaderLock(unreachable).check() == "unknown"  # keeps evaluating through an outage
    finally:
        for lock in (a, b, c):
            lock.release()


async def test_live_hash_entries_are_reasserted_after_another_writer_wipes_them(
    rt_settings: Settings, hook: LocalReceiver
) -> None:
    import redis

    device, key = f"{U}-live", f"{U}-cpu/{U}-live/"
    rt = runtime(rt_settings, hook)
    await rt.start()
    r = redis.Redis.from_url(rt_settings.redis.url)
    try:
        rt.handle("metrics", cpu(device, 85))
        await rt.flush()
        assert json.loads(r.hget("netvigil:alerts:active", key) or b"{}")["state"] == "open"
        r.hdel("netvigil:alerts:active", key)  # e.g. another LiveState rebuilt the hash from its mirror
        rt.reassert_interval = 0
        await rt.tick()
        assert json.loads(r.hget("netvigil:alerts:active", key) or b"{}")["state"] == "open"
        rt.handle("metrics", cpu(device, 5))
        await rt.flush()
        assert r.hget("netvigil:alerts:active", key) is None
    finally:
        await rt.stop()
        r.close()

"""Alerting end to end on the real stack: Kafka -> rules -> engine -> PostgreSQL, Redis, receivers.

The runtime and its consumer run in-process (as ``netvigil worker`` runs
them) against the test stack's Kafka, PostgreSQL and Redis, on topics of
their own (prefix ``test.alert<id>.``) and with devices and rule names that
carry the same id, so nothing here collides with other tests on the shared
stack. Notifications go to a local SMTP server and a local HTTP receiver.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
import pytest
import pytest_asyncio
import redis
from aiokafka.admin import AIOKafkaAdminClient
from aiosmtpd.controller import Controller

from netvigil.bus import Publisher
from netvigil.db import connect
from netvigil.inventory import Device, upsert_device
from netvigil.kafka_admin import ensure_topics_async
from netvigil.records import Metric, MetricBatch, PingResult, Trap
from netvigil.settings import Settings
from netvigil.topics import topic_specs
from streams.alerting.consumer import run_consumer
from streams.alerting.engine import Policy
from streams.alerting.runtime import AlertRuntime
from streams.notify.config import parse_notify_config
from streams.notify.receiver import LocalReceiver

pytestmark = pytest.mark.asyncio(loop_scope="module")

ACTIVE_HASH = "netvigil:alerts:active"
U = "a" + uuid.uuid4().hex[:7]
ROOT = Path(__file__).resolve().parents[2]

RULES = f"""
rules:
  - name: {U}-cpu
    metric: cpu_load_pct
    match: {{device: "{U}-*"}}
    levels: {{warning: 80, critical: 95}}
    clear: 70
  - name: {U}-ifdown
    type: interface_down
    match: {{device: "{U}-*"}}
    severity: major
  - name: {U}-down
    type: device_down
    match: {{device: "{U}-*"}}
    cycles: 2
    severity: critical
    remediation: {{action: collect_diagnostics, args: {{address: $address, count: 1, port: 9}}}}
  - name: {U}-evil
    type: trap
    trap: {U}Trap
    match: {{device: "{U}-*"}}
    remediation: {{action: rm_everything}}
"""


class MailBox:
    def __init__(self) -> None:
        self.messages: list[tuple[float, str]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((time.time(), envelope.content.decode("utf-8", "replace")))
        return "250 OK"


@dataclass
class Env:
    settings: Settings
    runtime: AlertRuntime
    pub: Publisher
    mail: MailBox
    hook: LocalReceiver

    def hook_for(self, key: str) -> list[dict[str, Any]]:
        return [r.body for r in self.hook.requests if r.body["commonAnnotations"]["key"] == key]

    def mail_for(self, device: str) -> list[str]:
        return [m for _, m in self.mail.messages if f"Device:    {device}" in m]


def db(settings: Settings, query: str, *args: Any) -> list[tuple[Any, ...]]:
    with connect(settings) as conn:
        return conn.execute(query, args).fetchall()


async def until(check: Callable[[], Any], timeout: float = 20.0) -> Any:  # noqa: ASYNC109 - a polling deadline
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(0.1)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def env(stack: Settings, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Env]:
    tmp = tmp_path_factory.mktemp("alerting")
    (tmp / "rules.yaml").write_text(RULES)
    settings = msgspec.structs.replace(
        stack,
        kafka=msgspec.structs.replace(stack.kafka, topic_prefix=f"test.{U}.", partitions=1),
        streams=msgspec.structs.replace(
            stack.streams, rules_file=str(tmp / "rules.yaml"), app_id=f"test-{U}"
        ),
    )
    await ensure_topics_async(settings)
    with connect(settings) as conn:
        for name, parent in ((f"{U}-core", None), (f"{U}-sw", f"{U}-core"), (f"{U}-srv", f"{U}-sw")):
            upsert_device(conn, Device(name=name, address="127.0.0.1", parent=parent))
        upsert_device(conn, Device(name=f"{U}-lonely", address="127.0.0.1", tags={"site": U}))
        conn.commit()
    mail = MailBox()
    smtp_port = free_port()
    ctl = Controller(mail, hostname="127.0.0.1", port=smtp_port)
    ctl.start()
    hook = LocalReceiver().start()
    notify = parse_notify_config(
        {
            "retry": {"attempts": 3, "backoff": 0.1},
            "receivers": [
                {
                    "name": "mail",
                    "type": "email",
                    "host": "127.0.0.1",
                    "port": smtp_port,
                    "to": ["noc@example.org"],
                },
                {"name": "hook", "type": "webhook", "url": f"{hook.url}/alerts"},
            ],
            "routes": [{"receivers": ["mail", "hook"]}],
        },
        environ={},
    )
    runtime = AlertRuntime(
        settings,
        policy=Policy(flap_changes=4, flap_window=600, flap_stable=300),
        notify_config=notify,
        refresh_interval=0.3,
    )
    await runtime.start()
    ready = asyncio.Event()
    task = asyncio.create_task(
        run_consumer(
            runtime,
            settings,
            group=f"test-{U}",
            offset_reset="earliest",
            ready=ready,
            flush_interval=0.05,
            tick_interval=0.2,
        )
    )
    await asyncio.wait_for(ready.wait(), 30)
    pub = Publisher(settings, linger_ms=1)
    await pub.start()
    try:
        yield Env(settings, runtime, pub, mail, hook)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await runtime.stop()
        await pub.stop()
        hook.stop()
        ctl.stop()
        admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka.bootstrap)
        await admin.start()
        try:
            await admin.delete_topics(list(topic_specs(settings)))
        finally:
            await admin.close()


async def send_metric(
    env: Env, device: str, metric: str, value: float, ts: float, instance: str = ""
) -> None:
    await env.pub.send(
        "metrics", MetricBatch(device=device, ts=ts, metrics=[Metric(metric, instance, value)]), wait=True
    )


async def send_ping(env: Env, device: str, loss: float, ts: float) -> None:
    rec = PingResult(
        device=device, address="127.0.0.1", ts=ts, sent=3, received=0 if loss >= 100 else 3, loss_pct=loss
    )
    await env.pub.send("ping", rec, wait=True)


def alert_row(env: Env, key: str) -> dict[str, Any] | None:
    rows = db(env.settings, "SELECT state, severity, flapping, root_cause FROM alerts WHERE key = %s", key)
    return dict(zip(("state", "severity", "flapping", "root_cause"), rows[0], strict=True)) if rows else None


def events(env: Env, key: str, kind: str | None = None) -> list[tuple[str, str, dict[str, Any]]]:
    rows = db(
        env.settings, "SELECT kind, actor, detail FROM alert_events WHERE key = %s ORDER BY ts, id", key
    )
    return [r for r in rows if kind is None or r[0] == kind]  # type: ignore[misc]


async def test_threshold_alert_opened_notified_by_email_and_webhook_and_resolved(env: Env) -> None:
    device, key = f"{U}-r1", f"{U}-cpu/{U}-r1/"
    now = time.time()
    await send_metric(env, device, "cpu_load_pct", 91.0, now)
    await until(lambda: len(env.hook_for(key)) >= 1 and env.mail_for(device))
    (firing,) = env.hook_for(key)
    assert firing["version"] == "4" and firing["status"] == "firing"
    assert firing["alerts"][0]["labels"] == {
        "alertname": f"{U}-cpu",
        "device": device,
        "severity": "warning",
        "kind": "threshold",
        "metric": "cpu_load_pct",
    }
    assert "Subject: [NetVigil WARNING]" in env.mail_for(device)[0]
    await until(lambda: (alert_row(env, key) or {}).get("state") == "open")
    live = redis.Redis.from_url(env.settings.redis.url)
    assert json.loads(live.hget(ACTIVE_HASH, key) or b"{}")["state"] == "open"

    await send_metric(env, device, "cpu_load_pct", 96.0, now + 1)  # same alert, severity raised
    await until(lambda: (alert_row(env, key) or {}).get("severity") == "critical")
    await send_metric(env, device, "cpu_load_pct", 75.0, now + 2)  # hysteresis: not cleared yet
    await send_metric(env, device, "cpu_load_pct", 40.0, now + 3)
    await until(lambda: (alert_row(env, key) or {}).get("state") == "resolved")
    await until(lambda: [b["status"] for b in env.hook_for(key)] == ["firing", "firing", "resolved"])
    await until(lambda: len(env.mail_for(device)) == 3)
    assert live.hget(ACTIVE_HASH, key) is None
    await until(lambda: len(events(env, key, "notify")) == 6)
    notified = events(env, key, "notify")
    assert {d["receiver"] for _, _, d in notified} == {"mail", "hook"}
    transitions = [(d["reason"]) for _, _, d in events(env, key, "transition")]
    assert transitions == ["condition met", "severity raised to critical", "condition cleared"]


async def test_link_flapping_20_times_is_one_flapping_alert_without_storm(env: Env) -> None:
    device, key = f"{U}-sw", f"{U}-ifdown/{U}-sw/7"
    t = time.time()
    for _ in range(20):
        await send_metric(env, device, "if_oper_status", 2, t, "7")
        await send_metric(env, device, "if_oper_status", 1, t + 0.5, "7")
        t += 1
    await until(lambda: (alert_row(env, key) or {}).get("flapping") is True)
    await until(lambda: len(events(env, key, "transition")) >= 5)
    await asyncio.sleep(1.0)  # let any (wrong) further notification arrive
    assert len(db(env.settings, "SELECT 1 FROM alerts WHERE key = %s", key)) == 1
    hooks = env.hook_for(key)
    assert 1 <= len(hooks) <= 5, [h["status"] for h in hooks]  # 20 flaps x 2 changes would be 40
    assert hooks[-1]["commonAnnotations"]["reason"] == "flapping"
    assert len(events(env, key, "flapping")) == 1


async def test_parent_down_suppresses_children_and_names_root_cause(env: Env) -> None:
    root = f"{U}-down/{U}-core/"
    t = time.time()
    await send_metric(env, f"{U}-srv", "cpu_load_pct", 90, t)
    child = f"{U}-cpu/{U}-srv/"
    await until(lambda: (alert_row(env, child) or {}).get("state") == "open")
    for i in range(2):
        await send_ping(env, f"{U}-core", 100, t + i)
    for i in range(2):
        await send_ping(env, f"{U}-sw", 100, t + 2 + i)
    await until(lambda: (alert_row(env, f"{U}-down/{U}-sw/") or {}).get("state") == "suppressed")
    assert alert_row(env, root) == {
        "state": "open",
        "severity": "critical",
        "flapping": False,
        "root_cause": None,
    }
    assert alert_row(env, child) == {
        "state": "suppressed",
        "severity": "warning",
        "flapping": False,
        "root_cause": root,
    }
    assert alert_row(env, f"{U}-down/{U}-sw/")["root_cause"] == root  # type: ignore[index]
    await asyncio.sleep(0.5)
    assert env.hook_for(f"{U}-down/{U}-sw/") == []  # suppressed children are not notified
    assert len(env.hook_for(root)) == 1


async def test_maintenance_window_silences(env: Env) -> None:
    device, key = f"{U}-lonely", f"{U}-cpu/{U}-lonely/"
    db_conn = connect(env.settings)
    with db_conn as conn:
        conn.execute(
            "INSERT INTO silences (matcher, starts_at, ends_at, created_by, comment)"
            " VALUES (%s, now() - interval '1 minute', now() + interval '1 hour', 'test', 'maintenance')",
            (json.dumps({"rule": f"{U}-cpu", "tags": {"site": U}}),),
        )
        conn.commit()
    await asyncio.sleep(1.0)  # the runtime refreshes silences every 0.3 s
    await send_metric(env, device, "cpu_load_pct", 99, time.time())
    await until(lambda: (alert_row(env, key) or {}).get("state") == "suppressed")
    (transition,) = events(env, key, "transition")
    assert transition[2]["reason"].startswith("silenced by maintenance window #")
    await asyncio.sleep(0.5)
    assert env.hook_for(key) == [] and env.mail_for(device) == []


async def test_remediation_runs_allow_listed_script_and_refuses_another(env: Env) -> None:
    device = f"{U}-lonely"
    t = time.time()
    await send_ping(env, device, 100, t)
    await send_ping(env, device, 100, t + 1)
    key = f"{U}-down/{device}/"
    (_, actor, detail) = (await until(lambda: events(env, key, "remediation")))[0]
    assert actor == "remediation/collect_diagnostics"
    assert detail["status"] == "ok" and detail["argv"][1:] == [
        "--address",
        "127.0.0.1",
        "--port",
        "9",
        "--count",
        "1",
    ]
    assert "== snmpget 127.0.0.1:9" in detail["stdout"]

    trap = Trap(
        ts=t,
        source="127.0.0.1:5000",
        device=device,
        version="v2c",
        trap_oid="1.3.6.1.4.1.99999.1",
        trap_name=f"{U}Trap",
    )
    await env.pub.send("trap", trap, wait=True)
    evil = f"{U}-evil/{device}/"
    (_, _, detail) = (await until(lambda: events(env, evil, "remediation")))[0]
    assert detail["status"] == "refused" and detail["argv"] == []
    assert "not in the allow-list" in detail["reason"]


async def test_alerts_and_transitions_are_published_to_kafka(env: Env) -> None:
    from aiokafka import AIOKafkaConsumer

    from netvigil.topics import decode

    key = f"{U}-cpu/{U}-r1/"  # from the first test
    consumer = AIOKafkaConsumer(
        env.settings.topic("alert-transition"),
        env.settings.topic("alert"),
        bootstrap_servers=env.settings.kafka.bootstrap,
        group_id=f"test-{U}-check",
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        seen: dict[str, list[str]] = {"alert": [], "alert-transition": []}
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not (seen["alert"] and len(seen["alert-transition"]) >= 3):
            for tp, msgs in (await consumer.getmany(timeout_ms=200)).items():
                topic = tp.topic.removeprefix(env.settings.kafka.topic_prefix)
                for m in msgs:
                    rec = decode(topic, m.value)
                    if rec.key == key:  # type: ignore[attr-defined]
                        seen[topic].append(rec.to_state if topic == "alert-transition" else rec.state)  # type: ignore[attr-defined]
    finally:
        await consumer.stop()
    assert seen["alert-transition"] == ["open", "open", "resolved"]
    assert seen["alert"][-1] == "resolved"


async def test_offsets_are_committed_only_after_the_database_write(env: Env) -> None:
    from aiokafka import AIOKafkaConsumer, TopicPartition

    from streams.alerting.store import AlertStore

    group = f"test-{U}-commit"
    rt = AlertRuntime(env.settings, notify_config=parse_notify_config({}, environ={}), publish_kafka=False)
    await rt.start()
    good = rt.store
    down = msgspec.structs.replace(
        env.settings,
        postgres=msgspec.structs.replace(env.settings.postgres, dsn="postgresql://x:y@127.0.0.1:9/x"),
    )
    rt.store = AlertStore(down)  # PostgreSQL "down" for this runtime
    ready = asyncio.Event()
    task = asyncio.create_task(run_consumer(rt, env.settings, group=group, ready=ready, flush_interval=0.05))
    probe = AIOKafkaConsumer(
        bootstrap_servers=env.settings.kafka.bootstrap, group_id=group, enable_auto_commit=False
    )
    await probe.start()
    tp = TopicPartition(env.settings.topic("metrics"), 0)
    try:
        await asyncio.wait_for(ready.wait(), 30)
        before = await probe.committed(tp)
        device, key = f"{U}-commit", f"{U}-cpu/{U}-commit/"
        await send_metric(env, device, "cpu_load_pct", 92, time.time())
        await asyncio.sleep(1.5)
        assert rt.engine.active[key].alert.state == "open"  # evaluated...
        assert await probe.committed(tp) == before  # ...but not stored: not committed
        rt.store = good  # the database is back
        end = (await probe.end_offsets([tp]))[tp]
        deadline = time.monotonic() + 10
        while await probe.committed(tp) != end and time.monotonic() < deadline:  # noqa: ASYNC110 - polling Kafka
            await asyncio.sleep(0.1)
        assert await probe.committed(tp) == end
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await probe.stop()
        await rt.stop()

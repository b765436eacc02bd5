"""`collect snmp` end to end: inventory in PostgreSQL -> polls of a real snmpd -> DevicePoll on Kafka.

Runs shard 0 of 2 only and checks that exactly this shard's devices are
polled, a dead device yields ``unreachable`` records, and /metrics counts.
"""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import Iterator

import httpx
import msgspec
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from ingest.simulate.agents import V3_USERS, SnmpdAgent, free_udp_port
from ingest.snmp.service import in_shard, run
from netvigil.db import connect
from netvigil.inventory import Credentials, Device, remove_device, upsert_device
from netvigil.records import DevicePoll
from netvigil.settings import Settings
from netvigil.topics import decode

ADDR = "127.0.9.1"


@pytest.fixture(scope="module")
def agent() -> Iterator[SnmpdAgent]:
    with SnmpdAgent(ADDR, free_udp_port(ADDR)) as a:
        yield a


def _names(sfx: str, shard: int, count: int) -> list[str]:
    out: list[str] = []
    i = 0
    while len(out) < count:
        name = f"svc-{sfx}-{i}"
        if in_shard(name, (shard, 2)):
            out.append(name)
        i += 1
    return out


def _free_tcp_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def _collect(settings: Settings, wanted: set[str], seconds: float) -> list[DevicePoll]:
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka.bootstrap, enable_auto_commit=False)
    await consumer.start()
    topic = settings.topic("poll")
    parts = [
        TopicPartition(topic, p)
        for p in (consumer.partitions_for_topic(topic) or range(settings.kafka.partitions))
    ]
    consumer.assign(parts)
    await consumer.seek_to_end(*parts)
    for tp in parts:
        await consumer.position(tp)
    stop = asyncio.Event()
    task = asyncio.create_task(run(settings, stop))
    got: list[DevicePoll] = []
    metrics = ""
    try:
        deadline = asyncio.get_running_loop().time() + seconds
        while asyncio.get_running_loop().time() < deadline:
            batch = await consumer.getmany(timeout_ms=300)
            for records in batch.values():
                for r in records:
                    rec = decode("poll", r.value, DevicePoll)
                    if rec.device.startswith("svc-"):
                        got.append(rec)
            assert not task.done(), task.exception()
        # One endpoint per process: an earlier collector test in this process may own it,
        # so ask where it is rather than assuming this test's port.
        from ingest.metrics_http import ensure_metrics_server

        port = ensure_metrics_server(settings)
        async with httpx.AsyncClient() as client:
            metrics = (await client.get(f"http://127.0.0.1:{port}/metrics")).text
    finally:
        stop.set()
        await asyncio.wait_for(task, 15)
        await consumer.stop()
    assert "netvigil_snmp_polls_total" in metrics
    return [g for g in got if g.device in wanted] + [g for g in got if g.device not in wanted]


def test_service_polls_its_shard_and_publishes(stack: Settings, agent: SnmpdAgent) -> None:
    sfx = uuid.uuid4().hex[:6]
    mine, others = _names(sfx, 0, 3), _names(sfx, 1, 2)
    u = V3_USERS[1]
    creds = [
        Credentials(version="v2c", community="public"),
        Credentials(version="v3", user=u.name, level="authPriv", auth_proto="SHA256", auth_key=u.auth_key,
                    priv_proto="AES256", priv_key=u.priv_key),
        Credentials(version="v2c", community="public"),
    ]  # fmt: skip
    devices = [Device(name=n, address=ADDR, port=agent.port, credentials=c, poll_interval=1.0,
                      modules=["system", "interfaces", "host"]) for n, c in zip(mine, creds, strict=True)]  # fmt: skip
    dead_port = free_udp_port("127.0.9.2")
    devices[2] = msgspec.structs.replace(devices[2], address="127.0.9.2", port=dead_port)
    devices += [
        Device(name=n, address=ADDR, port=agent.port, credentials=creds[0], poll_interval=1.0) for n in others
    ]
    with connect(stack) as conn:
        for d in devices:
            upsert_device(conn, d)
    settings = msgspec.structs.replace(
        stack,
        collector=msgspec.structs.replace(stack.collector, shard="0/2", snmp_timeout=0.5, snmp_retries=1,
                                          metrics_port=_free_tcp_port()),
    )  # fmt: skip
    try:
        got = asyncio.run(_collect(settings, set(mine) | set(others), 14.0))
    finally:
        with connect(stack) as conn:
            for d in devices:
                remove_device(conn, d.name)
    # The shared test inventory may hold other tests' devices: judge only ours.
    seen = {g.device for g in got} & (set(mine) | set(others))
    assert seen == set(mine), (seen, mine)
    by = {name: [g for g in got if g.device == name] for name in mine}
    assert all(len(v) >= 2 for v in by.values()), {k: len(v) for k, v in by.items()}  # polled every second
    for rec in by[mine[0]] + by[mine[1]]:
        assert rec.status == "ok" and rec.sys_uptime and any(s.metric == "ifHCInOctets" for s in rec.samples)
    assert all(r.status == "unreachable" and r.error for r in by[mine[2]])

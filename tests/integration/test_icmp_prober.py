"""The ICMP prober against loopback and a network namespace this test creates.

Only loopback (127.0.0.0/8) and the test's own namespace are ever targeted.
"Does not answer" is real: a veth pair into a fresh namespace, pinged once
up (it answers) and then with the namespace side brought down (it does not).
"""

from __future__ import annotations

import asyncio
import json
import secrets
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import msgspec
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from ingest.icmp.engine import IcmpEngine
from ingest.icmp.prober import ping_targets
from ingest.icmp.service import serve
from netvigil.db import connect
from netvigil.inventory import Device, remove_device, upsert_device
from netvigil.records import PingResult
from netvigil.settings import Settings
from netvigil.topics import decode, topic_specs

MARK = uuid.uuid4().hex[:8]
LOOPBACK = ["127.0.0.1", f"127.72.{secrets.randbelow(250) + 1}.{secrets.randbelow(250) + 1}", "127.0.0.53"]


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=10)


@pytest.fixture(scope="module")
def silent_address() -> Iterator[str]:
    """An address in a namespace of our own whose interface is then brought down."""
    ns, host, peer = f"nv{MARK}", f"nvh{MARK}", f"nvn{MARK}"
    third, fourth = secrets.randbelow(250) + 1, secrets.randbelow(60) * 4
    host_ip, ns_ip = f"169.254.{third}.{fourth + 1}", f"169.254.{third}.{fourth + 2}"
    _ip("netns", "add", ns)
    try:
        _ip("link", "add", host, "type", "veth", "peer", "name", peer)
        _ip("link", "set", peer, "netns", ns)
        _ip("addr", "add", f"{host_ip}/30", "dev", host)
        _ip("link", "set", host, "up")
        _ip("-n", ns, "addr", "add", f"{ns_ip}/30", "dev", peer)
        _ip("-n", ns, "link", "set", peer, "up")
        if not _answers(ns_ip):
            pytest.fail(f"namespace address {ns_ip} never answered while up")
        _ip("-n", ns, "link", "set", peer, "down")  # now it is silent
        yield ns_ip
    finally:
        subprocess.run(["ip", "link", "del", host], capture_output=True, timeout=10)
        subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=10)


def _answers(address: str) -> bool:
    async def probe() -> bool:
        async with IcmpEngine() as eng:
            for _ in range(20):
                if (await eng.probe([address], 1, 0.0, 0.2))[address].rtts:
                    return True
        return False

    return asyncio.run(probe())


async def test_loopback_answers_and_silent_address_is_100_percent_loss(silent_address: str) -> None:
    targets = [(f"lo{i}", a) for i, a in enumerate(LOOPBACK)] + [
        ("silent", silent_address),
        ("bad", "not-an-ip!"),
    ]
    async with IcmpEngine() as eng:
        results = await ping_targets(eng, targets, count=3, interval=0.05, reply_timeout=0.5)
    by = {r.device: r for r in results}
    for i in range(len(LOOPBACK)):
        r = by[f"lo{i}"]
        assert (r.sent, r.received, r.loss_pct, r.error) == (3, 3, 0.0, None)
        assert (
            r.rtt_min_ms is not None and r.rtt_max_ms is not None and 0 < r.rtt_min_ms <= r.rtt_max_ms < 500
        )
        assert r.jitter_ms is not None and r.jitter_ms >= 0
    assert (by["silent"].sent, by["silent"].received, by["silent"].loss_pct) == (3, 0, 100.0)
    assert by["silent"].rtt_avg_ms is None
    assert by["bad"].error and by["bad"].sent == 0 and by["bad"].loss_pct == 100.0


def test_ping_command(silent_address: str) -> None:
    run = [str(Path(sys.executable).parent / "netvigil")]
    ok = subprocess.run(
        [*run, "ping", "--json", "-c", "2", "-i", "0.05", "127.0.0.1", "127.0.0.2"],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    rows = [json.loads(line) for line in ok.stdout.splitlines()]
    assert [(r["address"], r["received"]) for r in rows] == [("127.0.0.1", 2), ("127.0.0.2", 2)]
    down = subprocess.run(
        [*run, "ping", "-c", "2", "-i", "0.05", "-t", "0.3", silent_address],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert down.returncode == 1
    assert silent_address in down.stdout and "100" in down.stdout


@pytest.fixture(scope="module")
def devices(stack: Settings, silent_address: str) -> Iterator[dict[str, str]]:
    named = {f"icmp-{MARK}-{i}": a for i, a in enumerate(LOOPBACK)} | {f"icmp-{MARK}-silent": silent_address}
    with connect(stack) as conn:
        for name, address in named.items():
            upsert_device(conn, Device(name=name, address=address))  # no SNMP: pinged all the same
        conn.commit()
    yield named
    with connect(stack) as conn:
        for name in named:
            remove_device(conn, name)
        conn.commit()


@pytest.fixture
async def consumer(stack: Settings) -> AsyncIterator[AIOKafkaConsumer]:
    c = AIOKafkaConsumer(bootstrap_servers=stack.kafka.bootstrap, enable_auto_commit=False)
    await c.start()
    topic = stack.topic("ping")
    parts = [TopicPartition(topic, p) for p in range(topic_specs(stack)[topic])]
    c.assign(parts)
    await c.seek_to_end(*parts)
    for tp in parts:
        await c.position(tp)
    yield c
    await c.stop()


async def test_service_publishes_one_result_per_device_per_cycle(
    stack: Settings, devices: dict[str, str], consumer: AIOKafkaConsumer
) -> None:
    collector = msgspec.structs.replace(
        stack.collector, ping_count=3, ping_interval=0.05, ping_timeout=0.5, ping_cycle=1.0, metrics_port=0
    )
    settings = msgspec.structs.replace(stack, collector=collector)
    stop = asyncio.Event()
    task = asyncio.create_task(serve(settings, stop, select=lambda d: d.name in devices))
    seen: dict[str, list[PingResult]] = {}
    try:
        deadline = asyncio.get_running_loop().time() + 30
        while not all(len(seen.get(n, [])) >= 2 for n in devices):
            assert asyncio.get_running_loop().time() < deadline, f"got {seen}"
            assert not task.done(), task
            for records in (await consumer.getmany(timeout_ms=500)).values():
                for r in records:
                    result = decode("ping", r.value or b"")
                    if result.device in devices:
                        seen.setdefault(result.device, []).append(result)
    finally:
        stop.set()
        await asyncio.wait_for(task, 20)
    for name, address in devices.items():
        first = seen[name][0]
        assert first.address == address
        if name.endswith("silent"):
            assert (first.received, first.loss_pct) == (0, 100.0)
        else:
            assert (first.sent, first.received, first.loss_pct) == (3, 3, 0.0)
    assert seen[f"icmp-{MARK}-0"][1].ts - seen[f"icmp-{MARK}-0"][0].ts == pytest.approx(1.0, abs=0.6)

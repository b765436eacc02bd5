"""SNMPv3-only mode (settings.collector.v3_only): no community ever goes on the wire or in.

Against a real snmpd and the real trap receiver (net-snmp's snmptrap /
snmpinform as senders):

* the poller polls a v3 device and refuses a v2c and a v1 device before
  sending anything: only the v3 poll reaches Kafka;
* the trap receiver drops v1 and v2c traps and a v2c inform (not
  acknowledged: snmpinform gets no answer), counts each, keeps none, and
  still accepts a v3 authPriv trap;
* ``netvigil devices discover`` in v3-only mode must not identify agents with
  a community either (it shares the collector's transport factory).

The unit tests of the transport factory and the receiver check the refusal
logic; these check it end to end with the real tools.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator

import msgspec
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from ingest.simulate.agents import V3_USERS, SnmpdAgent, free_udp_port
from ingest.snmp.service import _Poller
from ingest.traps.service import TrapService
from netvigil.bus import Publisher
from netvigil.db import connect
from netvigil.inventory import Credentials, Device, load_devices, remove_device
from netvigil.kafka_admin import ensure_topics_async
from netvigil.records import DevicePoll, Trap
from netvigil.settings import Settings, TrapV3User
from netvigil.topics import decode, topic_specs

MARK = uuid.uuid4().hex[:8]
ADDRESS = f"127.73.{int(MARK[:2], 16)}.{int(MARK[2:4], 16) or 1}"
ENGINE_ID = "0x80001f8880" + MARK
USER = V3_USERS[0]  # nmsuser SHA/AES


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def v3_only(stack: Settings) -> Settings:
    """v3-only, with this module's own topics (nothing else reads or writes them)."""
    return msgspec.structs.replace(
        stack,
        kafka=msgspec.structs.replace(stack.kafka, topic_prefix=f"test.v3o{MARK}."),
        collector=msgspec.structs.replace(
            stack.collector,
            v3_only=True,
            metrics_port=_free_port(),
            trap_communities=["public"],
            trap_v3_users=[
                TrapV3User(
                    user=USER.name,
                    engine_id=ENGINE_ID,
                    auth_proto="SHA",
                    auth_key=USER.auth_key,
                    priv_proto="AES",
                    priv_key=USER.priv_key,
                )
            ],
        ),
    )


@pytest.fixture(scope="module")
def agent() -> Iterator[SnmpdAgent]:
    with SnmpdAgent(ADDRESS, free_udp_port(ADDRESS)) as a:
        yield a


async def _records(s: Settings, topic: str, within: float = 5.0) -> list[bytes]:
    """Every record of one of this module's topics (read from the beginning)."""
    name = s.topic(topic)
    parts = [TopicPartition(name, p) for p in range(topic_specs(s)[name])]
    consumer = AIOKafkaConsumer(bootstrap_servers=s.kafka.bootstrap, enable_auto_commit=False)
    await consumer.start()
    out: list[bytes] = []
    try:
        await consumer.topics()
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        deadline = asyncio.get_running_loop().time() + within
        while asyncio.get_running_loop().time() < deadline:
            batch = await consumer.getmany(timeout_ms=300)
            out += [m.value for msgs in batch.values() for m in msgs if m.value is not None]
    finally:
        await consumer.stop()
    return out


async def test_poller_refuses_v1_v2c_and_polls_v3(stack: Settings, agent: SnmpdAgent) -> None:
    s = v3_only(stack)
    await ensure_topics_async(s)
    community = Credentials(version="v2c", community="public")
    devices = [
        Device(name=f"v3o-v2c-{MARK}", address=ADDRESS, port=agent.port, credentials=community),
        Device(
            name=f"v3o-v1-{MARK}",
            address=ADDRESS,
            port=agent.port,
            credentials=Credentials(version="v1", community="public"),
        ),
        Device(
            name=f"v3o-v3-{MARK}",
            address=ADDRESS,
            port=agent.port,
            modules=["system"],
            credentials=Credentials(
                version="v3",
                user=USER.name,
                level="authPriv",
                auth_proto="SHA",
                auth_key=USER.auth_key,
                priv_proto="AES",
                priv_key=USER.priv_key,
            ),
        ),
    ]
    async with Publisher(s) as pub:
        poller = _Poller(s, pub, asyncio.Event())
        try:
            for d in devices:
                await poller.poll_once(d)
            await pub.flush()
        finally:
            await poller.close()
    polls = [decode("poll", v) for v in await _records(s, "poll")]
    assert [(p.device, p.status) for p in polls if isinstance(p, DevicePoll)] == [(f"v3o-v3-{MARK}", "ok")]


@pytest.fixture
async def receiver(stack: Settings) -> AsyncIterator[tuple[TrapService, Settings]]:
    s = v3_only(stack)
    await ensure_topics_async(s)
    svc = TrapService(s, port=0)
    stop = asyncio.Event()
    task = asyncio.create_task(svc.run(stop))
    await asyncio.wait_for(svc.started.wait(), 30)
    try:
        yield svc, s
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


async def _send(tool: str, port: int, *args: str) -> int:
    proc = await asyncio.create_subprocess_exec(
        tool,
        "-t",
        "1",
        "-r",
        "0",
        *args[:-1],
        f"127.0.0.1:{port}",
        *args[-1].split(" "),
        env={**os.environ, "MIBS": ""},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    await proc.communicate()
    return proc.returncode or 0


async def test_trap_receiver_refuses_v1_v2c_and_accepts_v3(receiver: tuple[TrapService, Settings]) -> None:
    svc, s = receiver
    link_down = "1.3.6.1.6.3.1.1.5.3"
    assert (
        await _send("snmptrap", svc.port, "-v", "2c", "-c", "public", f" {link_down} 1.3.6.1.2.1.1.5.0 s v2c")
        == 0
    )
    assert await _send("snmptrap", svc.port, "-v", "1", "-c", "public",
                       f"1.3.6.1.4.1.8072.4 {ADDRESS} 3 0 42 1.3.6.1.2.1.1.5.0 s v1") == 0  # fmt: skip
    # An inform is acknowledged only when accepted: in v3-only mode, never.
    assert await _send("snmpinform", svc.port, "-v", "2c", "-c", "public", f" {link_down}") != 0
    v3 = ["-v", "3", "-e", ENGINE_ID, "-u", USER.name, "-l", "authPriv", "-a", "SHA", "-A", USER.auth_key,
          "-x", "AES", "-X", USER.priv_key]  # fmt: skip
    assert await _send("snmptrap", svc.port, *v3, f" {link_down} 1.3.6.1.2.1.1.5.0 s v3-{MARK}") == 0
    traps = []
    for _ in range(20):
        traps = [
            t for t in map(lambda v: decode("trap", v), await _records(s, "trap", 1.0)) if isinstance(t, Trap)
        ]
        if traps:
            break
    assert [t.version for t in traps] == ["v3"], traps
    counts = svc.stats.counts
    assert counts["refused.v2c.v3_only"] == 2 and counts["refused.v1.v3_only"] == 1, counts


def test_discover_in_v3_only_mode_sends_no_community(stack: Settings, agent: SnmpdAgent) -> None:
    """Discovery must honour collector.v3_only like the poller: no v2c identification, nothing added."""
    env = dict(os.environ, NETVIGIL_COLLECTOR__V3_ONLY="true")
    cmd = [sys.executable, "-m", "netvigil.cli", "devices", "discover", f"{ADDRESS}/32", "--port", str(agent.port),
           "--no-ping", "-v", "2c", "-c", "public", "-t", "1"]  # fmt: skip
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False, timeout=120)
    with connect(stack) as conn:
        added = [d.name for d in load_devices(conn) if d.address == ADDRESS and d.port == agent.port]
        for name in added:
            remove_device(conn, name)
        conn.commit()
    assert added == [], (
        f"v3-only mode, yet discovery identified and added {added} with a community: {proc.stdout}"
    )

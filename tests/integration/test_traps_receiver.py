"""net-snmp's snmptrap/snmpinform -> the trap receiver -> Kafka, names resolved (no mocks).

Each test starts the receiver in-process on a free port, positions a consumer
at the end of the shared ``trap`` and ``deadletter`` topics, sends with the
real net-snmp tools from a loopback address of its own (``--clientaddr``, so
the inventory match is checked), and waits for records carrying a marker
unique to this run. Refusals are checked on the receiver's counters, on the
metrics endpoint, and by their absence from Kafka.
"""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import uuid
from collections.abc import AsyncIterator, Iterator

import httpx
import msgspec
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from ingest.traps.service import TrapService
from netvigil.db import connect
from netvigil.inventory import Device, remove_device, upsert_device
from netvigil.records import DeadLetter, Trap
from netvigil.settings import Settings, TrapV3User
from netvigil.topics import decode, topic_specs

MARK = uuid.uuid4().hex[:10]
SENDER = f"127.71.{int(MARK[:2], 16)}.{int(MARK[2:4], 16) or 1}"  # this run's own sender address
DEVICE = f"trap-test-{MARK}"
ENGINE_ID = "0x80001f8880" + MARK[:8]
V3 = ["-u", "nvtrap", "-l", "authPriv", "-a", "SHA", "-A", "authpass123", "-x", "AES", "-X", "privpass123"]
LINK_DOWN = "1.3.6.1.6.3.1.1.5.3"
IF_VARBINDS = ["1.3.6.1.2.1.2.2.1.1.3", "i", "3", "1.3.6.1.2.1.2.2.1.8.3", "i", "2"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def device(stack: Settings) -> Iterator[str]:
    with connect(stack) as conn:
        upsert_device(conn, Device(name=DEVICE, address=SENDER, tags={"role": "switch"}))
        conn.commit()
    yield DEVICE
    with connect(stack) as conn:
        remove_device(conn, DEVICE)
        conn.commit()


class Harness:
    def __init__(self, svc: TrapService, consumer: AIOKafkaConsumer, settings: Settings) -> None:
        self.svc = svc
        self.consumer = consumer
        self.settings = settings
        self.traps: list[Trap] = []
        self.dead: list[DeadLetter] = []

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.svc.port}"

    async def send(self, *args: str, ok: bool = True) -> None:
        tool = "snmpinform" if "--inform" in args else "snmptrap"
        argv = [a for a in args if a != "--inform"]
        proc = await asyncio.create_subprocess_exec(
            tool,
            f"--clientaddr={SENDER}",
            *argv[:-1],
            self.target,
            *("" if word == "''" else word for word in argv[-1].split(" ")),
            env={**os.environ, "MIBS": ""},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        _, err = await proc.communicate()
        assert (proc.returncode == 0) == ok, f"{tool} {argv}: rc {proc.returncode}: {err.decode()}"

    async def poll(self) -> None:
        batch = await self.consumer.getmany(timeout_ms=300)
        for tp, records in batch.items():
            for r in records:
                if r.value is None:
                    continue
                if tp.topic == self.settings.topic("trap"):
                    self.traps.append(decode("trap", r.value))
                else:
                    self.dead.append(decode("deadletter", r.value))

    async def traps_with(self, marker: str, count: int = 1, within: float = 20.0) -> list[Trap]:
        deadline = asyncio.get_running_loop().time() + within
        while True:
            got = [t for t in self.traps if any(marker in v.value for v in t.varbinds)]
            if len(got) >= count or asyncio.get_running_loop().time() > deadline:
                assert len(got) >= count, (
                    f"{marker}: wanted {count}, got {got}; stats {self.svc.stats.counts}"
                )
                return got
            await self.poll()


@pytest.fixture
async def harness(stack: Settings, device: str) -> AsyncIterator[Harness]:
    user = TrapV3User(
        user="nvtrap", engine_id=ENGINE_ID, auth_proto="SHA", auth_key="authpass123",
        priv_proto="AES", priv_key="privpass123",
    )  # fmt: skip
    collector = msgspec.structs.replace(
        stack.collector,
        trap_communities=["public", f"c-{MARK}"],
        trap_v3_users=[user],
        metrics_port=_free_port(),
    )
    settings = msgspec.structs.replace(stack, collector=collector)
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka.bootstrap, enable_auto_commit=False)
    await consumer.start()
    counts = topic_specs(settings)  # partition counts differ: deadletter has one
    parts = [
        TopicPartition(topic, p)
        for topic in (settings.topic("trap"), settings.topic("deadletter"))
        for p in range(counts[topic])
    ]
    consumer.assign(parts)
    await consumer.seek_to_end(*parts)
    for tp in parts:
        await consumer.position(tp)
    svc = TrapService(settings, port=0)
    stop = asyncio.Event()
    task = asyncio.create_task(svc.run(stop))
    await asyncio.wait_for(svc.started.wait(), 30)
    try:
        yield Harness(svc, consumer, settings)
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
        await consumer.stop()


async def test_v2c_trap_arrives_named_and_matched(harness: Harness) -> None:
    marker = f"v2c-{MARK}"
    await harness.send(
        "-v", "2c", "-c", "public", f"'' {LINK_DOWN} {' '.join(IF_VARBINDS)} 1.3.6.1.2.1.1.5.0 s {marker}"
    )
    (trap,) = await harness.traps_with(marker)
    assert trap.version == "v2c"
    assert trap.trap_oid == LINK_DOWN
    assert trap.trap_name == "linkDown"
    assert trap.device == DEVICE
    assert trap.source.startswith(SENDER + ":")
    assert [(v.name, v.value) for v in trap.varbinds][:3] == [
        ("ifIndex.3", "3"),
        ("ifOperStatus.3", "2"),
        ("sysName.0", marker),
    ]
    assert trap.uptime is not None
    assert "public" not in msgspec.json.encode(trap).decode()


async def test_v1_trap_converted_to_v2_form(harness: Harness) -> None:
    marker = f"v1-{MARK}"
    # enterprise agent-addr generic(3 = linkUp) specific uptime varbinds
    await harness.send(
        "-v", "1", "-c", f"c-{MARK}",
        f"1.3.6.1.4.1.8072.3.2.10 {SENDER} 3 0 4242 1.3.6.1.2.1.2.2.1.1.3 i 3 1.3.6.1.2.1.1.5.0 s {marker}",
    )  # fmt: skip
    (trap,) = await harness.traps_with(marker)
    assert (trap.version, trap.trap_name, trap.uptime, trap.device) == ("v1", "linkUp", 4242, DEVICE)
    names = {v.name: v.value for v in trap.varbinds}
    assert names["snmpTrapAddress.0"] == SENDER
    assert names["snmpTrapEnterprise.0"] == "1.3.6.1.4.1.8072.3.2.10"


async def test_v1_enterprise_specific_trap(harness: Harness) -> None:
    marker = f"v1e-{MARK}"
    await harness.send(
        "-v", "1", "-c", "public", f"1.3.6.1.4.1.8072.4 {SENDER} 6 2 77 1.3.6.1.2.1.1.5.0 s {marker}"
    )
    (trap,) = await harness.traps_with(marker)
    assert trap.trap_oid == "1.3.6.1.4.1.8072.4.0.2"
    assert trap.trap_name == "nsNotifyShutdown"  # NET-SNMP-AGENT-MIB, an enterprise trap by name


async def test_v3_authpriv_trap(harness: Harness) -> None:
    marker = f"v3-{MARK}"
    await harness.send(
        "-v", "3", "-e", ENGINE_ID, *V3, f"'' 1.3.6.1.6.3.1.1.5.1 1.3.6.1.2.1.1.5.0 s {marker}"
    )
    (trap,) = await harness.traps_with(marker)
    assert (trap.version, trap.trap_name, trap.security_name, trap.device) == (
        "v3",
        "coldStart",
        "nvtrap",
        DEVICE,
    )


async def test_informs_are_acknowledged_after_publishing(harness: Harness) -> None:
    marker = f"inf-{MARK}"
    # snmpinform exits 0 only when the Response came back.
    await harness.send(
        "--inform",
        "-v",
        "2c",
        "-c",
        "public",
        "-t",
        "3",
        "-r",
        "1",
        f"'' {LINK_DOWN} 1.3.6.1.2.1.1.5.0 s {marker}",
    )
    await harness.send(
        "--inform", "-v", "3", *V3, "-t", "3", "-r", "1", f"'' {LINK_DOWN} 1.3.6.1.2.1.1.5.0 s {marker}-v3"
    )
    traps = await harness.traps_with(marker, 2)
    assert {(t.version, t.inform) for t in traps} == {("v2c", True), ("v3", True)}
    assert harness.svc.stats.counts["informs_acked"] == 2


async def test_wrong_community_and_wrong_user_are_refused_and_counted(harness: Harness) -> None:
    bad = f"bad-{MARK}"
    await harness.send("-v", "2c", "-c", "not-allowed", f"'' {LINK_DOWN} 1.3.6.1.2.1.1.5.0 s {bad}")
    wrong_user = ["-u", "intruder", *V3[2:]]
    await harness.send("-v", "3", "-e", ENGINE_ID, *wrong_user, f"'' {LINK_DOWN} 1.3.6.1.2.1.1.5.0 s {bad}")
    # a known user from an engine id that is not configured: pysnmp alone would drop it silently
    await harness.send(
        "-v", "3", "-e", "0x80001f8880deadbeef", *V3, f"'' {LINK_DOWN} 1.3.6.1.2.1.1.5.0 s {bad}"
    )
    wrong_key = [*V3[:7], "wrongpass123", *V3[8:]]
    await harness.send("-v", "3", "-e", ENGINE_ID, *wrong_key, f"'' {LINK_DOWN} 1.3.6.1.2.1.1.5.0 s {bad}")
    good = f"after-{MARK}"
    await harness.send("-v", "2c", "-c", "public", f"'' {LINK_DOWN} 1.3.6.1.2.1.1.5.0 s {good}")
    await harness.traps_with(good)
    await asyncio.sleep(1.0)
    await harness.poll()
    assert not [t for t in harness.traps if any(bad in v.value for v in t.varbinds)]
    counts = harness.svc.stats.counts
    assert counts["refused.v2c.community"] == 1
    assert counts["refused.v3.unknown_user"] == 2  # (engine id, user) pairs: unknown user, unknown engine
    assert counts["refused.v3.wrong_digest"] == 1
    assert harness.svc.metrics_port is not None
    async with httpx.AsyncClient() as client:
        body = (await client.get(f"http://127.0.0.1:{harness.svc.metrics_port}/metrics", timeout=5)).text
    assert 'netvigil_traps_refused_total{reason="community",version="v2c"}' in body
    assert 'netvigil_traps_refused_total{reason="unknown_user",version="v3"}' in body


async def test_malformed_datagrams_are_dead_lettered_and_survived(harness: Harness) -> None:
    junk = [
        f"junk-{MARK}".encode(),
        bytes.fromhex("30820fff020101") + MARK.encode(),
        b"\x30\x00" + MARK.encode(),
    ]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for payload in junk:
            s.sendto(payload, ("127.0.0.1", harness.svc.port))
    marker = f"alive-{MARK}"
    await harness.send("-v", "2c", "-c", "public", f"'' {LINK_DOWN} 1.3.6.1.2.1.1.5.0 s {marker}")
    await harness.traps_with(marker)
    wanted = {base64.b64encode(p).decode() for p in junk}
    deadline = asyncio.get_running_loop().time() + 20
    while {d.payload_b64 for d in harness.dead if d.origin == "traps"} < wanted:
        assert asyncio.get_running_loop().time() < deadline, f"dead letters: {harness.dead}"
        await harness.poll()
    got = [d for d in harness.dead if d.payload_b64 in wanted]
    assert all(d.reason and d.source and d.source.startswith("127.0.0.1:") for d in got)
    assert harness.svc.stats.counts["malformed"] == len(junk)

"""util-linux `logger` -> the syslog receiver -> Kafka, parsed (no mocks).

Each test starts the receiver in-process on free ports, positions a consumer
at the end of the shared ``syslog`` topic, sends with `logger` (RFC 3164 and
5424, UDP and TCP, octet counting) or a raw socket (garbage, vendor lines),
and waits for records carrying a marker unique to this run.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator

import msgspec
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from ingest.syslog.service import Receiver, receiver
from netvigil.db import connect
from netvigil.inventory import Device, remove_device, upsert_device
from netvigil.records import SyslogMessage
from netvigil.settings import Settings
from netvigil.topics import decode

MARK = uuid.uuid4().hex[:10]
DEVICE_ADDR = "127.63.91.17"  # a sender address no other test uses
DEVICE = f"syslog-test-{MARK}"


@pytest.fixture(scope="module")
def device(stack: Settings) -> Iterator[str]:
    with connect(stack) as conn:
        upsert_device(conn, Device(name=DEVICE, address=DEVICE_ADDR, tags={"site": "test"}))
        conn.commit()
    yield DEVICE
    with connect(stack) as conn:
        remove_device(conn, DEVICE)
        conn.commit()


def _free_port_settings(settings: Settings) -> Settings:
    c = msgspec.structs.replace(settings.collector, syslog_udp_port=0, syslog_tcp_port=0)
    return msgspec.structs.replace(settings, collector=c)


class Harness:
    def __init__(self, rx: Receiver, consumer: AIOKafkaConsumer) -> None:
        self.rx = rx
        self.consumer = consumer
        self.seen: list[SyslogMessage] = []

    async def wait_for(self, marker: str, count: int, within: float = 20.0) -> list[SyslogMessage]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while loop.time() < deadline:
            got = [m for m in self.seen if marker in m.raw]
            if len(got) >= count:
                return got
            batch = await self.consumer.getmany(timeout_ms=500)
            for records in batch.values():
                self.seen += [decode("syslog", r.value) for r in records if r.value]
        raise AssertionError(f"{marker}: wanted {count}, got {[m.raw for m in self.seen if marker in m.raw]}")


@pytest.fixture
async def harness(stack: Settings, device: str) -> AsyncIterator[Harness]:
    settings = _free_port_settings(stack)
    topic = settings.topic("syslog")
    meta = AIOKafkaProducer(bootstrap_servers=settings.kafka.bootstrap)
    await meta.start()
    try:
        parts = [TopicPartition(topic, p) for p in sorted(await meta.partitions_for(topic))]
    finally:
        await meta.stop()
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka.bootstrap, enable_auto_commit=False)
    await consumer.start()
    consumer.assign(parts)
    await consumer.seek_to_end(*parts)
    for tp in parts:
        await consumer.position(tp)
    stop = asyncio.Event()
    try:
        async with receiver(settings, stop) as rx:
            yield Harness(rx, consumer)
    finally:
        await consumer.stop()


async def _logger(*args: str) -> None:
    proc = await asyncio.create_subprocess_exec(
        "logger", *args, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    _out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()


async def test_logger_rfc3164_udp(harness: Harness) -> None:
    port = str(harness.rx.udp_port)
    mark = f"m3164u-{MARK}"
    await _logger("--rfc3164", "-d", "-n", "127.0.0.1", "-P", port, "-t", "nvtest", "-p", "local3.err", mark)
    (msg,) = await harness.wait_for(mark, 1)
    assert (msg.format, msg.transport, msg.facility, msg.severity) == ("rfc3164", "udp", 19, 3)
    assert msg.app == "nvtest"
    assert msg.hostname == socket.gethostname()
    assert msg.message == mark
    assert msg.source == "127.0.0.1"
    assert msg.timestamp is not None and abs(msg.timestamp - msg.ts) < 5


async def test_logger_rfc5424_tcp_octet_count_with_structured_data(harness: Harness) -> None:
    port = str(harness.rx.tcp_port)
    mark = f"m5424t-{MARK}"
    await _logger(
        "--rfc5424", "-T", "--octet-count", "-n", "127.0.0.1", "-P", port, "-t", "nvapp", "--msgid", "ID47",
        "--sd-id", "zoo@32473", "--sd-param", 'tiger="hungry \\"now\\""', "-p", "user.warning", "-i", mark,
    )  # fmt: skip
    (msg,) = await harness.wait_for(mark, 1)
    assert (msg.format, msg.transport, msg.facility, msg.severity) == ("rfc5424", "tcp", 1, 4)
    assert (msg.app, msg.msgid) == ("nvapp", "ID47")
    assert msg.procid is not None and msg.procid.isdigit()
    assert msg.structured_data["zoo@32473"] == {"tiger": 'hungry "now"'}
    assert "timeQuality" in msg.structured_data  # logger adds it
    assert msg.message == mark


async def test_logger_rfc5424_udp_and_tcp_newline_framing(harness: Harness) -> None:
    mark = f"mnl-{MARK}"
    await _logger("--rfc5424", "-d", "-n", "127.0.0.1", "-P", str(harness.rx.udp_port), f"{mark} a")
    await _logger("--rfc5424", "-T", "-n", "127.0.0.1", "-P", str(harness.rx.tcp_port), f"{mark} b")
    got = await harness.wait_for(mark, 2)
    assert sorted((m.transport, m.format, m.message) for m in got) == [
        ("tcp", "rfc5424", f"{mark} b"),
        ("udp", "rfc5424", f"{mark} a"),
    ]


async def test_garbage_and_vendor_lines_arrive_and_device_is_matched(harness: Harness) -> None:
    mark = f"mgb-{MARK}"
    lines = [
        f"garbage without any header {mark}".encode(),
        f"<189>12: *Mar  1 00:01:02.345: %LINK-3-UPDOWN: Interface Gi0/1 {mark}, changed state to up".encode(),
        f"<29>Nov 25 00:58:12 fw01 mgd[1234]: UI_COMMIT: {mark}".encode(),
        b"\xff\xfe not utf-8 " + mark.encode(),
    ]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((DEVICE_ADDR, 0))
        for line in lines:
            s.sendto(line, ("127.0.0.1", harness.rx.udp_port))
    with socket.create_connection(("127.0.0.1", harness.rx.tcp_port), source_address=(DEVICE_ADDR, 0)) as t:
        t.sendall(b"".join(b"%d %s" % (len(x), x) for x in lines[:2]))
    got = await harness.wait_for(mark, 6)
    assert all(m.device == DEVICE for m in got)
    formats = sorted((m.transport, m.format) for m in got)
    assert formats == sorted(
        [
            ("udp", "raw"),
            ("udp", "cisco"),
            ("udp", "juniper"),
            ("udp", "raw"),
            ("tcp", "raw"),
            ("tcp", "cisco"),
        ]
    )
    bad = next(m for m in got if "\\xff" in m.raw)
    assert bad.format == "raw" and "\ufffd" in bad.message
    snap = harness.rx.stats.snapshot()
    assert snap["raw"] >= 3 and snap["published"] >= 6

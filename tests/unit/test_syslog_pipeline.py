"""Pipeline accounting with a stand-in publisher: published only when acknowledged, retries, overflow, pauses."""

from __future__ import annotations

import asyncio
from typing import Any

from prometheus_client import generate_latest

from ingest.syslog.devices import DeviceMatcher
from ingest.syslog.pipeline import Pipeline
from ingest.syslog.stats import SyslogStats, register, unregister
from netvigil.inventory import Device


class FakePublisher:
    def __init__(self) -> None:
        self.fail_next = 0
        self.sent: list[tuple[bytes | None, bytes]] = []

    async def send_encoded_batch(self, topic: str, items: list[tuple[bytes | None, bytes]]) -> list[Any]:
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        if self.fail_next:
            self.fail_next -= 1
            fut.set_exception(RuntimeError("broker gone"))
        else:
            self.sent += items
            fut.set_result(None)
        return [fut]


class FakeTransport:
    def __init__(self) -> None:
        self.paused = False

    def pause_reading(self) -> None:
        self.paused = True

    def resume_reading(self) -> None:
        self.paused = False

    def is_closing(self) -> bool:
        return False


def _pipeline(max_pending: int = 1000) -> tuple[Pipeline, FakePublisher, SyslogStats]:
    pub = FakePublisher()
    stats = SyslogStats()
    matcher = DeviceMatcher([Device(name="fw01", address="10.0.0.2")])
    return Pipeline(pub, matcher, stats, max_pending=max_pending), pub, stats  # type: ignore[arg-type]


async def test_published_counts_only_acknowledged_and_failed_batches_are_retried() -> None:
    pipe, pub, stats = _pipeline()
    pub.fail_next = 1
    for k in range(5):
        pipe.submit(b"<13>Nov 25 00:00:00 h app: m%d" % k, "10.0.0.2", "udp")
    pipe.submit(b"junk", "10.9.9.9", "tcp")
    await pipe.drain(grace=5)
    assert stats.published == 6 and stats.pending == 0
    assert stats.errors["kafka"] == 1
    assert stats.parsed == {"rfc3164": 5, "raw": 1}
    assert stats.received == {"udp": 5, "tcp": 1}
    assert len(pub.sent) == 6 and pub.sent[0][0] == b"10.0.0.2"
    assert b'"device":"fw01"' in pub.sent[0][1]


async def test_udp_overflow_is_counted_and_tcp_is_paused_then_resumed() -> None:
    pipe, _pub, stats = _pipeline(max_pending=3)
    for _ in range(5):
        pipe.submit(b"<13>x", "10.0.0.2", "udp")
    assert stats.errors["overflow"] == 2 and stats.pending == 3
    t = FakeTransport()
    pipe.submit(b"<13>y", "10.0.0.3", "tcp")  # TCP is never refused, only slowed down
    pipe.pause_when_full(t, t.pause_reading)
    assert t.paused
    await pipe.drain(grace=5)
    await pipe.flush_once()
    assert not t.paused and stats.published == 4


def test_counters_are_exported_to_prometheus() -> None:
    stats = SyslogStats()
    register(stats)
    try:
        stats.received["udp"] += 3
        stats.parsed["raw"] += 2
        stats.published = 7
        text = generate_latest().decode()
        assert 'netvigil_syslog_received_total{transport="udp"} 3.0' in text
        assert "netvigil_syslog_raw_total 2.0" in text
        assert "netvigil_syslog_published_total 7.0" in text
    finally:
        unregister(stats)

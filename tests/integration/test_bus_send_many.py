"""``Publisher.send_many`` puts records where ``send`` would: same partition, same order, same dead letters."""

from __future__ import annotations

import time
from collections import defaultdict

import msgspec
from aiokafka import AIOKafkaConsumer

from netvigil.bus import Publisher
from netvigil.kafka_admin import ensure_topics_async
from netvigil.records import AnomalyScore, DeadLetter
from netvigil.settings import Settings
from netvigil.topics import decode
from streams.testing import drop_topics, isolated


def _score(device: str, k: int) -> AnomalyScore:
    return AnomalyScore(
        device=device, metric="cpu_load_pct", ts=time.time(), value=float(k), score=0.5, likelihood=0.1
    )


async def _read(s: Settings, topic: str, n: int) -> dict[int, list[bytes]]:
    consumer = AIOKafkaConsumer(
        s.topic(topic), bootstrap_servers=s.kafka.bootstrap, auto_offset_reset="earliest",
        enable_auto_commit=False, group_id=None,
    )  # fmt: skip
    await consumer.start()
    out: dict[int, list[bytes]] = defaultdict(list)
    try:
        deadline = time.monotonic() + 30
        while sum(map(len, out.values())) < n and time.monotonic() < deadline:
            for tp, msgs in (await consumer.getmany(timeout_ms=500)).items():
                out[tp.partition] += [m.value for m in msgs if m.value is not None]
    finally:
        await consumer.stop()
    return out


async def test_send_many_matches_send_partition_order_and_dead_letters(stack: Settings) -> None:
    one, many = isolated(stack, "sendone", partitions=4), isolated(stack, "sendmany", partitions=4)
    records = [_score(f"dev-{k % 7}", k) for k in range(60)]
    records.insert(25, msgspec.structs.replace(_score("dev-bad", 99), v=99))  # invalid: dead-lettered by both
    try:
        for s in (one, many):
            await ensure_topics_async(s)
        async with Publisher(one) as pub:
            for r in records:
                await pub.send("anomaly", r)
            await pub.flush()
        async with Publisher(many) as pub:
            futures = await pub.send_many("anomaly", records)
            await pub.flush()
            assert futures and all(f.done() and f.exception() is None for f in futures)
            assert pub.counts["deadletter"] == 1
        want, got = await _read(one, "anomaly", 60), await _read(many, "anomaly", 60)
        assert sum(map(len, got.values())) == 60
        assert dict(got) == dict(want)  # every partition holds the same records in the same order
        dead = [decode("deadletter", v, DeadLetter) for vs in (await _read(many, "deadletter", 1)).values()
                for v in vs]  # fmt: skip
        assert [d.origin for d in dead] == ["anomaly"]
        assert "version" in dead[0].reason
    finally:
        for s in (one, many):
            await drop_topics(s)

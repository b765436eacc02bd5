"""Load and measurement pieces of the scale bench (bench/scale.py).

* :func:`produce_rounds`: time-compressed load -- whole poll rounds of every
  synthetic device, published as fast as Kafka takes them, each poll exactly
  what :func:`streams.synthetic.synthetic_poll` builds (the same record the
  SNMP collector publishes: counters, gauges, props).
* :func:`produce_live`: real-time load -- every device once a minute, spread
  evenly, ``ts`` = the wall clock at send, for latency and lag at the
  reference rate.
* :class:`Monitor`: once a second, the sink consumer group's committed
  offsets against the topics' end offsets (lag; progress = records through
  the worker *and* committed, which the pipeline does only after the rows are
  in PostgreSQL), and the RSS of each worker process.
* :class:`LatencyProbe`: consumes the ``metrics`` topic (published by the
  worker after the transaction commits) and records ``now - poll ts``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from scale_stack import rss_kb

from netvigil.bus import Publisher
from netvigil.records import MetricBatch
from netvigil.settings import Settings
from netvigil.topics import decode, encode, topic_specs
from streams.synthetic import synthetic_poll

__all__ = ["LatencyProbe", "Monitor", "percentile", "produce_live", "produce_rounds"]


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    idx = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[idx]


async def produce_rounds(
    s: Settings, devices: list[str], rounds: range, t0: float, interfaces: int
) -> tuple[int, int]:
    """Publish rounds ``rounds`` of every device; returns (polls, raw samples) acknowledged."""
    polls = samples = 0
    async with Publisher(s, linger_ms=50, client_id="scale-gen") as pub:
        for r in rounds:
            futures = []
            for d in devices:
                p = synthetic_poll(d, t0 + 60 * r, r, interfaces=interfaces)
                samples += len(p.samples)
                futures.append(await pub.send_raw("poll", encode(p), d.encode()))
            await asyncio.gather(*futures)
            polls += len(futures)
    return polls, samples


async def produce_live(
    s: Settings, devices: list[str], seconds: float, first_round: int, interfaces: int, counts: dict[str, int]
) -> None:
    """Each device once per 60 s, in 1-second slices, ts = now (the reference rate)."""
    per_s = max(1, len(devices) // 60)
    async with Publisher(s, linger_ms=20, client_id="scale-live") as pub:
        start = time.monotonic()
        tick = 0
        while time.monotonic() - start < seconds:
            i0 = (tick * per_s) % len(devices)
            rnd = first_round + (tick * per_s) // len(devices)
            futures = []
            for d in devices[i0 : i0 + per_s]:
                p = synthetic_poll(d, time.time(), rnd, interfaces=interfaces)
                counts["samples"] += len(p.samples)
                futures.append(await pub.send_raw("poll", encode(p), d.encode()))
            await asyncio.gather(*futures)
            counts["polls"] += len(futures)
            tick += 1
            await asyncio.sleep(max(0.0, start + tick - time.monotonic()))


@dataclass
class Monitor:
    """Lag and RSS once a second for one consumer group over the input topics."""

    s: Settings
    group: str
    topics: list[str]
    pids: list[int] = field(default_factory=list)
    interval: float = 1.0
    series: list[tuple[float, int, int]] = field(default_factory=list)  # (t, committed, end)
    rss: dict[int, int] = field(default_factory=dict)  # pid -> max kB
    _task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=self.s.kafka.bootstrap)
        probe = AIOKafkaConsumer(bootstrap_servers=self.s.kafka.bootstrap, enable_auto_commit=False)
        await admin.start()
        await probe.start()
        try:
            await probe.topics()  # metadata first, else end_offsets answers 0
            specs = topic_specs(self.s)
            parts = [TopicPartition(t, p) for t in self.topics for p in range(specs[t])]
            while True:
                t = time.monotonic()
                with contextlib.suppress(Exception):
                    ends = await probe.end_offsets(parts)
                    done = await admin.list_consumer_group_offsets(self.group)
                    committed = sum(o.offset for tp, o in done.items() if tp in ends and o.offset >= 0)
                    self.series.append((t, committed, sum(ends.values())))
                for pid in self.pids:
                    self.rss[pid] = max(self.rss.get(pid, 0), rss_kb(pid))
                await asyncio.sleep(max(0.0, t + self.interval - time.monotonic()))
        finally:
            await probe.stop()
            await admin.close()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def drained(self, total: int) -> bool:
        return bool(self.series) and self.series[-1][1] >= total

    def rate_window(self, total: int, lo: float = 0.1, hi: float = 0.9) -> tuple[float, float] | None:
        """(records/s, seconds) between committed reaching lo*total and hi*total."""
        t_lo = next((t for t, c, _ in self.series if c >= lo * total), None)
        t_hi = next((t for t, c, _ in self.series if c >= hi * total), None)
        if t_lo is None or t_hi is None or t_hi <= t_lo:
            return None
        return (hi - lo) * total / (t_hi - t_lo), t_hi - t_lo

    def lag_points(self, t0: float) -> list[list[float]]:
        return [[round(t - t0, 1), max(e - c, 0)] for t, c, e in self.series]


@dataclass
class LatencyProbe:
    """``now - ts`` of every MetricBatch of ``devices`` the worker publishes after its commit."""

    s: Settings
    latencies: list[float] = field(default_factory=list)
    _task: asyncio.Task[None] | None = None
    _ready: asyncio.Event = field(default_factory=asyncio.Event)

    async def _run(self) -> None:
        topic = self.s.topic("metrics")
        consumer = AIOKafkaConsumer(bootstrap_servers=self.s.kafka.bootstrap, enable_auto_commit=False)
        await consumer.start()
        try:
            await consumer.topics()  # metadata first
            parts = [TopicPartition(topic, p) for p in range(topic_specs(self.s)[topic])]
            consumer.assign(parts)
            await consumer.seek_to_end(*parts)
            self._ready.set()
            while True:
                batch: dict[Any, list[Any]] = await consumer.getmany(timeout_ms=500, max_records=5000)
                now = time.time()
                for msgs in batch.values():
                    for m in msgs:
                        rec: object = decode("metrics", m.value)
                        if isinstance(rec, MetricBatch) and now - rec.ts < 3600:
                            self.latencies.append(now - rec.ts)
        finally:
            await consumer.stop()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run())
        await asyncio.wait_for(self._ready.wait(), 30)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

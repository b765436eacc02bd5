"""Steady deterministic load and exact accounting for the fault tests.

The accounting does not trust the producer's bookkeeping alone. After a run,
the ``poll`` topic is read from the beginning and, per device in topic order
(one device = one partition = one order), :func:`streams.rates.compute` says
exactly which rows the worker must have written -- a poll that reached Kafka
twice (a producer retry) is a replay there and writes nothing, as in the
worker. Then:

* every poll the generator saw acknowledged is in the topic (nothing
  acknowledged lost on the way in), and
* ``metric_samples`` holds exactly the expected rows for those devices, each
  (series, ts) once (nothing lost on the way out, nothing stored twice).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from subprocess import Popen

from aiokafka import AIOKafkaConsumer, TopicPartition
from scale_stack import free_port, spawn_netvigil

from netvigil.bus import Publisher
from netvigil.db import connect
from netvigil.records import DevicePoll
from netvigil.settings import Settings
from netvigil.topics import decode, encode, topic_specs
from streams.rates import DeviceState, compute
from streams.synthetic import synthetic_poll

__all__ = ["LOGS", "Chaos", "Load", "count_rows", "expected_rows", "topic_polls", "wait_rows"]

log = logging.getLogger(__name__)
LOGS = Path(__file__).resolve().parents[2] / ".local" / "chaos" / "logs"


@dataclass
class Chaos:
    """The private stack, and the worker and SNMP collector that run through every fault.

    The collector polls ``collector_prefix*`` devices (a real snmpd) every
    second for the whole session, so every fault test also checks that it
    survived the outage by itself and that its polls were stored exactly once.
    """

    env: dict[str, str]
    settings: Settings
    collector_prefix: str = ""
    worker: Popen[bytes] | None = None
    collector: Popen[bytes] | None = None
    restarts: list[str] = field(default_factory=list)

    def start_collector(self) -> None:
        log = LOGS / f"{self.settings.streams.app_id}-collector.log"
        self.collector = spawn_netvigil(self.env, ["collect", "snmp"], log)

    @property
    def worker_log(self) -> Path:
        return LOGS / f"{self.settings.streams.app_id}-worker.log"

    def start_worker(self) -> None:
        args = ["worker", "--web-port", str(free_port()), "--metrics-port", str(free_port()),
                "--data-dir", str(LOGS / self.settings.streams.app_id)]  # fmt: skip
        self.worker = spawn_netvigil(self.env, args, self.worker_log)

    def log_tail(self, n: int = 4000) -> str:
        try:
            return self.worker_log.read_text(errors="replace")[-n:]
        except OSError:
            return "(no worker log)"


@dataclass
class Load:
    """``devices`` polled in rounds every ``period`` s (ts advancing 60 s a round)."""

    s: Settings
    devices: list[str]
    rounds: int
    period: float = 0.5
    t0: float = 1_760_000_000.0
    acked: set[tuple[str, float]] = field(default_factory=set)
    failed: int = 0

    async def _send(self, pub: Publisher, p: DevicePoll) -> None:
        try:
            fut = await pub.send_raw("poll", encode(p), p.device.encode())
            await fut
            self.acked.add((p.device, p.ts))
        except Exception as exc:  # Kafka down: not acknowledged, so not owed
            self.failed += 1
            log.info("send failed (%s): %s", p.device, type(exc).__name__)

    async def run(self) -> None:
        pub = Publisher(self.s, linger_ms=5, client_id="chaos-load")
        await pub.start()
        try:
            start = time.monotonic()
            pending: list[asyncio.Task[None]] = []
            for r in range(self.rounds):
                polls = [synthetic_poll(d, self.t0 + 60 * r, r, interfaces=2) for d in self.devices]
                pending += [asyncio.create_task(self._send(pub, p)) for p in polls]
                await asyncio.sleep(max(0.0, start + (r + 1) * self.period - time.monotonic()))
            await asyncio.gather(*pending)
        finally:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(pub.stop(), 30)


async def topic_polls(s: Settings, prefix: str) -> dict[str, list[DevicePoll]]:
    """Every poll of devices named ``prefix*`` in the poll topic, per device in offset order."""
    topic = s.topic("poll")
    parts = [TopicPartition(topic, p) for p in range(topic_specs(s)[topic])]
    consumer = AIOKafkaConsumer(bootstrap_servers=s.kafka.bootstrap, enable_auto_commit=False)
    await consumer.start()
    out: dict[str, list[DevicePoll]] = defaultdict(list)
    try:
        await consumer.topics()  # metadata first, else end_offsets answers 0
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        ends = await consumer.end_offsets(parts)
        left = {tp for tp in parts if ends[tp] > 0}
        while left:
            batch = await consumer.getmany(timeout_ms=1000)
            for tp, msgs in batch.items():
                if msgs and msgs[-1].offset + 1 >= ends[tp]:
                    left.discard(tp)
                for m in msgs:
                    if m.offset >= ends[tp]:
                        continue
                    if m.key and m.key.decode().startswith(prefix):
                        rec = decode("poll", m.value)
                        assert isinstance(rec, DevicePoll)
                        out[rec.device].append(rec)
    finally:
        await consumer.stop()
    return dict(out)


def expected_rows(polls: dict[str, list[DevicePoll]]) -> int:
    n = 0
    for seq in polls.values():
        state: DeviceState | None = None
        for p in seq:
            res = compute(state, p)
            state = res.state
            if not res.replay and res.batch is not None:
                n += len(res.batch.metrics)
    return n


def count_rows(s: Settings, prefix: str, until: float = 1e12) -> tuple[int, int]:
    """(rows, distinct (series, ts)) in metric_samples for devices ``prefix*`` (ts <= ``until``)."""
    with connect(s) as conn:
        row = conn.execute(
            "SELECT count(*), count(DISTINCT (m.series_id, m.ts)) FROM metric_samples m"
            " JOIN series x ON x.id = m.series_id WHERE x.device LIKE %s AND m.ts <= to_timestamp(%s)",
            (prefix + "%", until),
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


async def wait_rows(
    s: Settings, prefix: str, expected: int, limit_s: float, until: float = 1e12
) -> tuple[int, int]:
    """Poll the row count until it reaches ``expected`` (or ``limit_s``), then settle and recount."""
    deadline = time.monotonic() + limit_s
    got = (0, 0)
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):  # the database may still be coming back
            got = count_rows(s, prefix, until)
            if got[0] >= expected:
                break
        await asyncio.sleep(0.5)
    await asyncio.sleep(2.0)  # anything written twice would show up now
    return count_rows(s, prefix, until)


async def check_collector(c: Chaos, fault_at: float, limit_s: float = 120.0) -> None:
    """The session collector polled again after ``fault_at`` (by itself), and every poll of it
    that reached Kafka up to a cut-off is stored exactly once."""
    deadline = time.monotonic() + limit_s
    after = 0
    while time.monotonic() < deadline:
        polls = await topic_polls(c.settings, c.collector_prefix)
        after = sum(1 for seq in polls.values() for p in seq if p.ts > fault_at + 1)
        if after >= 4:
            break
        await asyncio.sleep(1.0)
    assert after >= 4, f"the collector did not resume polling after the fault ({after} polls)"
    assert c.collector is not None and c.collector.poll() is None, "the collector died"
    cutoff = time.time() - 2.0
    polls = await topic_polls(c.settings, c.collector_prefix)
    upto = {d: [p for p in seq if p.ts <= cutoff] for d, seq in polls.items()}
    expected = expected_rows(upto)
    got = await wait_rows(c.settings, c.collector_prefix, expected, limit_s, until=cutoff)
    assert got == (expected, expected), c.log_tail()

"""The alerting consumer: its own Kafka consumer group on metrics, ping, trap and syslog.

Why not a Faust agent on the worker's own consumer: Faust agents of one app
share a consumer, so a slow alerting step would hold back the sink. A group of
its own (``<app_id>-alerting``) reads the same topics at its own pace and
starts from the newest records when new (alerting on old data is noise).

Bad records are counted and skipped here: the pipeline already routes them to
the dead-letter topic, and two copies of each dead letter would help no one.
Offsets are committed only after a flush wrote everything evaluated so far
to PostgreSQL (a database outage holds them back). After a crash the records
since the last commit are evaluated again against the state rebuilt from the
database: a repeated condition only refreshes its alert (the dedup key), and
at worst a notification is sent twice, never lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from aiokafka import AIOKafkaConsumer
from aiokafka.errors import KafkaError

from netvigil.records import Record, RecordError
from netvigil.settings import Settings
from netvigil.topics import decode
from streams.alerting import metrics as m
from streams.alerting.runtime import AlertRuntime

__all__ = ["INPUT_TOPICS", "run_consumer"]

log = logging.getLogger(__name__)

INPUT_TOPICS = ("metrics", "ping", "trap", "syslog")


async def run_consumer(
    runtime: AlertRuntime,
    settings: Settings,
    *,
    group: str | None = None,
    flush_interval: float = 0.1,
    tick_interval: float = 1.0,
    offset_reset: str = "latest",
    ready: asyncio.Event | None = None,
) -> None:
    """Consume until cancelled; evaluate, flush every ``flush_interval``, tick every ``tick_interval``."""
    names = {settings.topic(t): t for t in INPUT_TOPICS}
    consumer = AIOKafkaConsumer(
        *names,
        bootstrap_servers=settings.kafka.bootstrap,
        group_id=group or f"{settings.streams.app_id}-alerting",
        client_id="netvigil-alerting",
        auto_offset_reset=offset_reset,
        enable_auto_commit=False,
        max_poll_records=5000,
        fetch_max_wait_ms=50,
    )
    await consumer.start()
    uncommitted = False
    try:
        while not consumer.assignment():  # noqa: ASYNC110 - aiokafka offers no event for it
            await asyncio.sleep(0.05)
        for tp in consumer.assignment():
            await consumer.position(tp)  # resolves "latest" now: what is produced after ready is seen
        if ready is not None:
            ready.set()
        last_flush = last_tick = time.monotonic()
        while True:
            try:
                batches = await consumer.getmany(timeout_ms=int(flush_interval * 1000), max_records=5000)
            except KafkaError as exc:
                log.error("alerting consumer: %s", exc)
                await asyncio.sleep(1.0)
                continue
            uncommitted = uncommitted or bool(batches)
            for tp, messages in batches.items():
                topic = names.get(tp.topic, "")
                for msg in messages:
                    if msg.value is None:
                        continue
                    try:
                        record: Record = decode(topic, msg.value)
                    except RecordError:
                        m.BAD_RECORDS.labels(topic).inc()
                        continue
                    runtime.handle(topic, record)
                await asyncio.sleep(0)  # let notification workers run between partitions
            now = time.monotonic()
            if now - last_tick >= tick_interval:
                last_tick = now
                await runtime.tick()
            if now - last_flush >= flush_interval:
                last_flush = now
                if await runtime.flush() and uncommitted:
                    try:
                        await consumer.commit()
                        uncommitted = False
                    except KafkaError as exc:  # rebalance or broker trouble: the next flush retries
                        log.warning("alerting offset commit failed: %s", exc)
    finally:
        with contextlib.suppress(Exception):  # stopping: what was flushed may be committed
            if await runtime.flush() and uncommitted:
                await consumer.commit()
        await consumer.stop()

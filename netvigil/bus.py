"""Publishing typed records to Kafka, shared by every collector.

One producer per process, idempotent (``enable_idempotence``: a retried send
is not written twice) with ``acks=all``; records are encoded by
:mod:`netvigil.topics` and keyed by device so one device stays on one
partition. A record that fails validation on the way out is not sent to its
topic but to the dead-letter topic with the reason: producers validate too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections import Counter
from collections.abc import Sequence
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import murmur2

from netvigil.records import Record, RecordError
from netvigil.settings import Settings
from netvigil.topics import TOPICS, dead_letter, encode, key_for

__all__ = ["Publisher", "start_publisher"]

log = logging.getLogger(__name__)


class Publisher:
    """``async with Publisher(settings) as pub: await pub.send("poll", record)``."""

    def __init__(self, settings: Settings, *, linger_ms: int = 20, client_id: str = "netvigil") -> None:
        self.settings = settings
        self.counts: Counter[str] = Counter()
        # (topic, partition count, key) -> partition: murmur2 is pure Python (~20 us a key) and the
        # same keys (device names) come back batch after batch. Cleared when it grows too big.
        self._partition_of: dict[tuple[str, int, bytes], int] = {}
        self._producer = AIOKafkaProducer(
            bootstrap_servers=settings.kafka.bootstrap,
            client_id=client_id,
            acks="all",
            enable_idempotence=True,
            linger_ms=linger_ms,
            max_batch_size=1 << 20,
            max_request_size=8 << 20,
            compression_type=None,
            request_timeout_ms=30000,
        )

    async def start(self) -> None:
        await self._producer.start()

    async def stop(self) -> None:
        await self._producer.stop()

    async def __aenter__(self) -> Publisher:
        await self.start()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.stop()

    async def send(self, topic: str, record: Record, *, wait: bool = False) -> None:
        """Queue one record (validated) for ``topic``; ``wait`` blocks until acknowledged.

        Without ``wait`` the send is batched; call :meth:`flush` before
        acknowledging anything upstream (an SNMP inform, a TCP syslog batch).
        """
        payload = await self._checked(topic, record)
        if payload is None:
            return
        fut = await self._producer.send(self.settings.topic(topic), payload, key=key_for(record, topic))
        self.counts[topic] += 1
        if wait:
            await fut

    async def send_many(self, topic: str, records: Sequence[Record]) -> list[asyncio.Future[Any]]:
        """:meth:`send` for many records of ``topic``, sent as whole producer batches.

        Each record is checked and validated as :meth:`send` does (an invalid
        one goes to the dead-letter topic with its reason) and keyed the same
        way, so every record lands on the partition ``send`` would choose, in
        order; the rest go out through :meth:`send_encoded_batch` (one
        producer call per partition batch instead of ~50 us per record).
        Returns the delivery futures of the batches (not awaited here).
        """
        items: list[tuple[bytes | None, bytes]] = []
        for record in records:
            payload = await self._checked(topic, record)
            if payload is not None:
                items.append((key_for(record, topic), payload))
        return await self.send_encoded_batch(topic, items) if items else []

    async def _checked(self, topic: str, record: Record) -> bytes | None:
        """``record`` encoded if it is valid for ``topic``; None once an invalid one is dead-lettered.

        A record of the wrong type is a programming error (TypeError), not bad input.
        """
        if TOPICS[topic].record is not type(record):
            raise TypeError(
                f"topic {topic} carries {TOPICS[topic].record.__name__}, not {type(record).__name__}"
            )
        payload = encode(record)
        try:
            record.validate()
        except RecordError as exc:
            await self.send_dead_letter(topic, exc.reason, payload)
            return None
        return payload

    async def send_raw(self, topic: str, payload: bytes, key: bytes | None) -> asyncio.Future[Any]:
        """Send pre-encoded bytes (benchmarks and replays); returns the delivery future."""
        self.counts[topic] += 1
        fut: asyncio.Future[Any] = await self._producer.send(self.settings.topic(topic), payload, key=key)
        return fut

    async def send_encoded_batch(
        self, topic: str, items: Sequence[tuple[bytes | None, bytes]]
    ) -> list[asyncio.Future[Any]]:
        """Send pre-encoded records as whole producer batches; returns one future per batch.

        For high-rate collectors (syslog: tens of thousands of records a second)
        where per-record ``send`` costs too much. Records must already be valid
        for ``topic``. Partitions are chosen as the default partitioner does
        (murmur2 of the key), so a key lands where :meth:`send` would put it.
        """
        name = self.settings.topic(topic)
        partitions = sorted(await self._producer.partitions_for(name))
        by_part: dict[int, list[tuple[bytes | None, bytes]]] = {}
        cache = self._partition_of
        if len(cache) > 1_000_000:
            cache.clear()
        n = len(partitions)
        for key, value in items:
            if key is None:
                part = partitions[random.randrange(len(partitions))]  # noqa: S311 - load spreading
            else:
                part = cache.get((name, n, key), -1)
                if part < 0:
                    part = cache[(name, n, key)] = partitions[(murmur2(key) & 0x7FFFFFFF) % n]
            by_part.setdefault(part, []).append((key, value))
        futures: list[asyncio.Future[Any]] = []
        for part, records in by_part.items():
            batch = self._producer.create_batch()
            for key, value in records:
                if batch.append(key=key, value=value, timestamp=None) is None:
                    futures.append(await self._producer.send_batch(batch, name, partition=part))
                    batch = self._producer.create_batch()
                    batch.append(key=key, value=value, timestamp=None)
            futures.append(await self._producer.send_batch(batch, name, partition=part))
        self.counts[topic] += len(items)
        return futures

    async def send_dead_letter(
        self, origin: str, reason: str, payload: bytes, source: str | None = None
    ) -> None:
        self.counts["deadletter"] += 1
        log.warning("dead-lettered input from %s: %s", origin, reason)
        record = dead_letter(origin, reason, payload, source)
        await self._producer.send(self.settings.topic("deadletter"), encode(record), key=origin.encode())

    async def flush(self) -> None:
        await self._producer.flush()


async def start_publisher(
    settings: Settings, stop: asyncio.Event, client_id: str, **kw: Any
) -> Publisher | None:
    """A started Publisher, retrying while Kafka is unreachable (None if stopped first).

    A collector started before its broker (a reboot, a deploy) waits for it
    instead of exiting; each failed attempt is logged, with back-off to 30 s.
    """
    delay = 1.0
    while not stop.is_set():
        pub = Publisher(settings, client_id=client_id, **kw)
        try:
            await pub.start()
            return pub
        except Exception as exc:  # aiokafka: KafkaConnectionError and friends
            log.warning(
                "Kafka %s not reachable (%s); retrying in %.0f s", settings.kafka.bootstrap, exc, delay
            )
            with contextlib.suppress(Exception):
                await pub.stop()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), delay)
        delay = min(delay * 2, 30.0)
    return None

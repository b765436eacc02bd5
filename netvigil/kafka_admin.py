"""Kafka topic administration, broker readiness and a round-trip check, for the stack and the apps.

Why explicit topic creation although the local broker auto-creates topics:
auto-created topics get the broker's default partition count and whatever
name a typo produced. Creating the project's topics up front, from one table
(:func:`netvigil.topics.topic_specs`), gives every environment (local stack
or production) the same partitioning, and makes a missing topic in
production an error at start-up rather than a silent auto-create.

Everything here is async (aiokafka); thin synchronous wrappers exist for the
CLI and the stack manager, which are not async. They work even when called
from inside a running event loop (tests, notebooks) by using a worker thread.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import time
import uuid
from collections.abc import Coroutine
from typing import Any, TypeVar

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.client import AIOKafkaClient
from aiokafka.errors import KafkaError, for_code

from netvigil.settings import Settings

__all__ = [
    "RoundTripError",
    "broker_count",
    "ensure_topics",
    "ensure_topics_async",
    "round_trip",
    "run_sync",
    "wait_for_broker",
]

log = logging.getLogger(__name__)

T = TypeVar("T")

# Kafka error code 36: the topic was created concurrently (another process or
# an auto-create raced us). For "ensure" semantics that is success.
TOPIC_ALREADY_EXISTS = 36


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to completion from synchronous code.

    ``asyncio.run`` refuses to run inside a running loop, which is exactly
    where pytest-asyncio tests and notebooks call the stack from; in that case
    the coroutine gets its own loop in a short-lived worker thread.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


async def broker_count(bootstrap: str, request_timeout: float = 2.0) -> int:
    """Brokers listed in one metadata response from ``bootstrap`` (0 when none answers).

    A metadata answer, not an open port: a KRaft broker accepts TCP a little
    before it has registered with its controller, and clients only work once
    it lists itself.
    """
    timeout_ms = max(int(request_timeout * 1000), 100)
    client = AIOKafkaClient(
        bootstrap_servers=bootstrap,
        request_timeout_ms=timeout_ms,
        client_id="netvigil-probe",
    )
    try:
        async with asyncio.timeout(request_timeout):
            await client.bootstrap()
            return len(client.cluster.brokers())
    except (KafkaError, OSError, TimeoutError) as exc:
        log.debug("no metadata from %s: %s", bootstrap, exc)
        return 0
    finally:
        await client.close()


async def wait_for_broker(bootstrap: str, timeout: float) -> None:  # noqa: ASYNC109
    """Return once ``bootstrap`` answers a metadata request; TimeoutError after ``timeout`` s.

    Apps start alongside the broker (or after a broker restart); waiting here
    gives one clear error instead of aiokafka's retry noise. (``timeout`` is
    a parameter, not left to ``asyncio.timeout``, because it also bounds each
    probe so a hung connect cannot eat the whole budget.)
    """
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if await broker_count(bootstrap, request_timeout=min(2.0, max(left, 0.1))) > 0:
            return
        if time.monotonic() >= deadline:
            raise TimeoutError(f"Kafka at {bootstrap} did not answer within {timeout:.0f}s")
        await asyncio.sleep(0.5)


class RoundTripError(RuntimeError):
    """A produce/consume round trip failed; the message says which half and why."""


async def round_trip(bootstrap: str, topic: str, limit: float = 30.0) -> None:
    """Produce one unique record to ``topic`` and read exactly that record back.

    The strongest cheap proof that a cluster works end to end (metadata,
    topic auto-creation or existence, leader election, the log, fetch); an
    open port or a metadata answer proves much less. ``limit`` bounds each
    half in seconds.
    """
    payload = f"netvigil-check-{uuid.uuid4().hex}".encode()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", request_timeout_ms=int(limit * 1000))
    try:
        async with asyncio.timeout(limit):
            await producer.start()
            meta = await producer.send_and_wait(topic, payload)
    except (KafkaError, OSError, TimeoutError) as exc:
        raise RoundTripError(f"producing to {topic} at {bootstrap} failed: {exc!r}") from None
    finally:
        await producer.stop()
    where = f"{topic}[{meta.partition}]@{meta.offset}"
    tp = TopicPartition(topic, meta.partition)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    try:
        async with asyncio.timeout(limit):
            await consumer.start()
            consumer.assign([tp])
            consumer.seek(tp, meta.offset)
            record = await consumer.getone(tp)
    except (KafkaError, OSError, TimeoutError) as exc:
        raise RoundTripError(f"consuming {where} at {bootstrap} failed: {exc!r}") from None
    finally:
        await consumer.stop()
    if record.value != payload:
        raise RoundTripError(f"read back {record.value!r} from {where}, expected {payload!r}")


def _default_specs(settings: Settings) -> dict[str, int]:
    from netvigil.topics import topic_specs  # local: topics is optional for stack use

    specs: dict[str, int] = topic_specs(settings)
    return specs


async def ensure_topics_async(
    settings: Settings, specs: dict[str, int] | None = None, request_timeout: float = 30.0
) -> list[str]:
    """Create the topics in ``specs`` (full name -> partitions) that do not exist yet.

    Idempotent: existing topics are left alone, and a topic created by
    someone else between our listing and our request counts as present.
    An existing topic with fewer partitions than asked is only logged:
    adding partitions silently would move keys to other partitions and
    break per-device ordering, so that stays a deliberate operator action.
    Returns the names actually created.
    """
    wanted = _default_specs(settings) if specs is None else dict(specs)
    if not wanted:
        return []
    admin = AIOKafkaAdminClient(
        bootstrap_servers=settings.kafka.bootstrap,
        request_timeout_ms=int(request_timeout * 1000),
        client_id="netvigil-admin",
    )
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = {name: parts for name, parts in wanted.items() if name not in existing}
        await _warn_on_fewer_partitions(admin, wanted, existing)
        if not missing:
            return []
        new = [
            NewTopic(name, num_partitions=parts, replication_factor=settings.kafka.replication)
            for name, parts in sorted(missing.items())
        ]
        response = await admin.create_topics(new, timeout_ms=int(request_timeout * 1000))
        created: list[str] = []
        for entry in response.topic_errors:
            name, code = entry[0], entry[1]
            if code == 0:
                created.append(name)
            elif code != TOPIC_ALREADY_EXISTS:
                message = entry[2] if len(entry) > 2 and entry[2] else for_code(code).__name__
                raise KafkaError(f"creating topic {name} failed: {message}")
        if created:
            log.info("created Kafka topics: %s", ", ".join(created))
        return sorted(created)
    finally:
        await admin.close()


async def _warn_on_fewer_partitions(
    admin: AIOKafkaAdminClient, wanted: dict[str, int], existing: set[str]
) -> None:
    present = [name for name in wanted if name in existing]
    if not present:
        return
    for topic in await admin.describe_topics(present):
        name = topic["topic"]
        have = len(topic["partitions"])
        if have < wanted[name]:
            log.warning(
                "topic %s has %d partitions, %d wanted; not changed automatically",
                name,
                have,
                wanted[name],
            )


def ensure_topics(settings: Settings, specs: dict[str, int] | None = None) -> list[str]:
    """Synchronous :func:`ensure_topics_async` for the CLI and the stack manager."""
    return run_sync(ensure_topics_async(settings, specs))

"""Small checks at the pipeline's intake: partition leaders of new topics, sane timestamps."""

from __future__ import annotations

import asyncio
import logging
import time

from aiokafka import TopicPartition
from aiokafka.client import AIOKafkaClient

from netvigil.records import Record, RecordError
from netvigil.settings import Settings

__all__ = ["check_time", "wait_for_leaders"]

log = logging.getLogger(__name__)


async def wait_for_leaders(settings: Settings, topics: list[str], limit_s: float = 15.0) -> None:
    """Return once every partition of ``topics`` has a leader (a consumer assigned
    leaderless partitions of a just-created topic stalls for its metadata max age)."""
    client = AIOKafkaClient(bootstrap_servers=settings.kafka.bootstrap, client_id="netvigil-leaders")
    await client.bootstrap()
    try:
        deadline = time.monotonic() + limit_s
        while time.monotonic() < deadline:
            cluster = await client.fetch_all_metadata()
            ready = all(
                (parts := cluster.partitions_for_topic(t))
                and all((cluster.leader_for_partition(TopicPartition(t, p)) or -1) >= 0 for p in parts)
                for t in topics
            )
            if ready:
                return
            await asyncio.sleep(0.2)
        log.warning("partitions of %d new topics still without leaders after %.0fs", len(topics), limit_s)
    finally:
        await client.close()


# PostgreSQL rejects a timestamp past year 294276 and the partitions expect
# the present: a record from 1970 or the far future is a sender's clock bug, and
# writing it would fail the whole transaction again and again (a poison pill).
_MIN_TS = 946684800.0  # 2000-01-01
_MAX_AHEAD = 86400.0


def check_time(rec: Record, now: float) -> None:
    ts = getattr(rec, "ts", None)
    if ts is not None and not (_MIN_TS <= ts <= now + _MAX_AHEAD):
        raise RecordError(f"timestamp {ts!r} outside 2000-01-01 .. now + 1 day")

"""Parse, encode and batch messages to Kafka, with bounded memory and nothing silent.

Listeners call :meth:`Pipeline.submit` synchronously for every message (no
task per message: at 50,000/s a task each would cost more than the parse).
A flusher sends what accumulated every ``linger`` seconds as whole producer
batches (:meth:`Publisher.send_encoded_batch`) and counts a record as
published only once Kafka acknowledged it.

Nothing is dropped silently. When Kafka falls behind, pending records grow up
to ``max_pending``; above it TCP listeners pause reading (the senders block,
which is TCP's own backpressure) and UDP datagrams are counted as
``errors{reason="overflow"}``, the one place a UDP receiver can lose data. A
batch Kafka refuses is retried until it is accepted or the receiver stops.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any, Literal

from ingest.syslog.devices import DeviceMatcher
from ingest.syslog.parse import parse
from ingest.syslog.stats import SyslogStats
from netvigil.bus import Publisher
from netvigil.topics import encode

__all__ = ["Pipeline"]

log = logging.getLogger(__name__)

Item = tuple[bytes | None, bytes]


class Pipeline:
    def __init__(
        self,
        publisher: Publisher | None,
        matcher: DeviceMatcher,
        stats: SyslogStats,
        *,
        linger: float = 0.02,
        max_pending: int = 200_000,
        topic: str = "syslog",
    ) -> None:
        self.publisher = publisher
        self.matcher = matcher
        self.stats = stats
        self.linger = linger
        self.max_pending = max_pending
        self.topic = topic
        self._pending: list[Item] = []
        self._retry: list[Item] = []
        self._inflight: set[asyncio.Task[None]] = set()
        self._paused: set[Any] = set()  # TCP transports waiting for room

    @property
    def full(self) -> bool:
        return self.stats.pending >= self.max_pending

    def submit(self, data: bytes, source: str, transport: Literal["udp", "tcp"]) -> bool:
        """Parse one message and queue it; False when it was refused for lack of room (UDP)."""
        stats = self.stats
        stats.received[transport] += 1
        if transport == "udp" and stats.pending >= self.max_pending:
            stats.errors["overflow"] += 1
            return False
        try:
            msg = parse(data, received=time.time(), source=source, transport=transport)
            msg.device = self.matcher.match(source, msg.hostname)
            value = encode(msg)
        except Exception:  # the parser is total; this is a bug, counted and logged, not fatal
            stats.errors["parser"] += 1
            log.exception("syslog parser failed on %d bytes from %s", len(data), source)
            return False
        stats.parsed[msg.format] += 1
        self._pending.append((source.encode(), value))
        stats.pending += 1
        return True

    def pause_when_full(self, transport: Any, pause: Callable[[], None]) -> None:
        """TCP backpressure: stop reading ``transport`` until Kafka catches up."""
        if self.full and transport not in self._paused:
            pause()
            self._paused.add(transport)

    def forget(self, transport: Any) -> None:
        self._paused.discard(transport)

    async def run(self, stop: asyncio.Event) -> None:
        """Flush every ``linger`` until ``stop``; then flush what is left and wait for Kafka."""
        while not stop.is_set():
            await asyncio.sleep(self.linger)
            await self.flush_once()
        await self.drain()

    async def flush_once(self) -> None:
        if self.publisher is None:  # Kafka not reached yet: keep buffering (bounded by max_pending)
            return
        items = self._retry + self._pending
        self._retry = []
        self._pending = []
        if items:
            try:
                futures = await self.publisher.send_encoded_batch(self.topic, items)
            except Exception as exc:  # metadata unavailable, broker down: keep and retry
                self.stats.errors["kafka"] += 1
                log.warning("syslog: %d records not sent yet: %s", len(items), exc)
                self._retry = items
            else:
                task = asyncio.create_task(self._acknowledge(items, futures))
                self._inflight.add(task)
                task.add_done_callback(self._inflight.discard)
        if self._paused and self.stats.pending < self.max_pending // 2:
            for transport in list(self._paused):
                if not transport.is_closing():
                    transport.resume_reading()
            self._paused.clear()

    async def _acknowledge(self, items: list[Item], futures: list[asyncio.Future[Any]]) -> None:
        results = await asyncio.gather(*futures, return_exceptions=True)
        failed = [r for r in results if isinstance(r, BaseException)]
        if failed:
            # Batches are per partition; re-sending all is simpler and the producer is idempotent
            # only within a session, so a rare duplicate is the price of never losing a message.
            self.stats.errors["kafka"] += 1
            log.warning("syslog: Kafka refused a batch of %d records, retrying: %s", len(items), failed[0])
            self._retry.extend(items)
            return
        self.stats.published += len(items)
        self.stats.pending -= len(items)

    async def drain(self, grace: float = 30.0) -> None:
        """Send everything pending and wait for acknowledgements (shutdown)."""
        deadline = time.monotonic() + grace
        while (
            self.publisher is not None
            and (self._pending or self._retry or self._inflight)
            and time.monotonic() < deadline
        ):
            await self.flush_once()
            if self._inflight:
                await asyncio.wait(set(self._inflight), timeout=max(0.0, deadline - time.monotonic()))
        if self.stats.pending:
            self.stats.errors["unsent_at_stop"] += self.stats.pending
            log.error("syslog: %d records not acknowledged by Kafka at shutdown", self.stats.pending)

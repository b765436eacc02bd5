"""The persistence pipeline: poll/ping/trap/syslog -> rates -> PostgreSQL -> offsets.

Why a manual-commit aiokafka consumer inside the Faust worker rather than a
Faust agent: Faust acks an event when the agent asks for the next one and
commits acked offsets on a timer. Even ``stream.take_events()``, which defers
acks until after the batch, acks the buffered events in a ``finally``: when
the agent body fails or is cancelled (a worker stopping during a database
outage) events that were never written get committed. Here the order is
explicit and is the whole point:

1. fetch a batch (``getmany``), decode (bad input -> dead-letter topic);
2. compute rates against each device's state (cache, else PostgreSQL);
3. write everything in one PostgreSQL transaction (:class:`streams.sink.Sink`),
   retrying with back-off while the database is down -- the consumer is
   paused meanwhile but keeps polling, so it stays in its group;
4. only then: batch processors (detectors), ``metrics`` topic, Redis, and
   finally the Kafka offset commit.

A crash anywhere before 4 re-delivers the batch; the rate state written in
the same transaction as the rows makes the replay write nothing twice.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import CommitFailedError, ConsumerStoppedError, KafkaError

from netvigil.bus import Publisher
from netvigil.kafka_admin import ensure_topics_async
from netvigil.records import DevicePoll, MetricBatch, PingResult, Record, RecordError, SyslogMessage, Trap
from netvigil.settings import Settings
from netvigil.topics import decode, encode
from streams import rows as R
from streams.app import BatchProcessor, SeriesBatch
from streams.intake import check_time, wait_for_leaders
from streams.live import LiveState
from streams.monitoring import BATCH_SECONDS, CONSUMER_LAG, DB_ERRORS, RATE_EVENTS, RECORDS_IN, RECORDS_OUT
from streams.rates import DeviceState, RateConfig, compute, ping_metrics
from streams.sink import Sink, WriteSet

__all__ = ["INPUT_TOPICS", "Pipeline"]

log = logging.getLogger(__name__)

INPUT_TOPICS = ("poll", "ping", "trap", "syslog")
REJECT_AFTER = 3  # data errors in a row before a batch is dead-lettered instead of written
# CPU work on a batch yields to the event loop every this many records (a few ms): the COPY of the
# previous batch is pumped to PostgreSQL by the same loop, and a 150 ms stretch of rate
# computation without a yield stalls it (measured: COPY at 40% of its plain speed).
YIELD_EVERY = 16
_POLL_STATUS = {"ok": "up", "partial": "partial", "unreachable": "unreachable"}


@dataclass
class _Prepared:
    started: float
    offsets: dict[TopicPartition, int]
    ws: WriteSet
    out: list[MetricBatch]
    raw: list[tuple[str, bytes]]  # (topic, value) of every message: dead letters of last resort


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        # A device's state may be advanced by another worker from now on.
        async with self.pipeline.lock:
            await self.pipeline.settle()  # write and commit what was fetched while we still own it
            self.pipeline.states.clear()

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        log.info("assigned %d partitions", len(assigned))


class Pipeline:
    def __init__(
        self,
        settings: Settings,
        *,
        processors: Sequence[BatchProcessor] = (),
        live: LiveState | None = None,
        group_id: str | None = None,
        rate_config: RateConfig | None = None,
        max_backoff: float = 30.0,
    ) -> None:
        self.settings = settings
        self.processors = processors
        self.live = live
        self.group_id = group_id or f"{settings.streams.app_id}-sink"
        self.rate_config = rate_config or RateConfig()
        self.max_backoff = max_backoff
        self._refusal = ""
        self.sink = Sink(settings)
        self.states: dict[str, DeviceState | None] = {}
        self.lock = asyncio.Lock()
        self.topic_of = {settings.topic(t): t for t in INPUT_TOPICS}
        self.consumer: AIOKafkaConsumer | None = None
        self._publisher: Publisher | None = None
        self._caches: dict[str, int] = {}
        self._positions: dict[TopicPartition, int] = {}
        self.samples_written = 0
        self._queue: asyncio.Queue[_Prepared | None] | None = None
        self._tail: asyncio.Task[None] | None = None  # publish + commit of the last written batch
        self.phase_seconds: defaultdict[str, float] = defaultdict(
            float
        )  # where batch time goes (bench, debugging)

    async def start(self) -> None:
        created = await ensure_topics_async(self.settings)  # idempotent
        if created:
            await wait_for_leaders(self.settings, created)
        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=self.settings.kafka.bootstrap,
            group_id=self.group_id,
            client_id=self.group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_partition_fetch_bytes=8 << 20,
            fetch_max_bytes=64 << 20,
            max_poll_interval_ms=300_000,
            session_timeout_ms=10_000,
        )
        self.consumer.subscribe(list(self.topic_of), listener=_Rebalance(self))
        await self.consumer.start()
        self._publisher = Publisher(self.settings, client_id=f"{self.group_id}-out")
        await self._publisher.start()
        if self.live is not None:
            self.live.start_flusher(0.5)

    async def stop(self) -> None:
        if self.consumer is not None:
            try:
                await self.consumer.stop()
            except asyncio.CancelledError:
                # aiokafka's fetcher can re-raise the cancellation of a fetch that was in its
                # retry back-off (a broker request timeout); unless this task itself is being
                # cancelled, go on closing the publisher and the database connections.
                task = asyncio.current_task()
                if task is not None and task.cancelling():
                    raise
                log.warning("kafka consumer stop surfaced its fetcher's cancellation; stopping anyway")
        if self._publisher is not None:
            await self._publisher.stop()
        await self.sink.close()
        await self.sink.close_reader()

    @property
    def publisher(self) -> Publisher:
        assert self._publisher is not None, "start() first"
        return self._publisher

    async def run(self, should_stop: Callable[[], bool] = lambda: False) -> None:
        """Fetch and prepare batches here; a writer task writes them (one batch ahead at most).

        Preparing batch N+1 (Python CPU) while batch N is written (PostgreSQL)
        uses both cores. Batch N+1's rates start from batch N's states before
        N is written: that is safe because N is retried until it is written,
        and if the worker stops first nothing of either is committed.
        """
        assert self.consumer is not None, "start() first"
        queue: asyncio.Queue[_Prepared | None] = asyncio.Queue(maxsize=1)
        self._queue = queue
        writer = asyncio.create_task(self._writer(queue, should_stop))
        try:
            while not should_stop() and not writer.done():
                batch = await self._fetch()
                if batch is None:
                    break
                if not batch:
                    continue
                started = time.monotonic()
                async with self.lock:
                    ws, out, _ = await self.prepare(batch)
                    self.states.update(ws.states)
                self.phase_seconds["prepare"] += time.monotonic() - started
                offsets = {tp: msgs[-1].offset + 1 for tp, msgs in batch.items()}
                raw = [(self.topic_of[tp.topic], m.value or b"") for tp, msgs in batch.items() for m in msgs]
                put = asyncio.ensure_future(queue.put(_Prepared(started, offsets, ws, out, raw)))
                await asyncio.wait({put, writer}, return_when=asyncio.FIRST_COMPLETED)
                if not put.done():
                    put.cancel()
        finally:
            if not writer.done():
                await queue.put(None)
            await writer
            await self.drain()

    async def _fetch(self) -> dict[TopicPartition, list[Any]] | None:
        assert self.consumer is not None
        target = max(self.settings.streams.sink_batch_rows, 1)
        linger = min(self.settings.streams.sink_flush_seconds, 0.05)
        try:
            batch = await self.consumer.getmany(timeout_ms=1000, max_records=max(target // 100, 10))
            first = time.monotonic()
            n = sum(len(v) for v in batch.values())
            while n < target // 150 and time.monotonic() - first < linger:
                more = await self.consumer.getmany(timeout_ms=int(linger * 1000), max_records=100)
                for tp, msgs in more.items():
                    batch.setdefault(tp, []).extend(msgs)
                    n += len(msgs)
                if not more:
                    break
        except ConsumerStoppedError:
            return None
        return dict(batch)

    async def _writer(self, queue: asyncio.Queue[_Prepared | None], should_stop: Callable[[], bool]) -> None:
        while True:
            item = await queue.get()
            try:
                if item is None:
                    return
                t1 = time.monotonic()
                written = await self._write(item.ws, should_stop)
                if written is None:
                    return  # stopping during an outage: nothing committed, all re-delivered later
                if written is False:
                    await self._reject(item)
                    continue
                self.phase_seconds["write"] += time.monotonic() - t1
                self.samples_written += item.ws.sample_count
                self._schedule_tail(item)
            finally:
                queue.task_done()

    def _schedule_tail(self, item: _Prepared) -> None:
        previous = self._tail

        async def tail() -> None:
            # Runs while the next batches are prepared and written; commits stay in order.
            if previous is not None:
                await previous
            t3 = time.monotonic()
            await self._after_write(item.out, item.ws)
            t4 = time.monotonic()
            await self._commit(item.offsets)
            self.phase_seconds["publish"] += t4 - t3
            self.phase_seconds["commit"] += time.monotonic() - t4
            BATCH_SECONDS.observe(time.monotonic() - item.started)

        self._tail = asyncio.create_task(tail())

    async def settle(self) -> None:
        """Wait until every prepared batch is written and committed (rebalances)."""
        if self._queue is not None:
            await self._queue.join()
        await self.drain()

    async def drain(self) -> None:
        """Wait for the publishing and offset commit of every written batch."""
        if self._tail is not None:
            await self._tail

    async def prepare(
        self, batch: dict[TopicPartition, list[Any]]
    ) -> tuple[WriteSet, list[MetricBatch], int]:
        """Decode and compute: everything the transaction will write. Pure but for state loads."""
        ws = WriteSet()
        out: list[MetricBatch] = []
        polls: list[DevicePoll] = []
        dead = 0
        now = time.time()
        for tp, msgs in batch.items():
            topic = self.topic_of[tp.topic]
            RECORDS_IN.labels(topic).inc(len(msgs))
            for k, msg in enumerate(msgs):
                if k % YIELD_EVERY == YIELD_EVERY - 1:
                    await asyncio.sleep(0)
                try:
                    rec: Record = decode(topic, msg.value or b"")
                    check_time(rec, now)
                except RecordError as exc:
                    await self.publisher.send_dead_letter(topic, exc.reason, msg.value or b"")
                    dead += 1
                    continue
                if isinstance(rec, DevicePoll):
                    polls.append(rec)
                elif isinstance(rec, PingResult):
                    ws.pings.append(R.ping_row(rec))
                    out.append(self._add_samples(ws, ping_metrics(rec)))
                    ws.devices[rec.device] = ("up" if rec.received else "down", rec.ts)
                elif isinstance(rec, Trap):
                    ws.traps.append(R.trap_row(rec, msg.value))
                elif isinstance(rec, SyslogMessage):
                    ws.syslogs.append(R.syslog_row(rec, msg.value))
        if dead:
            RECORDS_OUT.labels("deadletter").inc(dead)
        if polls:
            out.extend(await self._rates(ws, polls))
        return ws, out, dead

    async def _rates(self, ws: WriteSet, polls: list[DevicePoll]) -> list[MetricBatch]:
        unknown = list({p.device for p in polls if p.device not in self.states})
        if unknown:
            loaded = await self._retry_read(unknown)
            for d in unknown:
                self.states[d] = loaded.get(d)
        working: dict[str, DeviceState | None] = {}
        events: Counter[str] = Counter()
        out: list[MetricBatch] = []
        for k, p in enumerate(polls):
            if k % YIELD_EVERY == YIELD_EVERY - 1:
                await asyncio.sleep(0)
            prev = working[p.device] if p.device in working else self.states.get(p.device)
            result = compute(prev, p, self.rate_config)
            events.update(result.events)
            working[p.device] = result.state
            if result.replay:
                continue
            if result.state is not None and result.state is not prev:
                ws.states[p.device] = result.state
            ws.devices[p.device] = (_POLL_STATUS[p.status], p.ts)
            if result.batch is not None:
                out.append(self._add_samples(ws, result.batch))
            if p.status != "unreachable" and p.props:
                self._inventory(ws, p)
        for event, n in events.items():
            RATE_EVENTS.labels(event).inc(n)
        return out

    def _add_samples(self, ws: WriteSet, b: MetricBatch) -> MetricBatch:
        if b.metrics:
            ws.batches.append(b)  # the sink resolves series ids and builds the COPY from it
        return b

    def _inventory(self, ws: WriteSet, p: DevicePoll) -> None:
        info = R.device_info(p)
        if any(info) and R.changed(self._caches, f"sys:{p.device}", info):
            ws.sysinfo[p.device] = info
        ifs = R.interface_rows(p)
        if ifs and R.changed(self._caches, f"if:{p.device}", ifs):
            ws.interfaces[p.device] = ifs
        lldp = R.lldp_rows(p)
        if "lldp" in p.modules and R.changed(self._caches, f"lldp:{p.device}", lldp):
            ws.lldp[p.device] = lldp

    async def _retry_read(self, devices: list[str]) -> dict[str, DeviceState]:
        attempt = 0
        while True:
            try:
                return await self.sink.load_states(devices)
            except (psycopg.Error, OSError) as exc:
                attempt += 1
                await self.sink.close_reader()
                await self._backoff(attempt, exc, "reading rate state")

    async def _write(self, ws: WriteSet, should_stop: Callable[[], bool]) -> bool | None:
        """True when written; None when stopping first; False when PostgreSQL keeps refusing the data.

        Connection trouble (the database is down, restarting, unreachable) is
        retried for as long as it lasts. An error about the data itself
        (DataError, an integrity error...) that repeats ``REJECT_AFTER`` times
        is a poison batch: retrying forever would stop the whole pipeline.
        """
        attempt = refused = 0
        while True:
            try:
                await self.sink.write(ws)
                return True
            except (psycopg.OperationalError, psycopg.InterfaceError, OSError) as exc:
                attempt += 1
                await self.sink.close()
                await self._backoff(attempt, exc, "writing a batch")
            except psycopg.Error as exc:
                attempt += 1
                refused += 1
                await self.sink.close()
                if refused >= REJECT_AFTER:
                    self._refusal = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
                    return False
                await self._backoff(attempt, exc, "writing a batch (data refused)")
            if should_stop():
                return None

    async def _reject(self, item: _Prepared) -> None:
        """Dead-letter every message of a batch PostgreSQL refuses, then move on (committed)."""
        reason = f"database refused the batch: {self._refusal}"
        log.error("%s; %d messages sent to the dead-letter topic", reason, len(item.raw))
        for topic, value in item.raw:
            await self.publisher.send_dead_letter(topic, reason, value)
        RECORDS_OUT.labels("deadletter").inc(len(item.raw))
        self.states.clear()  # those polls' states were never stored: reload from PostgreSQL
        await self.publisher.flush()
        self._schedule_tail(_Prepared(item.started, item.offsets, WriteSet(), [], []))

    async def _backoff(self, attempt: int, exc: Exception, what: str) -> None:
        """Count, log, drop the connection and wait -- polling Kafka (paused) to stay in the group."""
        DB_ERRORS.inc()
        delay = min(0.25 * 2**attempt, self.max_backoff)
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        log.error("database error %s (attempt %d, retry in %.1fs): %s", what, attempt, delay, first)
        consumer = self.consumer
        if consumer is None:
            await asyncio.sleep(delay)
            return
        parts = consumer.assignment()
        consumer.pause(*parts)
        try:
            await consumer.getmany(timeout_ms=int(delay * 1000))
        finally:
            consumer.resume(*[p for p in parts if p in consumer.assignment()])

    async def _after_write(self, batches: list[MetricBatch], ws: WriteSet) -> None:
        if self.processors and batches:
            ids = dict(zip(map(id, ws.batches), ws.series_ids, strict=True))
            groups = [SeriesBatch(b, ids[id(b)].tolist() if b.metrics else []) for b in batches]
            for proc in self.processors:
                try:
                    await proc(groups)
                except Exception:
                    log.exception("batch processor %r failed; persistence continues", proc)
        futures = []
        for k in range(0, len(batches), YIELD_EVERY * 8):
            # Whole producer batches per partition: aiokafka's per-record send() costs ~50 us.
            part = batches[k : k + YIELD_EVERY * 8]
            futures += await self.publisher.send_encoded_batch(
                "metrics", [(b.device.encode(), encode(b)) for b in part]
            )
            await asyncio.sleep(0)
        if futures:
            try:
                await asyncio.gather(*futures)
                RECORDS_OUT.labels("metrics").inc(len(batches))
            except KafkaError as exc:
                log.error("publishing %d metric batches failed: %s", len(futures), exc)
        if self.live is not None:
            await self.live.set_latest(batches)
            await self.live.set_device_statuses(ws.devices)

    async def _commit(self, offsets: dict[TopicPartition, int]) -> None:
        assert self.consumer is not None
        try:
            await self.consumer.commit(offsets)
        except (CommitFailedError, KafkaError) as exc:
            # The group rebalanced: the new owner re-reads from the last commit
            # and the rate state makes that replay write nothing twice.
            log.warning("offset commit failed (%s); batch will be re-delivered elsewhere", exc)
        self._positions.update(offsets)
        self._lag()

    def _lag(self) -> None:
        assert self.consumer is not None
        for tp in self.consumer.assignment():
            high = self.consumer.highwater(tp)
            done = self._positions.get(tp)
            if high is not None and done is not None:
                CONSUMER_LAG.labels(self.topic_of[tp.topic], str(tp.partition)).set(max(high - done, 0))

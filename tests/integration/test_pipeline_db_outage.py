"""A PostgreSQL outage pauses the pipeline; when the database returns nothing is lost or doubled.

Uses a PostgreSQL of its own (own directory and port): stopping the shared
test database would disturb every other test running at the same time.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import time
import uuid

import msgspec
import pytest

from netvigil.bus import Publisher
from netvigil.db import connect, migrate
from netvigil.kafka_admin import ensure_topics_async
from netvigil.settings import Settings
from netvigil.stack.postgres import PostgresService
from streams.monitoring import DB_ERRORS
from streams.pipeline import Pipeline
from streams.rates import compute
from streams.synthetic import synthetic_poll
from streams.testing import drop_topics


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rows(s: Settings) -> tuple[int, int]:
    with connect(s) as conn:
        r = conn.execute("SELECT count(*), count(DISTINCT (series_id, ts)) FROM metric_samples").fetchone()
    assert r is not None
    return int(r[0]), int(r[1])


@pytest.mark.timeout(150)
async def test_database_outage_pauses_and_resumes_without_loss_or_duplicates(stack: Settings) -> None:
    uid = uuid.uuid4().hex[:8]
    port = free_port()
    s = msgspec.structs.replace(
        stack,
        stack=msgspec.structs.replace(
            stack.stack, home=str(stack.stack_home() / f"pg-outage-{uid}"), postgres_port=port
        ),
        postgres=msgspec.structs.replace(
            stack.postgres, dsn=f"postgresql://netvigil:netvigil@127.0.0.1:{port}/netvigil_outage"
        ),
        kafka=msgspec.structs.replace(stack.kafka, topic_prefix=f"test.outage{uid}.", partitions=2),
        streams=msgspec.structs.replace(stack.streams, app_id=f"test-outage-{uid}"),
    )
    pg = PostgresService(s)
    pg.start()
    try:
        migrate(s)
        await ensure_topics_async(s)
        devices = [f"out-{i}" for i in range(5)]
        t0 = 1_760_000_000.0
        polls = [[synthetic_poll(d, t0 + 60 * r, r, interfaces=2) for d in devices] for r in range(6)]
        expected: list[int] = []  # cumulative rows after each round
        states: dict[str, object] = {}
        total = 0
        for r in range(6):
            for p in polls[r]:
                res = compute(states.get(p.device), p)  # type: ignore[arg-type]
                states[p.device] = res.state
                total += len(res.batch.metrics) if res.batch else 0
            expected.append(total)

        pipe = Pipeline(s, max_backoff=2.0)
        await pipe.start()
        stop = False
        task = asyncio.create_task(pipe.run(lambda: stop))
        try:
            async with Publisher(s) as pub:
                for r in range(3):
                    for p in polls[r]:
                        await pub.send("poll", p)
                await pub.flush()
                await wait_for(lambda: rows(s)[0] >= expected[2], 30)
                errors_before = DB_ERRORS._value.get()
                await asyncio.to_thread(stop_fully, pg)  # outage (blocking calls off the event loop)
                for r in range(3, 6):
                    for p in polls[r]:
                        await pub.send("poll", p)
                await pub.flush()
            await wait_for(lambda: DB_ERRORS._value.get() >= errors_before + 2, 30)
            assert not task.done()  # survived, paused
            await asyncio.to_thread(pg.start)  # back
            await wait_for(lambda: rows(s)[0] >= expected[5], 60)
            await asyncio.sleep(1.5)
            assert await asyncio.to_thread(rows, s) == (expected[5], expected[5])
        finally:
            stop = True
            await task
            await pipe.stop()
            await drop_topics(s)
    finally:
        pg.stop()
        shutil.rmtree(s.stack.home, ignore_errors=True)


def stop_fully(pg: PostgresService) -> None:
    """Fast shutdown (SIGINT: sessions terminated, as in a database restart), then wait for
    the postmaster to remove its lock file (a restart needs it gone)."""
    lock = pg.data / "postmaster.pid"
    if lock.exists():  # its first line is the postmaster's PID (pg.pid() may be runuser's)
        os.kill(int(lock.read_text().split()[0]), signal.SIGINT)
    pg.stop()
    deadline = time.monotonic() + 30
    while (pg.data / "postmaster.pid").exists() and time.monotonic() < deadline:
        time.sleep(0.1)


async def wait_for(cond: object, limit_s: float) -> None:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        try:
            if await asyncio.to_thread(cond):  # type: ignore[arg-type]
                return
        except Exception:  # the database may be down while we look
            pass
        await asyncio.sleep(0.2)
    pytest.fail("condition not met in time")

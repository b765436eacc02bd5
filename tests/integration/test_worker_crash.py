"""`kill -9` of a `netvigil worker` mid-stream, then a restart: rows = samples, no duplicates."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest

from netvigil.bus import Publisher
from netvigil.db import connect
from netvigil.kafka_admin import ensure_topics_async
from netvigil.settings import Settings
from streams.rates import compute
from streams.synthetic import synthetic_poll
from streams.testing import drop_topics, isolated

DEVICES = 12
ROUNDS = 10


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_worker(s: Settings, log: Path, metrics_port: int) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    env["NETVIGIL_KAFKA__TOPIC_PREFIX"] = s.kafka.topic_prefix
    env["NETVIGIL_KAFKA__PARTITIONS"] = str(s.kafka.partitions)
    env["NETVIGIL_STREAMS__APP_ID"] = s.streams.app_id
    cmd = [
        str(Path(sys.executable).parent / "netvigil"),
        "worker",
        # this tier's agents (persistence and rollups): the guarantee under test is theirs
        "--agents",
        "streams.agents.pipeline:register,streams.agents.rollups:register",
    ]
    cmd += [
        "--web-port",
        str(free_port()),
        "--metrics-port",
        str(metrics_port),
        "--data-dir",
        str(log.parent),
    ]
    with log.open("ab") as out:
        return subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)


def count_rows(s: Settings, prefix: str) -> tuple[int, int]:
    with connect(s) as conn:
        row = conn.execute(
            "SELECT count(*), count(DISTINCT (m.series_id, m.ts)) FROM metric_samples m"
            " JOIN series x ON x.id = m.series_id WHERE x.device LIKE %s",
            (prefix + "%",),
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


async def wait_rows(s: Settings, prefix: str, at_least: int, limit_s: float) -> int:
    deadline = time.monotonic() + limit_s
    n = 0
    while time.monotonic() < deadline:
        n = count_rows(s, prefix)[0]
        if n >= at_least:
            return n
        await asyncio.sleep(0.2)
    return n


@pytest.mark.timeout(180)
async def test_kill_9_mid_stream_then_restart_writes_each_sample_once(
    stack: Settings, tmp_path: Path
) -> None:
    s = isolated(stack, "crash")
    await ensure_topics_async(s)
    prefix = f"kc{uuid.uuid4().hex[:6]}-"
    devices = [f"{prefix}{i}" for i in range(DEVICES)]
    t0 = 1_760_000_000.0
    polls = [[synthetic_poll(d, t0 + 60 * r, r, interfaces=3) for d in devices] for r in range(ROUNDS)]
    expected = 0
    for i in range(DEVICES):
        state = None
        for r in range(ROUNDS):
            res = compute(state, polls[r][i])
            state = res.state
            expected += len(res.batch.metrics) if res.batch else 0

    log = tmp_path / "worker.log"
    metrics_port = free_port()
    worker = start_worker(s, log, metrics_port)
    try:
        async with Publisher(s) as pub:
            for r in range(ROUNDS // 2):
                for p in polls[r]:
                    await pub.send("poll", p)
                await pub.flush()
                await asyncio.sleep(0.3)
            n = await wait_rows(s, prefix, 1, 60)
            assert n > 0, log.read_text()[-3000:]
            worker.send_signal(signal.SIGKILL)  # mid-stream: the second half is not produced yet
            worker.wait(10)
            mid = count_rows(s, prefix)[0]
            for r in range(ROUNDS // 2, ROUNDS):
                for p in polls[r]:
                    await pub.send("poll", p)
            await pub.flush()
        assert mid < expected
        worker = start_worker(s, log, metrics_port)
        n = await wait_rows(s, prefix, expected, 90)
        await asyncio.sleep(2.0)  # anything written twice would show up now
        total, distinct = count_rows(s, prefix)
        assert (total, distinct) == (expected, expected), log.read_text()[-3000:]
        async with httpx.AsyncClient() as http:
            body = (await http.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5)).text
        assert 'netvigil_worker_records_in_total{topic="poll"}' in body
        assert 'netvigil_worker_rows_written_total{table="metric_samples"}' in body
        assert "netvigil_worker_write_seconds_bucket" in body
    finally:
        worker.kill()
        worker.wait(10)
        await drop_topics(s)

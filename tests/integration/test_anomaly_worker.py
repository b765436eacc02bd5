"""The anomaly stage inside `netvigil worker`, as a user runs it (every registered agent).

Polls go to Kafka; the worker derives rates, stores samples, and its anomaly
stage stores scores (one per series at first sight, then every 5 minutes of
data time) with the model name and version; a clean stop writes the bank
snapshot into the worker's data directory, and a restarted worker restores it.
"""

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

import pytest

from netvigil.bus import Publisher
from netvigil.db import connect
from netvigil.kafka_admin import ensure_topics_async
from netvigil.settings import Settings
from streams.synthetic import synthetic_poll
from streams.testing import drop_topics, isolated

DEVICES = 4
ROUNDS = 6


def scores(s: Settings, prefix: str) -> list[tuple[str, str, int]]:
    with connect(s) as conn:
        rows = conn.execute(
            "SELECT x.metric, a.model, a.model_version FROM anomaly_scores a"
            " JOIN series x ON x.id = a.series_id WHERE x.device LIKE %s",
            (prefix + "%",),
        ).fetchall()
    return [(r[0], r[1], int(r[2])) for r in rows]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_worker(s: Settings, log: Path) -> subprocess.Popen[bytes]:
    """`netvigil worker` with every registered agent (no --agents), as a user runs it."""
    env = dict(os.environ)
    env["NETVIGIL_KAFKA__TOPIC_PREFIX"] = s.kafka.topic_prefix
    env["NETVIGIL_KAFKA__PARTITIONS"] = str(s.kafka.partitions)
    env["NETVIGIL_STREAMS__APP_ID"] = s.streams.app_id
    cmd = [str(Path(sys.executable).parent / "netvigil"), "worker", "--data-dir", str(log.parent)]
    cmd += ["--web-port", str(free_port()), "--metrics-port", str(free_port())]
    with log.open("ab") as out:
        return subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)


def _read(path: Path) -> str:
    return path.read_text()


async def wait_log(log: Path, text: str, limit_s: float) -> None:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline and text not in await asyncio.to_thread(_read, log):  # noqa: ASYNC110 - a subprocess log
        await asyncio.sleep(0.3)
    body = await asyncio.to_thread(_read, log)
    assert text in body, body[-3000:]


@pytest.mark.timeout(150)
async def test_worker_scores_series_and_snapshots_its_banks(stack: Settings, tmp_path: Path) -> None:
    s = isolated(stack, "anw")
    await ensure_topics_async(s)
    prefix = f"aw{uuid.uuid4().hex[:6]}-"
    t0 = time.time() - ROUNDS * 60
    log = tmp_path / "worker.log"
    worker = start_worker(s, log)
    try:
        await wait_log(log, "[^Worker]: Ready", 60)
        async with Publisher(s) as pub:
            for r in range(ROUNDS):
                for i in range(DEVICES):
                    await pub.send("poll", synthetic_poll(f"{prefix}{i}", t0 + 60 * r, r, interfaces=2))
            await pub.flush()
        deadline = time.monotonic() + 90
        found: list[tuple[str, str, int]] = []
        while time.monotonic() < deadline and not found:
            await asyncio.sleep(0.5)
            found = scores(s, prefix)
        assert found, log.read_text()[-3000:]
        metrics = {m for m, _, _ in found}
        assert {"if_in_bps", "cpu_user_pct", "disk_used_pct"} <= metrics, metrics
        assert {(model, v) for _, model, v in found} <= {("default", v) for _, _, v in found}
        worker.send_signal(signal.SIGTERM)
        worker.wait(30)
        snaps = sorted(p.name for p in (tmp_path / "anomaly").glob("*.npz"))
        assert "interface.npz" in snaps and "cpu.npz" in snaps, (snaps, log.read_text()[-3000:])
        worker = start_worker(s, log)
        await wait_log(log, "anomaly banks restored", 60)
    finally:
        worker.kill()
        worker.wait(10)
        await drop_topics(s)

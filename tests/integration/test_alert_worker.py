"""``netvigil worker`` with the alerting registrar, as a user runs it (a subprocess).

The worker gets its own topic prefix, app id, ports, rule file and
notification file through environment variables; a threshold breach produced
to Kafka must reach the local webhook receiver, and its resolution too.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import msgspec
from aiokafka.admin import AIOKafkaAdminClient

from netvigil.bus import Publisher
from netvigil.kafka_admin import ensure_topics_async
from netvigil.records import Metric, MetricBatch
from netvigil.settings import Settings
from netvigil.topics import topic_specs
from streams.notify.receiver import LocalReceiver

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def test_worker_runs_alerting_end_to_end(stack: Settings, tmp_path: Path) -> None:
    u = "w" + uuid.uuid4().hex[:7]
    settings = msgspec.structs.replace(
        stack, kafka=msgspec.structs.replace(stack.kafka, topic_prefix=f"test.{u}.", partitions=1)
    )
    await ensure_topics_async(settings)
    hook = LocalReceiver().start()
    (tmp_path / "rules.yaml").write_text(
        f"rules:\n  - name: {u}-cpu\n    metric: cpu_load_pct\n    match: {{device: '{u}-*'}}\n    levels: {{major: 90}}\n"
    )
    (tmp_path / "notifications.yaml").write_text(
        f"receivers:\n  - {{name: hook, type: webhook, url: '{hook.url}/alerts'}}\nroutes:\n  - receivers: [hook]\n"
    )
    env = {
        **os.environ,
        "NETVIGIL_KAFKA__TOPIC_PREFIX": f"test.{u}.",
        "NETVIGIL_KAFKA__PARTITIONS": "1",
        "NETVIGIL_STREAMS__APP_ID": f"test-{u}",
        "NETVIGIL_STREAMS__RULES_FILE": str(tmp_path / "rules.yaml"),
        "NETVIGIL_STREAMS__NOTIFICATIONS_FILE": str(tmp_path / "notifications.yaml"),
    }
    log = (tmp_path / "worker.log").open("w")
    proc = subprocess.Popen(  # noqa: ASYNC220 - started once, waited on in teardown
        [sys.executable, "-m", "netvigil.cli", "worker", "--agents", "streams.alerting.agents:register",
         "--web-port", str(free_port()), "--metrics-port", str(free_port()), "--data-dir", str(tmp_path / "wd")],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    pub = Publisher(settings, linger_ms=1)
    await pub.start()
    try:
        device = f"{u}-r1"
        deadline = time.monotonic() + 60
        # The worker's group starts at the newest records: repeat the breach until it is seen
        # (one alert whatever the repeats: the dedup key).
        while not hook.requests and time.monotonic() < deadline:
            assert proc.poll() is None, (tmp_path / "worker.log").read_text()[-3000:]
            batch = MetricBatch(device=device, ts=time.time(), metrics=[Metric("cpu_load_pct", "", 97.0)])
            await pub.send("metrics", batch, wait=True)
            await asyncio.sleep(0.5)
        assert hook.requests, (tmp_path / "worker.log").read_text()[-3000:]
        await pub.send(
            "metrics",
            MetricBatch(device=device, ts=time.time(), metrics=[Metric("cpu_load_pct", "", 5.0)]),
            wait=True,
        )
        got = await asyncio.to_thread(hook.wait_for, 2, 20.0)
        assert [r.body["status"] for r in got] == ["firing", "resolved"]
        assert got[0].body["commonLabels"]["alertname"] == f"{u}-cpu"
    finally:
        await pub.stop()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()
        hook.stop()
        admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka.bootstrap)
        await admin.start()
        try:
            await admin.delete_topics(list(topic_specs(settings)))
        finally:
            await admin.close()

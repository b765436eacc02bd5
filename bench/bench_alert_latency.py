"""Latency from a sample produced to Kafka to its notification arriving at a webhook receiver.

Run against a running stack (``netvigil stack up``, or the test stack's
settings in the environment):

    .venv/bin/python bench/bench_alert_latency.py [--load-sps 100000] [--probes 200] [--probe-rate 10]
    .venv/bin/python bench/bench_alert_latency.py --worker [--load-sps 100000]

What one run does, on one machine:

1. creates topics of its own prefix and starts a local webhook receiver;
2. default mode: runs the alerting runtime and its consumer in this process
   (the objects ``netvigil worker`` runs: rules, engine, PostgreSQL writes,
   Kafka and Redis publishing, the notification dispatcher) and produces
   background MetricBatch records of 150 metrics each at ``--load-sps``
   samples per second, evaluated against rules that do not fire; probes are
   MetricBatch records above a threshold;
   ``--worker`` mode: starts ``netvigil worker`` (pipeline + alerting
   registrars) as a subprocess and produces the load as raw DevicePoll
   records (``streams.synthetic``) that the pipeline turns into rates,
   PostgreSQL rows and MetricBatch records; probes are SNMP traps matched
   by a trap rule, so they do not queue behind the pipeline's backlog;
3. each probe is a new device, so it opens an alert whose webhook
   notification (Alertmanager format) is timed from just before the produce
   call to its arrival at the receiver;
4. limit: the raw Kafka produce->consume latency of the same probe records,
   measured by a plain consumer of its own group in the same run.

Prints JSON and writes bench/results/alert_latency.json. Goal: p99 < 1000 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import msgspec
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from netvigil.bus import Publisher  # noqa: E402
from netvigil.db import connect  # noqa: E402
from netvigil.kafka_admin import ensure_topics_async  # noqa: E402
from netvigil.records import Metric, MetricBatch, Record, Trap  # noqa: E402
from netvigil.settings import Settings, load_settings  # noqa: E402
from netvigil.topics import encode, topic_specs  # noqa: E402
from streams.alerting.consumer import run_consumer  # noqa: E402
from streams.alerting.runtime import AlertRuntime  # noqa: E402
from streams.notify.config import parse_notify_config  # noqa: E402
from streams.notify.receiver import LocalReceiver  # noqa: E402
from streams.synthetic import samples_per_poll, synthetic_poll  # noqa: E402

METRICS = ["if_in_util_pct", "if_out_util_pct", "if_in_errors_ps", "if_in_bps", "if_out_bps"]
Loader = Callable[[int], tuple[str, bytes, bytes, int]]  # i -> (topic, key, payload, samples)


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, round(q / 100 * (len(s) - 1)))]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def metric_loader(n_devices: int, tag: str) -> Loader:
    """Pre-encoded MetricBatch records (150 metrics each) for the in-process mode."""
    batches = []
    for d in range(n_devices):
        metrics = [Metric(METRICS[i % len(METRICS)], str(i // len(METRICS)), 12.5) for i in range(150)]
        batch = MetricBatch(device=f"{tag}-load-{d}", ts=time.time(), metrics=metrics)
        batches.append((batch.device.encode(), encode(batch)))

    def next_record(i: int) -> tuple[str, bytes, bytes, int]:
        key, payload = batches[i % len(batches)]
        return "metrics", key, payload, 150

    return next_record


def poll_loader(n_devices: int, tag: str) -> Loader:
    """Raw DevicePoll records, one poll of every device per 60 s of synthetic time."""
    t0 = time.time() - 3600.0
    per_poll = samples_per_poll(9)

    def next_record(i: int) -> tuple[str, bytes, bytes, int]:
        seq, d = divmod(i, n_devices)
        device = f"{tag}-load-{d}"
        return "poll", device.encode(), encode(synthetic_poll(device, t0 + 60.0 * seq, seq)), per_poll

    return next_record


async def produce_load(
    pub: Publisher, loader: Loader, sps: float, stop: asyncio.Event, sent: list[int]
) -> None:
    start = time.monotonic()
    i = samples = 0
    while not stop.is_set():
        due = (time.monotonic() - start) * sps
        burst = 0
        while samples < due and burst < 200:  # bounded bursts: consumers may share this event loop
            topic, key, payload, n = loader(i)
            await pub.send_raw(topic, payload, key)
            i += 1
            samples += n
            burst += 1
        sent[0] = samples
        await asyncio.sleep(0.005)


async def raw_consumer(
    settings: Settings, topic: str, tag: str, seen: dict[str, float], ready: asyncio.Event
) -> None:
    consumer = AIOKafkaConsumer(
        settings.topic(topic),
        bootstrap_servers=settings.kafka.bootstrap,
        group_id=f"{tag}-raw",
        auto_offset_reset="latest",
        fetch_max_wait_ms=50,
    )
    await consumer.start()
    try:
        while not consumer.assignment():  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        for tp in consumer.assignment():
            await consumer.position(tp)
        ready.set()
        while True:
            batches = await consumer.getmany(timeout_ms=100)
            now = time.time()
            for msgs in batches.values():
                for m in msgs:
                    device = msgspec.json.decode(m.value).get("device") or ""
                    if device.startswith(f"{tag}-probe-"):
                        seen.setdefault(device, now)
    finally:
        await consumer.stop()


def rules_text(tag: str) -> str:
    return f"""
rules:
  - name: {tag}-probe
    metric: cpu_load_pct
    match: {{device: "{tag}-probe-*"}}
    levels: {{warning: 90}}
  - name: {tag}-trap
    type: trap
    trap: {tag}Probe
    match: {{device: "{tag}-probe-*"}}
    severity: major
  - name: {tag}-util
    metric: if_in_util_pct
    levels: {{warning: 1000, critical: 2000}}
  - name: {tag}-errors
    metric: if_in_errors_ps
    levels: {{minor: 1000000}}
  - name: {tag}-cpu
    metric: cpu_user_pct
    levels: {{warning: 1000}}
"""


def probe(tag: str, i: int, worker: bool) -> tuple[str, Record]:
    device = f"{tag}-probe-{i}"
    if worker:
        trap = Trap(
            ts=time.time(),
            source="127.0.0.1:162",
            device=device,
            version="v2c",
            trap_oid="1.3.6.1.4.1.99999.7",
            trap_name=f"{tag}Probe",
        )
        return "trap", trap
    return "metrics", MetricBatch(device=device, ts=time.time(), metrics=[Metric("cpu_load_pct", "", 99.0)])


async def start_in_process(
    settings: Settings, hook: LocalReceiver, tag: str
) -> Callable[[], Awaitable[None]]:
    notify = parse_notify_config(
        {
            "receivers": [{"name": "hook", "type": "webhook", "url": f"{hook.url}/alerts"}],
            "routes": [{"receivers": ["hook"]}],
        },
        environ={},
    )
    runtime = AlertRuntime(settings, notify_config=notify)
    await runtime.start()
    ready = asyncio.Event()
    task = asyncio.create_task(run_consumer(runtime, settings, group=f"{tag}-alerting", ready=ready))
    await asyncio.wait_for(ready.wait(), 60)

    async def stop() -> None:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await runtime.stop()

    return stop


async def start_worker(
    settings: Settings, hook: LocalReceiver, tag: str, tmp: Path, pub: Publisher
) -> Callable[[], Awaitable[None]]:
    (tmp / "notifications.yaml").write_text(
        f"receivers:\n  - {{name: hook, type: webhook, url: '{hook.url}/alerts'}}\nroutes:\n  - receivers: [hook]\n"
    )
    env = {
        **os.environ,
        "NETVIGIL_KAFKA__TOPIC_PREFIX": settings.kafka.topic_prefix,
        "NETVIGIL_STREAMS__APP_ID": tag,
        "NETVIGIL_STREAMS__RULES_FILE": settings.streams.rules_file,
        "NETVIGIL_STREAMS__NOTIFICATIONS_FILE": str(tmp / "notifications.yaml"),
    }
    log = (tmp / "worker.log").open("w")
    agents = "streams.agents.pipeline:register,streams.alerting.agents:register"
    proc = subprocess.Popen(  # noqa: ASYNC220 - started once, stopped below
        [sys.executable, "-m", "netvigil.cli", "worker", "--agents", agents, "--web-port", str(free_port()),
         "--metrics-port", str(free_port()), "--data-dir", str(tmp / "wd")],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip

    async def stop() -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGINT)
        try:
            await asyncio.to_thread(proc.wait, 30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()

    # The worker's alerting group starts at the newest records: repeat a warm-up trap until notified.
    deadline = time.monotonic() + 120
    while not hook.requests:
        if proc.poll() is not None or time.monotonic() > deadline:
            await stop()
            raise RuntimeError(f"worker did not start alerting; see {tmp / 'worker.log'}")
        _, rec = probe(tag, -1, worker=True)
        await pub.send("trap", rec, wait=True)
        await asyncio.sleep(0.5)
    return stop


async def run(args: argparse.Namespace) -> dict[str, object]:
    base = load_settings()
    tag = f"bench{uuid.uuid4().hex[:6]}"
    tmp = Path("/tmp") / tag
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "rules.yaml").write_text(rules_text(tag))
    settings = msgspec.structs.replace(
        base,
        kafka=msgspec.structs.replace(base.kafka, topic_prefix=f"{tag}."),
        streams=msgspec.structs.replace(base.streams, rules_file=str(tmp / "rules.yaml"), app_id=tag),
    )
    await ensure_topics_async(settings)
    hook = LocalReceiver().start()
    pub = Publisher(settings, linger_ms=5)
    await pub.start()
    raw_ready, stop_load = asyncio.Event(), asyncio.Event()
    raw_seen: dict[str, float] = {}
    probe_topic = "trap" if args.worker else "metrics"
    raw_task = asyncio.create_task(raw_consumer(settings, probe_topic, tag, raw_seen, raw_ready))
    stop_alerting: Callable[[], Awaitable[None]] | None = None
    produced: dict[str, float] = {}
    load_sent = [0]
    achieved = 0.0
    try:
        if args.worker:
            stop_alerting = await start_worker(settings, hook, tag, tmp, pub)
        else:
            stop_alerting = await start_in_process(settings, hook, tag)
        await asyncio.wait_for(raw_ready.wait(), 60)
        loader = (poll_loader if args.worker else metric_loader)(args.load_devices, tag)
        load_task = asyncio.create_task(produce_load(pub, loader, args.load_sps, stop_load, load_sent))
        await asyncio.sleep(args.warmup)
        warm_before = len(hook.requests)
        load_start, sent_start = time.monotonic(), load_sent[0]
        for i in range(args.probes):
            topic, rec = probe(tag, i, args.worker)
            produced[rec.device] = time.time()  # type: ignore[attr-defined]
            await pub.send(topic, rec)
            await asyncio.sleep(1.0 / args.probe_rate)
        await asyncio.to_thread(hook.wait_for, warm_before + args.probes, 15.0)
        elapsed = time.monotonic() - load_start
        achieved = (load_sent[0] - sent_start) / elapsed if elapsed else 0.0
        stop_load.set()
        await load_task
    finally:
        stop_load.set()
        raw_task.cancel()
        await asyncio.gather(raw_task, return_exceptions=True)
        if stop_alerting is not None:
            await stop_alerting()
        await pub.stop()
        hook.stop()
        await cleanup(settings, tag)
    arrived = {
        r.body["commonLabels"]["device"]: r.ts for r in hook.requests if r.body.get("status") == "firing"
    }
    lat = [(arrived[d] - t0) * 1000 for d, t0 in produced.items() if d in arrived]
    raw = [(raw_seen[d] - t0) * 1000 for d, t0 in produced.items() if d in raw_seen]
    p99, raw_p99 = pct(lat, 99), pct(raw, 99)
    return {
        "name": "alert_latency",
        "value": round(p99, 1),
        "unit": "ms",
        "goal": 1000.0,
        "limit": round(raw_p99, 1),
        "ratio": round(p99 / raw_p99, 2) if raw_p99 else None,
        "mode": "worker subprocess (pipeline + alerting), DevicePoll load, trap probes"
        if args.worker
        else "in-process alerting runtime, MetricBatch load and probes",
        "p50_ms": round(pct(lat, 50), 1),
        "mean_ms": round(statistics.fmean(lat), 1) if lat else None,
        "max_ms": round(max(lat), 1) if lat else None,
        "kafka_p50_ms": round(pct(raw, 50), 1),
        "limit_is": "raw Kafka produce->consume p99 of the same probe records, same run",
        "probes": len(produced),
        "delivered": len(lat),
        "offered_samples_per_s": round(achieved),
        "target_samples_per_s": args.load_sps,
        "pass": bool(lat) and len(lat) == len(produced) and p99 < 1000.0,
    }


async def cleanup(settings: Settings, tag: str) -> None:
    """Remove this run's topics and rows (alerts, and in worker mode the pipeline's)."""
    like = f"{tag}-%"
    with connect(settings) as conn:
        conn.execute("DELETE FROM alert_events WHERE key LIKE %s", (like,))
        conn.execute("DELETE FROM alerts WHERE rule LIKE %s", (like,))
        for stmt in (
            "DELETE FROM metric_samples WHERE series_id IN (SELECT id FROM series WHERE device LIKE %s)",
            "DELETE FROM series WHERE device LIKE %s",
            "DELETE FROM stream_rate_state WHERE device LIKE %s",
        ):
            try:
                with conn.transaction():
                    conn.execute(stmt, (like,))
            except Exception as exc:  # a table of another tier that this schema may not have
                print(f"cleanup: {exc}", file=sys.stderr)
        conn.commit()
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka.bootstrap)
    await admin.start()
    try:
        await admin.delete_topics(list(topic_specs(settings)))
    finally:
        await admin.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument(
        "--worker", action="store_true", help="run netvigil worker (pipeline + alerting) as a subprocess"
    )
    ap.add_argument("--load-sps", type=float, default=100000.0, help="background samples per second")
    ap.add_argument("--load-devices", type=int, default=1000)
    ap.add_argument("--probes", type=int, default=200)
    ap.add_argument("--probe-rate", type=float, default=10.0, help="probes per second")
    ap.add_argument("--warmup", type=float, default=3.0, help="seconds of load before the first probe")
    args = ap.parse_args()
    result = asyncio.run(run(args))
    out = ROOT / "bench" / "results" / "alert_latency.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

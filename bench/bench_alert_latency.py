"""Latency from a sample produced to Kafka to its notification arriving at a webhook receiver.

Run against a running stack (``netvigil stack up``, or the test stack's
settings in the environment):

    .venv/bin/python bench/bench_alert_latency.py [--load-sps 37000] [--probes 200] [--probe-rate 10]

What one run does, on one machine:

1. creates topics of its own prefix, starts a local webhook receiver and the
   alerting runtime with its consumer (the objects ``netvigil worker`` runs:
   rules, engine, PostgreSQL writes, Kafka and Redis publishing, the
   notification dispatcher);
2. produces background load: MetricBatch records of 150 metrics each at
   ``--load-sps`` samples per second, evaluated against rules that do not fire;
3. produces probes: one MetricBatch per new device with a value above a
   threshold; each opens an alert whose webhook notification (Alertmanager
   format) is timed from just before the produce call to its arrival;
4. limit: the raw Kafka produce->consume latency of the same probe records,
   measured by a plain consumer of its own group in the same run.

Prints JSON and writes bench/results/alert_latency.json. Goal: p99 < 1000 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
import uuid
from pathlib import Path

import msgspec
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from netvigil.bus import Publisher  # noqa: E402
from netvigil.db import connect  # noqa: E402
from netvigil.kafka_admin import ensure_topics_async  # noqa: E402
from netvigil.records import Metric, MetricBatch  # noqa: E402
from netvigil.settings import load_settings  # noqa: E402
from netvigil.topics import encode, topic_specs  # noqa: E402
from streams.alerting.consumer import run_consumer  # noqa: E402
from streams.alerting.runtime import AlertRuntime  # noqa: E402
from streams.notify.config import parse_notify_config  # noqa: E402
from streams.notify.receiver import LocalReceiver  # noqa: E402

METRICS = ["if_in_util_pct", "if_out_util_pct", "if_in_errors_ps", "if_in_bps", "if_out_bps"]


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, round(q / 100 * (len(s) - 1)))]


def load_batches(n_devices: int, tag: str) -> list[tuple[bytes, bytes]]:
    out = []
    for d in range(n_devices):
        metrics = [Metric(METRICS[i % len(METRICS)], str(i // len(METRICS)), 12.5) for i in range(150)]
        batch = MetricBatch(device=f"{tag}-load-{d}", ts=time.time(), metrics=metrics)
        out.append((batch.device.encode(), encode(batch)))
    return out


async def produce_load(
    pub: Publisher, batches: list[tuple[bytes, bytes]], sps: float, stop: asyncio.Event, sent: list[int]
) -> None:
    per_s = sps / 150.0
    start = time.monotonic()
    i = 0
    while not stop.is_set():
        due = int((time.monotonic() - start) * per_s)
        burst = 0
        while i < due and burst < 200:  # bounded bursts: the consumers share this event loop
            key, payload = batches[i % len(batches)]
            await pub.send_raw("metrics", payload, key)
            i += 1
            burst += 1
        sent[0] = i * 150
        await asyncio.sleep(0.005)


async def raw_consumer(settings, tag: str, seen: dict[str, float], ready: asyncio.Event) -> None:  # type: ignore[no-untyped-def]
    consumer = AIOKafkaConsumer(
        settings.topic("metrics"),
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
        marker = f"{tag}-probe-".encode()
        while True:
            batches = await consumer.getmany(timeout_ms=100)
            now = time.time()
            for msgs in batches.values():
                for m in msgs:
                    if m.key and m.key.startswith(marker):
                        seen.setdefault(m.key.decode(), now)
    finally:
        await consumer.stop()


async def run(args: argparse.Namespace) -> dict[str, object]:
    base = load_settings()
    tag = f"bench{uuid.uuid4().hex[:6]}"
    tmp = Path("/tmp") / tag
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "rules.yaml").write_text(
        f"""
rules:
  - name: {tag}-probe
    metric: cpu_load_pct
    match: {{device: "{tag}-probe-*"}}
    levels: {{warning: 90}}
  - name: {tag}-util
    metric: if_in_util_pct
    levels: {{warning: 80, critical: 95}}
  - name: {tag}-errors
    metric: if_in_errors_ps
    levels: {{minor: 100}}
"""
    )
    settings = msgspec.structs.replace(
        base,
        kafka=msgspec.structs.replace(base.kafka, topic_prefix=f"{tag}."),
        streams=msgspec.structs.replace(base.streams, rules_file=str(tmp / "rules.yaml"), app_id=tag),
    )
    await ensure_topics_async(settings)
    hook = LocalReceiver().start()
    notify = parse_notify_config(
        {
            "receivers": [{"name": "hook", "type": "webhook", "url": f"{hook.url}/alerts"}],
            "routes": [{"receivers": ["hook"]}],
        },
        environ={},
    )
    runtime = AlertRuntime(settings, notify_config=notify)
    await runtime.start()
    ready, raw_ready, stop = asyncio.Event(), asyncio.Event(), asyncio.Event()
    tasks = [asyncio.create_task(run_consumer(runtime, settings, group=f"{tag}-alerting", ready=ready))]
    raw_seen: dict[str, float] = {}
    tasks.append(asyncio.create_task(raw_consumer(settings, tag, raw_seen, raw_ready)))
    await asyncio.wait_for(asyncio.gather(ready.wait(), raw_ready.wait()), 60)
    pub = Publisher(settings, linger_ms=5)
    await pub.start()
    load_sent = [0]
    loader = asyncio.create_task(
        produce_load(pub, load_batches(args.load_devices, tag), args.load_sps, stop, load_sent)
    )
    await asyncio.sleep(args.warmup)
    produced: dict[str, float] = {}
    load_start, sent_start = time.monotonic(), load_sent[0]
    try:
        for i in range(args.probes):
            device = f"{tag}-probe-{i}"
            batch = MetricBatch(device=device, ts=time.time(), metrics=[Metric("cpu_load_pct", "", 99.0)])
            produced[device] = time.time()
            await pub.send("metrics", batch)
            await asyncio.sleep(1.0 / args.probe_rate)
        await asyncio.to_thread(hook.wait_for, args.probes, 10.0)
    finally:
        load_elapsed = time.monotonic() - load_start
        achieved = (load_sent[0] - sent_start) / load_elapsed if load_elapsed else 0.0
        stop.set()
        await loader
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await runtime.stop()
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
        "p50_ms": round(pct(lat, 50), 1),
        "mean_ms": round(statistics.fmean(lat), 1) if lat else None,
        "max_ms": round(max(lat), 1) if lat else None,
        "kafka_p50_ms": round(pct(raw, 50), 1),
        "limit_is": "raw Kafka produce->consume p99 of the same probe records, same run",
        "probes": len(produced),
        "delivered": len(lat),
        "background_samples_per_s": round(achieved),
        "background_target_samples_per_s": args.load_sps,
        "pass": bool(lat) and len(lat) == len(produced) and p99 < 1000.0,
    }


async def cleanup(settings, tag: str) -> None:  # type: ignore[no-untyped-def]
    """Remove this run's topics and alert rows (they would clutter the app)."""
    with connect(settings) as conn:
        conn.execute("DELETE FROM alert_events WHERE key LIKE %s", (f"{tag}-%",))
        conn.execute("DELETE FROM alerts WHERE rule LIKE %s", (f"{tag}-%",))
        conn.commit()
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka.bootstrap)
    await admin.start()
    try:
        await admin.delete_topics(list(topic_specs(settings)))
    finally:
        await admin.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--load-sps", type=float, default=37000.0, help="background samples per second")
    ap.add_argument("--load-devices", type=int, default=500)
    ap.add_argument("--probes", type=int, default=200)
    ap.add_argument("--probe-rate", type=float, default=10.0, help="probes per second")
    ap.add_argument("--warmup", type=float, default=3.0)
    args = ap.parse_args()
    result = asyncio.run(run(args))
    out = ROOT / "bench" / "results" / "alert_latency.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

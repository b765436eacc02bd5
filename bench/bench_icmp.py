"""ICMP targets per second: 10,000 loopback targets x 3 probes in one 10-second cycle.

Run as root (raw ICMP sockets), with Kafka up for the publishing part (the
test stack's settings in the environment, e.g.
``NETVIGIL_KAFKA__BOOTSTRAP=127.0.0.1:29092``):

    .venv/bin/python bench/bench_icmp.py [--targets 10000] [--count 3] [--interval 0.2]

What it does, all in one run on the same machine, on the same targets
(127.x.y.z loopback addresses only: they all answer):

1. the prober's cycle as the service runs it (``ingest.icmp.service.probe_cycle``:
   resolve, probe, PingResult per target) and then publishing the 10,000
   records to Kafka (topics of the run's own prefix, flushed): cycle time,
   targets/s, replies received;
2. limit: icmplib's plain ``async_multiping`` (privileged, one raw socket per
   concurrent task) of the same targets at its default concurrency (50), and
   at a higher one to show why concurrency does not rescue it (every raw
   socket receives every reply: replies are lost and CPU is burnt).

JSON goes to stdout and bench/results/icmp.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import msgspec
from icmplib import async_multiping

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ingest.icmp.engine import IcmpEngine  # noqa: E402
from ingest.icmp.service import probe_cycle  # noqa: E402
from netvigil.bus import Publisher  # noqa: E402
from netvigil.inventory import Device  # noqa: E402
from netvigil.kafka_admin import ensure_topics  # noqa: E402
from netvigil.settings import Settings, load_settings  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "icmp.json"


def targets(n: int) -> list[str]:
    """n distinct loopback addresses 127.1.0.1 upwards (never .0 or .255)."""
    return [f"127.{1 + i // 64516}.{(i // 254) % 254 + 1}.{i % 254 + 1}" for i in range(n)]


async def ours(settings: Settings, addresses: list[str]) -> dict[str, Any]:
    devices = [Device(name=f"bench-{i}", address=a) for i, a in enumerate(addresses)]
    prefix = f"bench.icmp{uuid.uuid4().hex[:8]}."
    settings = msgspec.structs.replace(
        settings, kafka=msgspec.structs.replace(settings.kafka, topic_prefix=prefix)
    )
    await asyncio.to_thread(
        ensure_topics, settings, {settings.topic("ping"): 3, settings.topic("deadletter"): 1}
    )
    async with Publisher(settings, client_id="bench-icmp") as pub, IcmpEngine() as engine:
        t0 = time.perf_counter()
        results = await probe_cycle(settings, engine, devices)
        t1 = time.perf_counter()
        for r in results:
            await pub.send("ping", r)
        await pub.flush()
        t2 = time.perf_counter()
    sent = sum(r.sent for r in results)
    received = sum(r.received for r in results)
    return {
        "probe_seconds": round(t1 - t0, 3),
        "cycle_seconds": round(t2 - t0, 3),
        "targets_per_second": round(len(devices) / (t2 - t0)),
        "sent": sent,
        "received": received,
        "targets_with_loss": sum(1 for r in results if r.loss_pct > 0),
        "errors": sum(1 for r in results if r.error),
        "rtt_avg_ms_mean": round(sum(r.rtt_avg_ms or 0 for r in results) / len(results), 3),
    }


async def icmplib(addresses: list[str], c: Any, concurrency: int) -> dict[str, Any]:
    t0 = time.perf_counter()
    hosts = await async_multiping(
        addresses,
        count=c.ping_count,
        interval=c.ping_interval,
        timeout=c.ping_timeout,
        concurrent_tasks=concurrency,
        privileged=True,
    )
    secs = time.perf_counter() - t0
    return {
        "concurrent_tasks": concurrency,
        "targets": len(addresses),
        "seconds": round(secs, 3),
        "targets_per_second": round(len(addresses) / secs),
        "sent": sum(h.packets_sent for h in hosts),
        "received": sum(h.packets_received for h in hosts),
    }


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    settings = load_settings()
    c = msgspec.structs.replace(
        settings.collector, ping_count=args.count, ping_interval=args.interval, ping_timeout=args.timeout
    )
    settings = msgspec.structs.replace(settings, collector=c)
    addresses = targets(args.targets)
    mine = await ours(settings, addresses)
    limit = await icmplib(addresses, c, 50)
    crowded = await icmplib(addresses[: args.crowded_targets], c, 1000)
    return {
        "name": "icmp_targets_per_second",
        "value": mine["targets_per_second"],
        "unit": f"targets/s ({args.targets} loopback targets x {args.count} probes, {args.interval} s apart, "
        "probed and published to Kafka in one cycle)",
        "goal": args.targets / 10.0,
        "limit": limit["targets_per_second"],
        "limit_what": "icmplib async_multiping, privileged, default concurrency 50, same targets, same run",
        "ratio": round(mine["targets_per_second"] / limit["targets_per_second"], 2),
        "cycle_seconds": mine["cycle_seconds"],
        "cycle_goal_seconds": 10.0,
        "prober": mine,
        "icmplib_default": limit,
        "icmplib_concurrency_1000": crowded,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", type=int, default=10_000)
    parser.add_argument("--count", type=int, default=3)
    parser.add_argument("--interval", type=float, default=0.2)
    parser.add_argument("--timeout", type=float, default=1.0)
    parser.add_argument(
        "--crowded-targets", type=int, default=2000, help="targets for the concurrency-1000 run"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    result = asyncio.run(main_async(args))
    text = json.dumps(result, indent=1)
    print(text)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text + "\n")


if __name__ == "__main__":
    main()

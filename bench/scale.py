"""The reference customer's load through real Kafka, `netvigil worker` processes and PostgreSQL.

    .venv/bin/python bench/scale.py [--devices 14800] [--rounds 1] [--live-seconds 75]

Reference: about 14,800 devices polled once a minute, ~150 values a poll
(:func:`streams.synthetic.synthetic_poll` with 9 interfaces = 153 raw values:
the same count as 24 interfaces x 6 counters + system/host values), plus
traps and syslog = about 37,700 values/s. On a private stack (bench/scale_stack.py:
``.local/scale``, ports 24290-24299, database ``netvigil_scale``), never the
test stack:

1. warm-up: one round of every device (creates the series rows, the
   first-contact cost; not timed);
2. scale-out: for 1, 2 and 4 ``netvigil worker`` processes in one consumer
   group (8 partitions), a backlog of ``--rounds`` minutes of load is
   published first (time-compressed), then the workers drain it; throughput
   = committed records between 10% and 90% of the backlog, per second, x
   values per poll (the pipeline commits offsets only after the rows are in
   PostgreSQL, so this is values through the worker into ``metric_samples``);
3. live: 1 worker at the reference rate in real time (ts = wall clock) with
   real SNMP agents (snmpsim on 127.0.2.x, polled by ``netvigil collect
   snmp``), syslog over UDP to ``netvigil collect syslog`` and traps from
   net-snmp's ``snmptrap`` to ``netvigil collect traps``: consumer lag over
   time, end-to-end latency (poll ts -> MetricBatch consumed from the
   ``metrics`` topic, which the worker publishes after the commit), RSS;
4. database growth per day from bytes per row (``pg_total_relation_size``).

JSON to stdout and bench/results/scale.json (name, value, unit, goal, limit, ratio).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import math
import os
import signal
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from scale_live import LiveExtras
from scale_load import LatencyProbe, Monitor, percentile, produce_live, produce_rounds
from scale_stack import (
    free_port,
    machine_busy_s,
    own_env,
    service_pid,
    settings_of,
    spawn_netvigil,
    start_services,
    stop_proc,
    stop_services,
    tree_cpu_s,
)

from netvigil.db import connect
from netvigil.kafka_admin import ensure_topics_async
from netvigil.settings import Settings

RESULTS = Path(__file__).resolve().parent / "results" / "scale.json"
LOGS = Path(__file__).resolve().parent.parent / ".local" / "scale" / "logs"
GOAL = 37_000  # values/s the reference load needs
log = logging.getLogger("scale")


def variant(env: dict[str, str], tag: str) -> tuple[dict[str, str], Settings]:
    """Own topics and consumer group for one phase (same database, same devices)."""
    e = dict(env, NETVIGIL_KAFKA__TOPIC_PREFIX=f"scale.{tag}.", NETVIGIL_STREAMS__APP_ID=f"scale-{tag}")
    return e, settings_of(e)


WORKER_AGENTS: list[str] = []  # --worker-agents: e.g. only the persistence pipeline, to locate a bottleneck


def start_workers(env: dict[str, str], n: int, tag: str) -> list[Any]:
    procs = []
    for i in range(n):
        args = ["worker", "--web-port", str(free_port()), "--metrics-port", str(free_port()),
                "--data-dir", str(LOGS / f"{tag}-w{i}")]  # fmt: skip
        procs.append(spawn_netvigil(env, args + WORKER_AGENTS, LOGS / f"{tag}-worker{i}.log"))
    return procs


def reset_db(s: Settings) -> None:
    with connect(s) as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname='public' AND tablename <> 'schema_migrations'"
            " AND tablename NOT LIKE '%%\\_default' AND tablename NOT IN (SELECT inhrelid::regclass::text FROM pg_inherits)"
        ).fetchall()]  # fmt: skip
        conn.execute("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " CASCADE")
        conn.commit()


async def drain(env: dict[str, str], s: Settings, polls_total: int, workers: int, tag: str,
                limit_s: float) -> dict[str, Any]:  # fmt: skip
    procs = start_workers(env, workers, tag)
    mon = Monitor(s, f"{s.streams.app_id}-sink", [s.topic("poll")], [p.pid for p in procs])
    t0 = time.monotonic()
    groups = {"workers": [p.pid for p in procs], "postgres": [service_pid(s, "postgres") or 0],
              "kafka": [service_pid(s, "kafka") or 0]}  # fmt: skip
    cpu0 = {k: sum(tree_cpu_s(g) for g in v) for k, v in groups.items()}
    busy0 = machine_busy_s()
    cpu: dict[str, float] = {}
    mon.start()
    try:
        while time.monotonic() - t0 < limit_s and not mon.drained(polls_total):
            await asyncio.sleep(1.0)
            dead = [p for p in procs if p.poll() is not None]
            if dead:
                raise RuntimeError(f"worker exited ({tag}); see {LOGS}")
        wall = time.monotonic() - t0
        cpu = {k: round((sum(tree_cpu_s(g) for g in v) - cpu0[k]) / wall, 2) for k, v in groups.items()}
        cpu["whole_machine"] = round((machine_busy_s() - busy0) / wall, 2)  # of 2: the rest is others' load
    finally:
        await mon.stop()
        for p in procs:
            stop_proc(p)
    window = mon.rate_window(polls_total)
    return {
        "workers": workers,
        "drained": mon.drained(polls_total),
        "polls": polls_total,
        "polls_per_s": round(window[0], 1) if window else None,
        "window_s": round(window[1], 1) if window else None,
        "wall_s": round(time.monotonic() - t0, 1),
        "rss_mb_max": [round(v / 1024, 1) for v in mon.rss.values()],
        "cpu_cores_busy": cpu,  # CPU seconds / wall seconds over the drain, per component
        "lag_over_time": mon.lag_points(t0)[:: max(1, len(mon.series) // 30)],
    }


def db_figures(s: Settings) -> dict[str, Any]:
    with connect(s) as conn:
        size = conn.execute(
            "SELECT coalesce(sum(pg_total_relation_size(inhrelid)), 0) FROM pg_inherits"
            " WHERE inhparent = 'metric_samples'::regclass"
        ).fetchone()
        rows = conn.execute("SELECT count(*) FROM metric_samples").fetchone()
        db = conn.execute("SELECT pg_database_size(current_database())").fetchone()
        other = conn.execute(
            "SELECT (SELECT count(*) FROM traps), (SELECT count(*) FROM syslog_messages),"
            " (SELECT count(*) FROM series)"
        ).fetchone()
    assert size and rows and db and other
    return {"metric_samples_bytes": int(size[0]), "metric_samples_rows": int(rows[0]),
            "database_bytes": int(db[0]), "traps_rows": int(other[0]), "syslog_rows": int(other[1]),
            "series": int(other[2])}  # fmt: skip


async def main(args: argparse.Namespace) -> dict[str, Any]:
    LOGS.mkdir(parents=True, exist_ok=True)
    base_env = own_env("scale", 24290, partitions=8)
    base = settings_of(base_env)
    start_services(base)
    reset_db(base)
    run = uuid.uuid4().hex[:6]
    ifs, vpp = 9, 153  # 9 synthetic interfaces = 153 values a poll
    devices = [f"sc-{i:05d}" for i in range(args.devices - args.agents)]
    total_rounds = 1 + args.rounds * 3
    t0 = time.time() - 60 * (total_rounds + 2)
    out: dict[str, Any] = {"name": "scale", "unit": "values/s", "goal": GOAL}
    out["load_average_at_start"] = [round(v, 2) for v in os.getloadavg()]

    env, s = variant(base_env, f"warm{run}")
    await ensure_topics_async(s)
    polls, _ = await produce_rounds(s, devices, range(0, 1), t0, ifs)
    warm = await drain(env, s, polls, 1, f"warm{run}", 600)
    out["warmup"] = {k: warm[k] for k in ("polls", "wall_s", "drained")}

    scaling = []
    for i, w in enumerate(args.workers):
        env, s = variant(base_env, f"w{w}{run}")
        await ensure_topics_async(s)
        rounds = range(1 + i * args.rounds, 1 + (i + 1) * args.rounds)
        tp = time.monotonic()
        polls, samples = await produce_rounds(s, devices, rounds, t0, ifs)
        produce_s = time.monotonic() - tp
        r = await drain(env, s, polls, w, f"w{w}{run}", 400)
        r["values_per_s"] = round(r["polls_per_s"] * samples / polls) if r["polls_per_s"] else None
        r["produce_s"] = round(produce_s, 1)
        scaling.append(r)
        log.info("%d worker(s): %s values/s", w, r["values_per_s"])
    out["scaling"] = scaling

    before = db_figures(base)
    live: dict[str, Any] = {"real_agents": 0, "lag_end": None, "lag_bound": 0, "latency_p50_s": None,
                            "latency_p99_s": None}  # fmt: skip
    if args.live_seconds > 0:
        env, s = variant(base_env, f"live{run}")
        await ensure_topics_async(s)
        live = await live_phase(env, s, devices, total_rounds, ifs, args)
    after = db_figures(base)
    out["live"] = live
    out["worker_agents"] = args.worker_agents or "all (netvigil worker default)"

    bytes_per_row = after["metric_samples_bytes"] / max(after["metric_samples_rows"], 1)
    rows_per_poll = after["metric_samples_rows"] / max(args.devices * total_rounds, 1)
    per_day_rows = rows_per_poll * args.devices * 1440
    out["db"] = {**after, "bytes_per_row": round(bytes_per_row, 1), "rows_per_poll": round(rows_per_poll, 1),
                 "metric_samples_gb_per_day": round(per_day_rows * bytes_per_row / 1e9, 2),
                 "traps_in_live": after["traps_rows"] - before["traps_rows"],
                 "syslog_in_live": after["syslog_rows"] - before["syslog_rows"]}  # fmt: skip
    best = max((r["values_per_s"] or 0) for r in scaling)
    one = scaling[0]["values_per_s"] or 0
    out.update(value=one, limit=best, ratio=round(one / GOAL, 2))
    out["split"] = {"devices": args.devices, "real_snmp_agents": live["real_agents"],
                    "synthetic_devices": len(devices), "values_per_poll": vpp,
                    "reference_values_per_s": round(args.devices * vpp / 60)}  # fmt: skip
    carried = one >= GOAL and live["lag_end"] is not None and live["lag_end"] <= live["lag_bound"]
    out["verdict"] = (
        f"One 2-core machine {'carries' if carried else 'does NOT carry'} the reference load: "
        f"1 worker sustains {one:,} values/s vs {GOAL:,} needed (x{one / GOAL:.1f}); "
        f"best {best:,} values/s; live at the reference rate: lag {live['lag_end']} polls at the end, "
        f"latency p50 {live['latency_p50_s']} s / p99 {live['latency_p99_s']} s. "
        f"At {one:,} values/s a worker, the load needs {math.ceil(GOAL / max(one, 1))} workers with a core "
        f"each (plus PostgreSQL's share); 2 cores reach {best:,}."
    )
    out["events_note"] = (
        "traps/syslog rows count what was stored when the live phase stopped; the rest was still queued "
        "(consumer lag), not lost"
    )
    out["load_average_at_end"] = [round(v, 2) for v in os.getloadavg()]
    out["note"] = ("value: values/s through 1 worker into metric_samples (time-compressed backlog); limit: best of "
                   "1/2/4 workers; goal: the reference load's values/s; all on this 2-core machine, shared")  # fmt: skip
    return out


async def live_phase(env: dict[str, str], s: Settings, devices: list[str], first_round: int, ifs: int,
                     args: argparse.Namespace) -> dict[str, Any]:  # fmt: skip
    extras = LiveExtras(env, s, args.agents, LOGS)
    await asyncio.to_thread(extras.start)
    procs = start_workers(env, 1, "live")
    probe = LatencyProbe(s)
    mon = Monitor(s, f"{s.streams.app_id}-sink", [s.topic("poll")], [p.pid for p in procs])
    events = Monitor(s, f"{s.streams.app_id}-sink", [s.topic("trap"), s.topic("syslog")])
    counts = {"polls": 0, "samples": 0}
    real: dict[str, Any] = {}
    try:
        await probe.start()
        await asyncio.sleep(15)  # worker joins its group
        t0 = time.monotonic()
        mon.start()
        events.start()
        senders = asyncio.create_task(extras.send_events(args.live_seconds))
        await produce_live(s, devices, args.live_seconds, first_round, ifs, counts)
        await senders
        await asyncio.sleep(10)  # the tail
        real = await asyncio.to_thread(extras.real_polls)
    finally:
        await mon.stop()
        await events.stop()
        await probe.stop()
        for p in procs:
            stop_proc(p)
        await asyncio.to_thread(extras.stop)
    lag = mon.lag_points(t0)
    lat = probe.latencies
    return {
        "seconds": args.live_seconds,
        "workers": 1,
        "real_agents": args.agents,
        "synthetic_polls": counts["polls"],
        "synthetic_values_per_s": round(counts["samples"] / args.live_seconds),
        "real_polls": real,
        "traps_sent": extras.traps_sent,
        "syslog_sent": extras.syslog_sent,
        "latency_n": len(lat),
        "latency_p50_s": round(percentile(lat, 50), 3),
        "latency_p99_s": round(percentile(lat, 99), 3),
        "latency_max_s": round(max(lat), 3) if lat else None,
        "lag_max": max((p[1] for p in lag), default=0),
        "lag_end": lag[-1][1] if lag else None,
        "lag_bound": max(1, len(devices) // 60) * 2,
        "lag_over_time": lag[:: max(1, len(lag) // 30)],
        "trap_syslog_lag_over_time": events.lag_points(t0)[:: max(1, len(events.series) // 15)],
        "rss_mb_max": [round(v / 1024, 1) for v in mon.rss.values()],
    }


def cli() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--devices", type=int, default=14_800)
    ap.add_argument("--agents", type=int, default=100, help="real snmpsim agents among the devices")
    ap.add_argument("--rounds", type=int, default=1, help="minutes of load in each scale-out backlog")
    ap.add_argument("--workers", type=lambda v: [int(x) for x in v.split(",")], default=[1, 2, 4])
    ap.add_argument("--live-seconds", type=float, default=75.0, help="0: no live phase")
    ap.add_argument("--keep-stack", action="store_true", help="leave .local/scale running afterwards")
    ap.add_argument("--tag", default="", help="results go to bench/results/scale-TAG.json (experiments)")
    ap.add_argument(
        "--worker-agents", default=None, help="netvigil worker --agents (default: all registrars)"
    )
    args = ap.parse_args()
    if args.worker_agents:
        WORKER_AGENTS.extend(["--agents", args.worker_agents])
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("aiokafka").setLevel(logging.WARNING)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the finally blocks: stop workers
    t = time.monotonic()
    try:
        out = asyncio.run(main(args))
    finally:
        if not args.keep_stack:  # the private stack is ours: leave nothing running
            stop_services(settings_of(own_env("scale", 24290, partitions=8)))
    out["run_s"] = round(time.monotonic() - t, 1)
    results = RESULTS.with_name(f"scale-{args.tag}.json") if args.tag else RESULTS
    results.parent.mkdir(parents=True, exist_ok=True)
    results.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    cli()

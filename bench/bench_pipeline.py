"""Sustained samples per second from Kafka through one worker's pipeline into PostgreSQL.

Run against a running stack (``netvigil stack up``, or the test stack's
settings in the environment):

    .venv/bin/python bench/bench_pipeline.py [--devices 1000,15000] [--polls 8,3] [--goal 100000]

Two scales by default, because they behave differently: 1,000 devices (~150k
series) and 15,000 devices (~1.9M series, the reference deployment's series
count: a worker's caches and rate states at their real size). For each scale,
in one run on one machine:

1. produces ``devices x polls`` synthetic DevicePoll records (about 150 raw
   samples each, :mod:`streams.synthetic`) to topics of its own prefix;
2. runs the worker's pipeline (:class:`streams.pipeline.Pipeline`, the same
   object ``netvigil worker`` runs, with Redis live state and the ``metrics``
   topic output) in this process and times it draining everything into
   ``metric_samples``: decode, rates, series ids, binary COPY, rate state,
   MetricBatch publishing, offset commits;
3. limit: plain PostgreSQL binary COPY of the same number of rows (other
   series ids) into ``metric_samples`` in the same run -- the database's
   own ceiling on this machine, with nothing else to do.

Per scale (``scales[]``): ``value`` = raw samples consumed per second
(steady state: from the end of the first committed batch to the last),
``limit`` = the plain COPY of the same rows in samples/s, ``ratio``,
``rows_per_s`` = derived rows written per second, ``phase_seconds``,
``worker_cpu_us_per_sample`` = this process's CPU time over the drain per raw
sample (the worker's own cost, PostgreSQL excluded: steadier than samples/s on
a shared machine), ``rss_mb`` = the process's peak resident memory after that
scale (worker plus the bench's own producer). Top level: the lowest ``value`` of all scales with
that scale's limit -- the figure the goal is about. JSON to stdout and
bench/results/pipeline.json. The bench's rows are deleted afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import resource
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import msgspec

from netvigil.bus import Publisher
from netvigil.db import connect
from netvigil.kafka_admin import ensure_topics_async
from netvigil.settings import Settings, load_settings
from netvigil.topics import encode
from streams.app import SeriesBatch
from streams.live import LiveState
from streams.pipeline import Pipeline
from streams.rates import compute
from streams.rows import encode_samples_copy
from streams.synthetic import synthetic_poll
from streams.testing import drop_topics

RESULTS = Path(__file__).resolve().parent / "results" / "pipeline.json"


def isolated(settings: Settings) -> Settings:
    uid = uuid.uuid4().hex[:8]
    return msgspec.structs.replace(
        settings,
        kafka=msgspec.structs.replace(settings.kafka, topic_prefix=f"bench.{uid}."),
        streams=msgspec.structs.replace(settings.streams, app_id=f"bench-{uid}"),
    )


async def produce(
    s: Settings, devices: list[str], rounds: range, t0: float, states: dict[str, Any]
) -> tuple[int, int]:
    """Send polls ``rounds`` of every device; returns (raw samples, expected derived rows)."""
    samples = rows = 0
    async with Publisher(s, linger_ms=50) as pub:
        futures = []
        for r in rounds:
            for d in devices:
                p = synthetic_poll(d, t0 + 60 * r, r)
                res = compute(states.get(d), p)
                states[d] = res.state
                rows += len(res.batch.metrics) if res.batch else 0
                samples += len(p.samples)
                futures.append(await pub.send_raw("poll", encode(p), d.encode()))
        await asyncio.gather(*futures)
    return samples, rows


async def drain(pipe: Pipeline, rows: int) -> dict[str, float]:
    """Run ``pipe`` until it has written ``rows`` more rows; timings of the steady part."""
    marks: list[tuple[float, int]] = []
    base = pipe.samples_written

    async def mark(groups: Sequence[SeriesBatch]) -> None:
        marks.append((time.perf_counter(), pipe.samples_written))

    pipe.processors = [mark]
    pipe.phase_seconds.clear()
    pipe.sink.phase_seconds.clear()
    started, cpu_started = time.perf_counter(), time.process_time()
    stop = False
    task = asyncio.create_task(pipe.run(lambda: stop))
    try:
        while pipe.samples_written - base < rows:
            await asyncio.sleep(0.02)
            if task.done():
                task.result()
    finally:
        stop = True
        await task
    end = time.perf_counter()
    (t_first, rows_first) = marks[0]
    return {
        "wall_s": end - started,
        "cpu_s": time.process_time() - cpu_started,
        "steady_s": max(marks[-1][0] - t_first, 1e-9),
        "steady_rows": marks[-1][1] - rows_first,
        "batches": len(marks),
        **{f"{k}_s": round(v, 3) for k, v in pipe.phase_seconds.items()},
        **{f"write_{k}_s": round(v, 3) for k, v in pipe.sink.phase_seconds.items()},
    }


def copy_limit(s: Settings, devices_like: str) -> tuple[float, int]:
    """Seconds for one plain binary COPY of the very rows the pipeline wrote, 1 ms later.

    Same series ids, same order, same values: the same index and partition
    work for PostgreSQL, with nothing else to do. Returns (seconds, rows).
    """
    with connect(s) as conn:
        rows = conn.execute(
            "SELECT m.series_id, extract(epoch FROM m.ts)::float8 + 0.001, m.value, m.flag"
            " FROM metric_samples m JOIN series x ON x.id = m.series_id WHERE x.device LIKE %s"
            " ORDER BY m.ts, m.series_id",
            (devices_like,),
        ).fetchall()
        payload = encode_samples_copy(rows)
        started = time.perf_counter()
        with (
            conn.cursor() as cur,
            cur.copy("COPY metric_samples (series_id, ts, value, flag) FROM STDIN (FORMAT BINARY)") as cp,
        ):
            cp.write(payload)
        conn.commit()
        return time.perf_counter() - started, len(rows)


def cleanup(s: Settings, devices_like: str) -> None:
    with connect(s) as conn:
        conn.execute(
            "DELETE FROM metric_samples WHERE series_id IN (SELECT id FROM series WHERE device LIKE %s)",
            (devices_like,),
        )
        conn.execute("DELETE FROM series WHERE device LIKE %s", (devices_like,))
        conn.execute("DELETE FROM stream_rate_state WHERE device LIKE %s", (devices_like,))
        conn.commit()


async def one_scale(args: argparse.Namespace, n_devices: int, polls: int) -> dict[str, Any]:
    s = isolated(load_settings())
    await ensure_topics_async(s)
    devices = [f"{s.streams.app_id}-d{i}" for i in range(n_devices)]
    t0 = time.time() - 60 * polls
    states: dict[str, Any] = {}
    live = None if args.no_live else LiveState(s, prefix=f"{s.kafka.topic_prefix}live:")
    pipe = Pipeline(s, live=live)
    await pipe.start()
    try:
        # Warm-up, not timed: the first poll of each device creates its series and rate baseline,
        # as happens once when a device is added; a running system is in the steady state after it.
        t = time.perf_counter()
        _, warm_rows = await produce(s, devices, range(2), t0, states)
        await drain(pipe, warm_rows)
        warmup_s = time.perf_counter() - t
        t = time.perf_counter()
        samples, rows = await produce(s, devices, range(2, polls), t0, states)
        produce_s = time.perf_counter() - t
        d = await drain(pipe, rows)
        limit_s, limit_rows = copy_limit(s, f"{s.streams.app_id}-%")
    finally:
        # aiokafka's fetcher re-raises the cancellation of a fetch that was in its retry
        # back-off (a broker request timeout on this loaded machine); the run is over anyway.
        with contextlib.suppress(asyncio.CancelledError):
            await pipe.stop()
        if live is not None:
            await live.close()
        cleanup(s, f"{s.streams.app_id}-%")
        await drop_topics(s)
    per_sample_rows = rows / samples
    value = d["steady_rows"] / per_sample_rows / d["steady_s"]
    limit = limit_rows / per_sample_rows / limit_s
    return {
        "devices": n_devices,
        "series": len(pipe.sink.series),
        "value": round(value),
        "limit": round(limit),
        "ratio": round(value / limit, 3),
        "rows_per_s": round(d["steady_rows"] / d["steady_s"]),
        "limit_rows_per_s": round(limit_rows / limit_s),
        "wall_samples_per_s": round(samples / d["wall_s"]),
        # this process's CPU (the worker; PostgreSQL not included) per raw sample over the drain:
        # less sensitive than samples/s to what else runs on a shared machine
        "worker_cpu_us_per_sample": round(d["cpu_s"] / samples * 1e6, 2),
        "samples": samples,
        "rows": rows,
        "polls": n_devices * (polls - 2),
        "batches": d["batches"],
        "phase_seconds": {
            k[:-2]: v for k, v in d.items() if k.endswith("_s") and k not in ("wall_s", "steady_s", "cpu_s")
        },
        "produce_s": round(produce_s, 2),
        "warmup_s": round(warmup_s, 2),
        "rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    scales = [int(d) for d in args.devices.split(",")]
    polls = [int(p) for p in args.polls.split(",")]
    polls += [polls[-1]] * (len(scales) - len(polls))
    runs = []
    for n, p in zip(scales, polls, strict=False):
        runs.append(await one_scale(args, n, p))
        print(json.dumps(runs[-1]), flush=True)
    worst = min(runs, key=lambda r: r["value"])
    return {
        "name": "pipeline",
        "value": worst["value"],
        "unit": "samples/s",
        "goal": args.goal,
        "limit": worst["limit"],
        "ratio": worst["ratio"],
        "devices": worst["devices"],
        "scales": runs,
        "live_state": not args.no_live,
        "note": "value: raw samples/s through one pipeline (decode, rates, COPY, state, metrics topic, "
        "Redis, commit) at the slowest scale; limit: plain binary COPY of the same rows (1 ms later) "
        "into metric_samples in the same run; scales[]: every scale",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", default="1000,15000", help="comma-separated scales, one run each")
    parser.add_argument(
        "--polls", default="8,3", help="per device and scale (comma-separated); the first 2 are warm-up"
    )
    parser.add_argument("--goal", type=float, default=100_000)
    parser.add_argument("--no-live", action="store_true", help="without Redis live state")
    args = parser.parse_args()
    result = asyncio.run(main_async(args))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

"""Benchmark: points scored per second by the anomaly stage, and bytes of state per series.

The stage's batch hook (``AnomalyStage.process``) is fed groups shaped like the
pipeline's: 200 devices per group, each with 4 interfaces, CPU, memory, a
disk and ping (34 values: 33 scored, 12 forecast), one round per simulated
minute.  Everything the hook does is timed: selection, one bank update per
family, storage sampling, score records, alert conditions, forecast windows
and forecasts.  Database writes happen in the stage's background task (a
thread) and are not part of this figure.

Reference ("limit") measured in the same run: the bare ``bank.update`` calls
on the same points (the detector alone), so ``ratio`` is the share of the
hook's time spent in the detector.

Run: .venv/bin/python bench/bench_anomaly_stream.py [--devices N] [--seconds S]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path

import numpy as np

from netvigil.records import Metric, MetricBatch
from netvigil.settings import load_settings
from streams.anomaly.config import AnomalyConfig
from streams.anomaly.scoring import gather
from streams.anomaly.stage import AnomalyStage
from streams.app import SeriesBatch

PER_IF = (
    "if_in_bps",
    "if_out_bps",
    "if_in_util_pct",
    "if_out_util_pct",
    "if_in_errors_ps",
    "if_out_errors_ps",
)
DEVICE = ("cpu_user_pct", "cpu_system_pct", "cpu_iowait_pct", "cpu_idle_pct", "mem_used_pct", "swap_used_pct")


def layout() -> list[tuple[str, str]]:
    out = [(m, str(i)) for i in range(1, 5) for m in PER_IF]
    out += [(m, "") for m in DEVICE] + [
        ("disk_used_pct", "/"),
        ("ping_rtt_avg_ms", ""),
        ("ping_loss_pct", ""),
    ]
    out += [("sys_uptime_s", "")]  # not scored
    return out


def rounds(devices: int, n: int, t0: float, group: int = 200) -> list[list[list[SeriesBatch]]]:
    """rounds -> groups (one pipeline hook call each) -> one SeriesBatch per device."""
    lay = layout()
    rng = np.random.default_rng(0)
    base = rng.uniform(5, 60, (devices, len(lay)))
    out: list[list[list[SeriesBatch]]] = []
    for r in range(n):
        ts = t0 + 60.0 * r
        noise = rng.normal(0, 1, (devices, len(lay)))
        groups: list[list[SeriesBatch]] = []
        for d0 in range(0, devices, group):
            g: list[SeriesBatch] = []
            for d in range(d0, min(d0 + group, devices)):
                vals = base[d] + 3 * np.sin(ts / 13751.0 + d) + noise[d]
                ms = [Metric(m, i, float(v)) for (m, i), v in zip(lay, vals, strict=True)]
                ids = list(range(d * len(lay), (d + 1) * len(lay)))
                g.append(SeriesBatch(MetricBatch(device=f"b{d}", ts=ts, metrics=ms), ids))
            groups.append(g)
        out.append(groups)
    return out


async def run(devices: int, seconds: float) -> dict[str, object]:
    settings = load_settings()
    cfg = AnomalyConfig(thresholds_from_rules=False)
    stage = AnomalyStage(settings, cfg, publish_kafka=False)  # no start(): no I/O, default detector
    data = rounds(devices, 30, time.time() - 3 * 3600)
    for groups in data[:2]:  # create every series, outside the timing
        for g in groups:
            await stage.process(g)
    scored0, t_start, r = stage.scored, time.perf_counter(), 2
    rows = 0
    while time.perf_counter() - t_start < seconds and r < len(data):
        for g in data[r]:
            await stage.process(g)
        rows += len(stage._scores)
        stage._scores.clear()
        stage._records.clear()
        stage._forecasts.clear()
        r += 1
    elapsed = time.perf_counter() - t_start
    rate = (stage.scored - scored0) / elapsed
    # reference: the bank updates alone on the same rounds
    banks = {f: b.clone() for f, b in stage.banks.items()}
    prepared = []
    for groups in data[2:r]:
        for g in groups:
            for fam, p in gather(g, cfg).items():
                prepared.append((fam, banks[fam].index(p.keys()), np.asarray(p.ts), np.asarray(p.values)))
    t1, n = time.perf_counter(), 0
    for fam, idx, ts, x in prepared:
        banks[fam].update(idx, ts, x)
        n += len(idx)
    bare = n / (time.perf_counter() - t1)
    series = stage.series_count()
    snap = sum(len(b.snapshot()) for b in stage.banks.values())
    mem = sum(b.nbytes_per_series() * len(b) for b in stage.banks.values()) / series
    return {
        "name": "anomaly_stage_points_scored_per_second",
        "value": round(rate),
        "unit": "points/s (one core, the batch hook)",
        "goal": 37_000,
        "goal_note": "the reference customer's whole load, about 37,000 samples/s",
        "limit": round(bare),
        "limit_name": "bare detector bank.update on the same points",
        "ratio": round(rate / bare, 2),
        "devices": devices,
        "series_scored": series,
        "rounds_timed": r - 2,
        "score_rows_per_round": round(rows / max(r - 2, 1)),
        "snapshot_bytes_per_series": round(snap / series),
        "bank_memory_bytes_per_series": round(mem),
        "forecast_series": len(stage.windows),
        "forecast_window_bytes_per_series": round(stage.windows.nbytes_per_series()),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--devices", type=int, default=2000)
    ap.add_argument("--seconds", type=float, default=10.0)
    args = ap.parse_args()
    result = asyncio.run(run(args.devices, args.seconds))
    out = Path(__file__).parent / "results" / "anomaly_stream.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

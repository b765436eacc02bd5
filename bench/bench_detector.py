"""Benchmark: default detector bank updates/s per core and state bytes per series.

Reference ("limit") measured in the same run: River's MinMaxScaler | HalfSpaceTrees
per series (the HST bank), score+learn on the same kind of data.
Run: .venv/bin/python bench/bench_detector.py [--series N] [--batch B] [--seconds S]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from models.online import make_detector


def _data(n_series: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    base = rng.uniform(10, 90, n_series)
    amp = rng.uniform(0, 20, n_series)
    return base, amp


def bench_bank(
    name: str, n_series: int, batch: int, seconds: float, seed: int = 0
) -> tuple[float, float, int]:
    """Updates/s over random batches of distinct series, and bytes per series."""
    bank = make_detector(name, seed=seed)
    keys = [f"dev{i // 150}/if{i % 150}/octets" for i in range(n_series)]
    rows = bank.index(keys)
    base, amp = _data(n_series, seed)
    rng = np.random.default_rng(seed + 1)
    t0, done, step = 1_700_000_000.0, 0, 0
    bank.update(rows, np.full(n_series, t0 - 60.0), base)  # warm-up: create every series
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        sel = rng.choice(n_series, size=min(batch, n_series), replace=False)
        ts = np.full(len(sel), t0 + 60.0 * step)
        x = base[sel] + amp[sel] * np.sin(ts / 13751.0) + rng.normal(0, 1, len(sel))
        bank.update(rows[sel], ts, x)
        done += len(sel)
        step += 1
    rate = done / (time.perf_counter() - start)
    return rate, bank.nbytes_per_series(), len(bank)


def key_map_bytes(n: int) -> float:
    """Measured per-series cost of the key -> row dict with realistic keys."""
    keys = {f"dev{i // 150}/if{i % 150}/octets": i for i in range(n)}
    size = sys.getsizeof(keys) + sum(sys.getsizeof(k) for k in keys)
    return size / n


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--series", type=int, default=200_000)
    ap.add_argument("--batch", type=int, default=10_000)
    ap.add_argument("--seconds", type=float, default=5.0)
    args = ap.parse_args()
    rate, _, n = bench_bank("default", args.series, args.batch, args.seconds)
    bank = make_detector("default")
    bank.index([f"s{i}" for i in range(1000)])
    arrays = sum(a.nbytes for a in bank._state.values()) / 1024  # capacity is 1024 rows
    per_series = arrays + key_map_bytes(100_000)
    hst_rate, hst_bytes, _ = bench_bank("hst", 200, 200, min(args.seconds, 3.0))
    result = {
        "name": "detector_bank_updates_per_second_per_core",
        "value": round(rate),
        "unit": "series-updates/s/core",
        "goal": 50_000,
        "limit": round(hst_rate),
        "limit_name": "river MinMaxScaler|HalfSpaceTrees per series, score+learn",
        "ratio": round(rate / hst_rate, 2),
        "series": n,
        "batch": args.batch,
        "bytes_per_series": round(per_series),
        "bytes_per_series_arrays": round(arrays),
        "bytes_per_series_goal": 2048,
        "hst_bytes_per_series_pickled": round(hst_bytes),
    }
    out = Path(__file__).parent / "results" / "detector.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

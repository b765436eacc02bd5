"""Synthetic history and judged alerts, for tests, notebooks in CI and demos.

A few days of one-minute rollups per series with a daily shape, noise and a handful
of injected incidents (spikes and level shifts); alerts at the incidents that an
"operator" acknowledged, plus false-positive alerts at ordinary moments.  Also a
tiny NAB-format corpus with labelled windows, so the NAB notebook runs anywhere.
Everything is keyed by a device prefix so ``purge`` removes exactly what was seeded.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import psycopg

from models.train.data import family_metrics

DAY = 86400.0


@dataclass
class Seeded:
    """What ``seed_history`` wrote: series ids and the incident times (epoch s)."""

    prefix: str
    series_ids: list[int] = field(default_factory=list)
    incidents: list[tuple[int, float]] = field(default_factory=list)
    false_alarms: list[tuple[int, float]] = field(default_factory=list)
    rows: int = 0


def synthetic_values(
    ts: np.ndarray, rng: np.random.Generator, base: float = 40.0, amplitude: float = 15.0, noise: float = 2.0
) -> np.ndarray:
    """A daily sine around ``base`` plus Gaussian noise."""
    daily = amplitude * np.sin(2 * np.pi * (ts % DAY) / DAY)
    return base + daily + rng.normal(0.0, noise, len(ts))


def inject(
    values: np.ndarray, rng: np.random.Generator, n: int, margin: int, length: int = 20, size: float = 40.0
) -> list[int]:
    """Add ``n`` incidents (a raised plateau of ``length`` points) after ``margin``; their starts."""
    starts = np.sort(rng.choice(np.arange(margin, len(values) - length), n, replace=False))
    for s in starts.tolist():
        values[s : s + length] += size
    return [int(s) for s in starts]


def seed_history(
    conn: psycopg.Connection,
    prefix: str,
    family: str = "cpu",
    *,
    days: float = 3.0,
    devices: int = 2,
    incidents: int = 2,
    false_alarms: int = 2,
    seed: int = 0,
    now: datetime | None = None,
) -> Seeded:
    """Insert devices' series, ``days`` of rollup_1m and judged alerts; commit is the caller's."""
    rng = np.random.default_rng(seed)
    end = (now or datetime.now(UTC)).replace(second=0, microsecond=0)
    start = end - timedelta(days=days)
    n = int(days * 1440)
    ts = start.timestamp() + 60.0 * np.arange(n)
    metric = family_metrics(family)[0]
    out = Seeded(prefix)
    for d in range(devices):
        device = f"{prefix}dev{d}"
        row = conn.execute(
            "INSERT INTO series (device, metric, instance, unit) VALUES (%s, %s, '', '%%')"
            " ON CONFLICT (device, metric, instance) DO UPDATE SET unit = EXCLUDED.unit RETURNING id",
            (device, metric),
        ).fetchone()
        assert row is not None  # RETURNING with DO UPDATE always yields the row
        sid = int(row[0])
        out.series_ids.append(sid)
        values = synthetic_values(ts, rng, base=30.0 + 10 * d)
        starts = inject(values, rng, incidents, margin=n // 2)
        with conn.cursor().copy("COPY rollup_1m (series_id, ts, n, avg, min, max) FROM STDIN") as cp:
            for t, v in zip(ts.tolist(), values.tolist(), strict=True):
                cp.write_row((sid, datetime.fromtimestamp(t, UTC), 1, v, v, v))
        out.rows += n
        quiet = [
            i
            for i in rng.choice(np.arange(n // 2, n), 4 * false_alarms, replace=False).tolist()
            if all(abs(i - s) > 60 for s in starts)
        ][:false_alarms]
        for i in starts:
            out.incidents.append((sid, float(ts[i])))
            _alert(conn, prefix, device, metric, float(ts[i]), acked=True)
        for i in quiet:
            out.false_alarms.append((sid, float(ts[i])))
            _alert(conn, prefix, device, metric, float(ts[i]), acked=False)
    return out


def _alert(conn: psycopg.Connection, prefix: str, device: str, metric: str, t: float, acked: bool) -> None:
    when = datetime.fromtimestamp(t, UTC)
    conn.execute(
        "INSERT INTO alerts (key, rule, device, instance, metric, kind, severity, state, summary,"
        " started, updated, acknowledged_by, acknowledged_at, false_positive)"
        " VALUES (%s, 'anomaly', %s, '', %s, 'anomaly', 'warning', %s, 'synthetic', %s, %s, %s, %s, %s)"
        " ON CONFLICT (key) DO NOTHING",
        (
            f"{prefix}{device}:{metric}:{int(t)}",
            device,
            metric,
            "acknowledged" if acked else "resolved",
            when,
            when,
            "seed-operator" if acked else None,
            when if acked else None,
            not acked,
        ),
    )


def purge(conn: psycopg.Connection, prefix: str) -> None:
    """Delete every row ``seed_history`` wrote for ``prefix``."""
    like = prefix.replace("\\", "\\\\").replace("_", "\\_").replace("%", "\\%") + "%"
    conn.execute(
        "DELETE FROM rollup_1m WHERE series_id IN (SELECT id FROM series WHERE device LIKE %s)", (like,)
    )
    conn.execute("DELETE FROM alerts WHERE device LIKE %s", (like,))
    conn.execute("DELETE FROM series WHERE device LIKE %s", (like,))


def write_nab_corpus(root: Path, files: int = 3, rows: int = 2000, seed: int = 0) -> Path:
    """A small NAB-format corpus (``data/synthetic/*.csv`` + ``labels``) with one incident each."""
    rng = np.random.default_rng(seed)
    root = Path(root)
    (root / "data" / "synthetic").mkdir(parents=True, exist_ok=True)
    (root / "labels").mkdir(parents=True, exist_ok=True)
    windows: dict[str, list[list[str]]] = {}
    stamps = pd.date_range("2026-01-05 00:00:00", periods=rows, freq="5min")
    for f in range(files):
        ts = stamps.astype("int64").to_numpy() / 1e9
        values = synthetic_values(ts, rng, base=50.0 + 5 * f)
        (start,) = inject(values, rng, 1, margin=int(rows * 0.5), length=12, size=35.0)
        key = f"synthetic/synth_{f}.csv"
        frame = pd.DataFrame({"timestamp": stamps.strftime("%Y-%m-%d %H:%M:%S"), "value": values})
        frame.to_csv(root / "data" / key, index=False)
        half = max(rows // 40, 5)
        lo, hi = max(start - half, 0), min(start + half, rows - 1)
        windows[key] = [[str(stamps[lo]) + ".000000", str(stamps[hi]) + ".000000"]]
    (root / "labels" / "combined_windows.json").write_text(json.dumps(windows, indent=1))
    return root


__all__ = ["Seeded", "inject", "purge", "seed_history", "synthetic_values", "write_nab_corpus"]

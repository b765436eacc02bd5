"""Helpers for tests and the benchmark: series rows and synthetic batch groups.

Scenario tests feed the stage exactly what the pipeline's batch hook gives it
(:class:`~streams.app.SeriesBatch` groups with ``series`` ids), with simulated
timestamps, so hours of data take a second.
"""

from __future__ import annotations

from collections.abc import Sequence

from netvigil.db import connect
from netvigil.metrics import CATALOGUE
from netvigil.records import Metric, MetricBatch
from netvigil.settings import Settings
from streams.app import SeriesBatch

__all__ = ["group", "series_ids"]


def series_ids(settings: Settings, device: str, metrics: Sequence[tuple[str, str]]) -> list[int]:
    """Ids of (metric, instance) series of ``device`` in the ``series`` table, created if new."""
    out: list[int] = []
    with connect(settings) as conn:
        for metric, instance in metrics:
            unit = CATALOGUE[metric].unit if metric in CATALOGUE else ""
            row = conn.execute(
                "INSERT INTO series (device, metric, instance, unit) VALUES (%s, %s, %s, %s)"
                " ON CONFLICT (device, metric, instance) DO UPDATE SET unit = EXCLUDED.unit RETURNING id",
                (device, metric, instance, unit),
            ).fetchone()
            assert row is not None
            out.append(int(row[0]))
    return out


def group(
    device: str, ts: float, values: Sequence[tuple[str, str, float]], ids: Sequence[int]
) -> SeriesBatch:
    """One device's batch at ``ts``: (metric, instance, value) with their series ids."""
    batch = MetricBatch(device=device, ts=ts, metrics=[Metric(m, i, v) for m, i, v in values])
    return SeriesBatch(batch, list(ids))

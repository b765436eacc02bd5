"""Series ids: a sink with an empty cache finds the series PostgreSQL has and inserts only new ones."""

from __future__ import annotations

import time
import uuid

from netvigil.db import connect
from netvigil.records import Metric, MetricBatch
from netvigil.settings import Settings
from streams.sink import Sink, text_array


def _batch(device: str, metrics: list[tuple[str, str]], ts: float) -> MetricBatch:
    return MetricBatch(device=device, ts=ts, metrics=[Metric(m, i, 1.0, "%") for m, i in metrics])


def _ids(s: Settings, device: str) -> dict[tuple[str, str], int]:
    with connect(s) as conn:
        rows = conn.execute("SELECT metric, instance, id FROM series WHERE device = %s", (device,)).fetchall()
    return {(m, i): sid for m, i, sid in rows}


async def test_a_cold_cache_reuses_stored_series_and_inserts_new_ones(pg_stack: Settings) -> None:
    a, b = f"sr-{uuid.uuid4().hex[:8]}", f"sr-{uuid.uuid4().hex[:8]}"
    first = [("cpu_load_pct", ""), ("if_in_util_pct", "1"), ("if_in_util_pct", "2")]
    now = time.time()
    warm = Sink(pg_stack)
    try:
        made = await warm.resolve([_batch(a, first, now)])
    finally:
        await warm.close()
    stored = _ids(pg_stack, a)
    assert made[0].tolist() == [stored[k] for k in first]

    cold = Sink(pg_stack)  # a worker that just started: nothing cached
    try:
        second = [("if_in_util_pct", "2"), ("mem_used_pct", ""), ("cpu_load_pct", "")]  # one new series
        got = await cold.resolve(
            [_batch(a, second, now + 60), _batch(b, first, now + 60), _batch(a, first, now + 60)]
        )
    finally:
        await cold.close()
    after_a, after_b = _ids(pg_stack, a), _ids(pg_stack, b)
    assert {k: after_a[k] for k in stored} == stored  # the stored series keep their ids
    assert set(after_a) == set(first) | set(second) and set(after_b) == set(first)
    assert got[0].tolist() == [after_a[k] for k in second]
    assert got[1].tolist() == [after_b[k] for k in first]
    assert got[2].tolist() == [after_a[k] for k in first]


def test_text_array_parameters_round_trip(pg_stack: Settings) -> None:
    cases = [[""], ["", ""], ["a", "", "b"], ["ünï", "x y", "/", "Gi0/1.100"], ["a\x1fb", "c"], ["\x1f"]]
    with connect(pg_stack) as conn:
        for values in cases:
            sql, param = text_array(values)
            row = conn.execute(f"SELECT {sql}", (param,), binary=True).fetchone()
            assert row is not None and row[0] == values, values
    assert text_array(["a\x1fb"])[0] == "%s::text[]"  # the separator inside a value: sent as a list


async def test_inserting_series_another_worker_just_inserted_returns_their_ids(pg_stack: Settings) -> None:
    """The RETURNING path gives new ids; series that conflict (inserted meanwhile) are looked up."""
    a = f"sr-{uuid.uuid4().hex[:8]}"
    first = Sink(pg_stack)
    try:
        made = await first._insert_series({(a, "cpu_load_pct", ""): "%", (a, "if_in_util_pct", "3"): "%"})
    finally:
        await first.close()
    second = Sink(pg_stack)
    try:
        got = await second._insert_series(
            {(a, "if_in_util_pct", "3"): "%", (a, "mem_used_pct", ""): "%", (a, "cpu_load_pct", ""): "%"}
        )
    finally:
        await second.close()
    stored = _ids(pg_stack, a)
    assert made == {(a, m, i): stored[(m, i)] for m, i in [("cpu_load_pct", ""), ("if_in_util_pct", "3")]}
    assert got == {(a, m, i): sid for (m, i), sid in stored.items()}

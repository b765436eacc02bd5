"""``ScoreStore.write``: rows stored exactly, a repeated write adds nothing, a new connection works."""

from __future__ import annotations

import datetime as dt
import random

import numpy as np

from netvigil.db import connect
from netvigil.settings import Settings
from streams.anomaly.store import ScoreRow, ScoreStore


def _rows(sid: int, t0: float) -> list[ScoreRow]:
    return [
        (sid, t0, 41.5, 0.25, 0.5, False, 40.0, 43.0, "default", 3),
        (sid, t0 + 60.123456, 95.0, 1.0, 0.999, True, float("nan"), float("inf"), "context", 0),
        (sid, t0 + 120.5, -1e-300, 0.0, 0.0, False, None, None, "default", 3),
    ]


def _stored(s: Settings, sid: int) -> list[tuple[object, ...]]:
    with connect(s) as conn:
        return conn.execute(
            "SELECT series_id, ts, value, score, likelihood, is_anomaly, expected_low, expected_high, model,"
            " model_version FROM anomaly_scores WHERE series_id = %s ORDER BY ts",
            (sid,),
        ).fetchall()


def test_scores_are_stored_once_exactly(pg_stack: Settings) -> None:
    sid = random.randint(1_500_000_000, 2_000_000_000)  # no series row needed: no foreign key
    t0 = 1_790_000_000.25
    rows = _rows(sid, t0)
    store = ScoreStore(pg_stack)
    try:
        store.write(rows[:2], [])
        store.write(rows, [])  # a re-delivered group: the first two are not written twice
        store.close()
        later = (sid, t0 + 180, 40.0, 0.1, 0.2, False, 39.0, 41.0, "default", 3)
        store.write([later], [])  # a new connection makes its staging table again
    finally:
        store.close()
    got = _stored(pg_stack, sid)
    utc = dt.UTC
    assert got == [
        (sid, dt.datetime.fromtimestamp(t0, utc), 41.5, 0.25, 0.5, False, 40.0, 43.0, "default", 3),
        (
            sid,
            dt.datetime.fromtimestamp(t0 + 60.123456, utc),
            95.0,
            1.0,
            0.999,
            True,
            None,
            None,
            "context",
            0,
        ),
        (sid, dt.datetime.fromtimestamp(t0 + 120.5, utc), -1e-300, 0.0, 0.0, False, None, None, "default", 3),
        (sid, dt.datetime.fromtimestamp(t0 + 180, utc), 40.0, 0.1, 0.2, False, 39.0, 41.0, "default", 3),
    ]


def test_many_rows_of_several_models_round_trip(pg_stack: Settings) -> None:
    """Timestamps with sub-microsecond digits, halves included, land where datetime puts them."""
    rng = np.random.default_rng(5)
    sid = random.randint(1_500_000_000, 2_000_000_000)
    t0 = 1_790_000_000.0
    offsets = np.concatenate([rng.uniform(0, 86_400, 300), 60.0 * np.arange(50) + 0.0000005])
    stamps = sorted(set((t0 + offsets).tolist()))
    rows: list[ScoreRow] = [
        (sid, t, float(rng.normal()), 0.5, 0.25, k % 7 == 0, None if k % 5 == 0 else -float(k),
         float("inf") if k % 3 == 0 else float(k), ("default", "context", "zscore")[k % 3], k % 4)
        for k, t in enumerate(stamps)
    ]  # fmt: skip
    store = ScoreStore(pg_stack)
    try:
        store.write(rows, [])
    finally:
        store.close()
    want = [
        (
            sid,
            dt.datetime.fromtimestamp(t, dt.UTC),
            v,
            sc,
            lk,
            f,
            lo,
            None if hi == float("inf") else hi,
            m,
            ver,
        )
        for sid, t, v, sc, lk, f, lo, hi, m, ver in rows
    ]
    assert _stored(pg_stack, sid) == want

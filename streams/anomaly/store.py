"""PostgreSQL writes of the anomaly stage: ``anomaly_scores`` and ``forecasts``.

Synchronous psycopg called through ``asyncio.to_thread``.  Rows are idempotent
(``ON CONFLICT DO NOTHING`` on the (series_id, ts) keys), so a group the
pipeline re-delivers after a crash, or a flush retried after an outage, writes
nothing twice.  One connection, reopened after a failure.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
import psycopg

from netvigil.db import connect
from netvigil.settings import Settings
from streams.rows import COPY_HEADER, COPY_TRAILER

__all__ = ["ForecastRow", "ScoreRow", "ScoreStore", "encode_score_rows", "pg_micros_like_datetime"]

log = logging.getLogger(__name__)

# (series_id, ts, value, score, likelihood, is_anomaly, expected_low, expected_high, model, model_version)
ScoreRow = tuple[int, float, float, float, float, bool, float | None, float | None, str, int]
# (series_id, ts, horizon_s, slope_per_s, intercept, threshold, crossing_at or None)
ForecastRow = tuple[int, float, float, float, float, float, float | None]

_SCORE_COLUMNS = (
    "series_id, ts, value, score, likelihood, is_anomaly, expected_low, expected_high, model, model_version"
)
# Scores go through a per-connection staging table of fixed-width rows: a binary COPY built
# column-wise with numpy (:func:`encode_score_rows`), then one INSERT ... SELECT that keeps
# ON CONFLICT DO NOTHING. A missing expected bound travels as NaN and the model as an index
# into a text[] parameter. Single-row INSERTs (then a text COPY) of tens of thousands of rows
# a second cost the worker more Python time than scoring them.
_SCORE_STAGE = (
    "CREATE TEMP TABLE IF NOT EXISTS nv_score_stage (series_id integer, ts timestamptz, value float8,"
    " score float8, likelihood float8, is_anomaly boolean, expected_low float8, expected_high float8,"
    " model_ix smallint, model_version integer) ON COMMIT DELETE ROWS"
)
_SCORE_COPY = "COPY nv_score_stage FROM STDIN (FORMAT BINARY)"
_SCORE_INSERT = (
    f"INSERT INTO anomaly_scores ({_SCORE_COLUMNS}) SELECT series_id, ts, value, score, likelihood,"
    " is_anomaly, NULLIF(expected_low, 'NaN'), NULLIF(expected_high, 'NaN'), (%s::text[])[model_ix],"
    " model_version FROM nv_score_stage ON CONFLICT DO NOTHING"
)
_SCORE_ROW = np.dtype(
    [("n", ">i2"), ("l_sid", ">i4"), ("sid", ">i4"), ("l_ts", ">i4"), ("ts", ">i8"), ("l_value", ">i4"),
     ("value", ">f8"), ("l_score", ">i4"), ("score", ">f8"), ("l_lik", ">i4"), ("lik", ">f8"),
     ("l_flag", ">i4"), ("flag", "u1"), ("l_lo", ">i4"), ("lo", ">f8"), ("l_hi", ">i4"), ("hi", ">f8"),
     ("l_model", ">i4"), ("model", ">i2"), ("l_version", ">i4"), ("version", ">i4")]
)  # fmt: skip
_SCORE_FIXED = np.array(
    [(10, 4, 0, 8, 0, 8, 0.0, 8, 0.0, 8, 0.0, 1, 0, 8, 0.0, 8, 0.0, 2, 0, 4, 0)], _SCORE_ROW
)
_UNIX_TO_PG_S = 946_684_800  # seconds from 1970-01-01 to 2000-01-01, PostgreSQL's timestamp origin


def pg_micros_like_datetime(ts: np.ndarray) -> np.ndarray:
    """PostgreSQL timestamp microseconds of epoch seconds, rounded as ``datetime.fromtimestamp`` does.

    CPython splits the float into whole and fractional seconds and rounds the
    fraction's microseconds half to even; so does this, column-wise, so a
    score's ``ts`` is exactly what ``datetime.fromtimestamp(ts, UTC)`` gives.
    """
    frac, whole = np.modf(np.asarray(ts, dtype=np.float64))
    us = np.rint(frac * 1e6).astype(np.int64)
    out: np.ndarray = (whole.astype(np.int64) - _UNIX_TO_PG_S) * 1_000_000 + us
    return out


def encode_score_rows(scores: Sequence[ScoreRow]) -> tuple[bytes, list[str]]:
    """The binary COPY stream of ``nv_score_stage`` for ``scores``, and the model names it indexes."""
    sid, ts, value, score, lik, flag, lo, hi, model, version = zip(*scores, strict=True)
    models = list(dict.fromkeys(model))
    ix = {m: k + 1 for k, m in enumerate(models)}  # PostgreSQL arrays count from 1
    rows = np.repeat(_SCORE_FIXED, len(scores))
    rows["sid"] = sid
    rows["ts"] = pg_micros_like_datetime(np.array(ts, dtype=np.float64))
    rows["value"] = value
    rows["score"] = score
    rows["lik"] = lik
    rows["flag"] = flag
    for name, col in (("lo", lo), ("hi", hi)):
        bound = np.array(col, dtype=np.float64)  # None -> NaN
        bound[~np.isfinite(bound)] = np.nan  # not finite (None, NaN, inf) -> NULL
        rows[name] = bound
    rows["model"] = [ix[m] for m in model]
    rows["version"] = version
    return b"".join((COPY_HEADER, rows.tobytes(), COPY_TRAILER)), models


_FORECASTS = (
    "INSERT INTO forecasts (series_id, ts, horizon_s, slope_per_s, intercept, threshold, crossing_at)"
    " VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING"
)


def _dt(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


class ScoreStore:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._conn: psycopg.Connection | None = None
        self._staged: psycopg.Connection | None = None  # the connection whose staging table exists

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def write(self, scores: Sequence[ScoreRow], forecasts: Sequence[ForecastRow]) -> None:
        """One transaction for both; raises psycopg.Error (the caller keeps the rows)."""
        try:
            if self._conn is None or self._conn.closed:
                self._conn = connect(self.settings)
            conn = self._conn
            if scores and self._staged is not conn:
                conn.execute(_SCORE_STAGE)
                conn.commit()
                self._staged = conn
            with conn.transaction(), conn.cursor() as cur:
                if scores:
                    payload, models = encode_score_rows(scores)
                    with cur.copy(_SCORE_COPY) as copy:
                        copy.write(payload)
                    cur.execute(_SCORE_INSERT, (models,))
                if forecasts:
                    cur.executemany(_FORECASTS, [_forecast_params(r) for r in forecasts])
        except psycopg.Error:
            self.close()
            raise

    def series_index(self, keys: Sequence[tuple[str, str, str]]) -> dict[tuple[str, str, str], int]:
        """Ids of existing series by (device, metric, instance); unknown keys are left out."""
        try:
            if self._conn is None or self._conn.closed:
                self._conn = connect(self.settings)
            conn = self._conn
            rows = conn.execute(
                "SELECT s.device, s.metric, s.instance, s.id"
                " FROM series s JOIN unnest(%s::text[], %s::text[], %s::text[]) AS k(d, m, i)"
                " ON s.device = k.d AND s.metric = k.m AND s.instance = k.i",
                ([k[0] for k in keys], [k[1] for k in keys], [k[2] for k in keys]),
            ).fetchall()
            conn.rollback()
        except psycopg.Error:
            self.close()
            raise
        return {(r[0], r[1], r[2]): int(r[3]) for r in rows}


def _forecast_params(r: ForecastRow) -> tuple[Any, ...]:
    sid, ts, horizon, slope, intercept, threshold, crossing = r
    return (
        sid,
        _dt(ts),
        horizon,
        slope,
        intercept,
        threshold,
        _dt(crossing) if crossing is not None else None,
    )

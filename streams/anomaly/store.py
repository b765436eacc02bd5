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

import psycopg

from netvigil.db import connect
from netvigil.settings import Settings

__all__ = ["ForecastRow", "ScoreRow", "ScoreStore"]

log = logging.getLogger(__name__)

# (series_id, ts, value, score, likelihood, is_anomaly, expected_low, expected_high, model, model_version)
ScoreRow = tuple[int, float, float, float, float, bool, float | None, float | None, str, int]
# (series_id, ts, horizon_s, slope_per_s, intercept, threshold, crossing_at or None)
ForecastRow = tuple[int, float, float, float, float, float, float | None]

_SCORE_COLUMNS = (
    "series_id, ts, value, score, likelihood, is_anomaly, expected_low, expected_high, model, model_version"
)
# Scores go through a per-connection staging table: COPY (rows formatted by psycopg's C code)
# then one INSERT ... SELECT keeps ON CONFLICT DO NOTHING. Tens of thousands of rows a second
# as single-row INSERTs cost the stage more Python time than scoring them.
_SCORE_STAGE = (
    "CREATE TEMP TABLE IF NOT EXISTS nv_score_stage"
    " (LIKE anomaly_scores INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
)
_SCORE_COPY = f"COPY nv_score_stage ({_SCORE_COLUMNS}) FROM STDIN"
_SCORE_INSERT = (
    f"INSERT INTO anomaly_scores ({_SCORE_COLUMNS}) SELECT {_SCORE_COLUMNS} FROM nv_score_stage"
    " ON CONFLICT DO NOTHING"
)
_FORECASTS = (
    "INSERT INTO forecasts (series_id, ts, horizon_s, slope_per_s, intercept, threshold, crossing_at)"
    " VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING"
)


def _dt(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def _finite(x: float | None) -> float | None:
    return None if x is None or x != x or x in (float("inf"), float("-inf")) else float(x)


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
                    with cur.copy(_SCORE_COPY) as copy:
                        for r in scores:
                            copy.write_row(_score_params(r))
                    cur.execute(_SCORE_INSERT)
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


def _score_params(r: ScoreRow) -> tuple[Any, ...]:
    sid, ts, value, score, lik, flag, lo, hi, model, version = r
    return (sid, _dt(ts), value, score, lik, flag, _finite(lo), _finite(hi), model, version)


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

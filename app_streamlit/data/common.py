"""Helpers shared by the query modules: running a query into a DataFrame, picking a source table."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
import psycopg

__all__ = ["Source", "bucket_for", "choose_source", "like_pattern", "read_frame", "read_numbers"]

Source = Literal["raw", "1m", "1h"]

# Raw samples up to this range, 1 m rollups up to the next, 1 h rollups beyond:
# a chart then never draws more than a few thousand points per series.
RAW_MAX = timedelta(hours=6)
ROLLUP_1M_MAX = timedelta(days=2)

SOURCE_TABLE: dict[str, str] = {"raw": "metric_samples", "1m": "rollup_1m", "1h": "rollup_1h"}


def choose_source(span: timedelta) -> Source:
    if span <= RAW_MAX:
        return "raw"
    if span <= ROLLUP_1M_MAX:
        return "1m"
    return "1h"


def bucket_for(source: Source) -> timedelta:
    """Bucket width used to thin per-sample tables (anomaly scores) to the chart's resolution."""
    return {"raw": timedelta(seconds=1), "1m": timedelta(minutes=1), "1h": timedelta(hours=1)}[source]


def like_pattern(text: str) -> str:
    """A substring ILIKE pattern with the user's % and _ taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def read_frame(
    conn: psycopg.Connection[Any],
    query: str,
    params: Sequence[Any] | Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    with conn.cursor() as cur:
        cur.execute(query.encode(), params)
        columns = [d.name for d in cur.description or []]
        rows = cur.fetchall() if cur.description else []
    return pd.DataFrame(rows, columns=columns)


def read_numbers(
    conn: psycopg.Connection[Any],
    query: str,
    params: Sequence[Any] | Mapping[str, Any] | None,
    width: int,
) -> npt.NDArray[np.float64]:
    """A query of numeric columns only, as an (n, width) float array (binary protocol, no objects)."""
    with conn.cursor(binary=True) as cur:
        cur.execute(query.encode(), params)
        rows = cur.fetchall()
    if not rows:
        return np.empty((0, width), dtype=np.float64)
    return np.asarray(rows, dtype=np.float64)

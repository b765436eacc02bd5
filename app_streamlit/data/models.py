"""Model registry data: versions with evaluation metrics, the version each family uses."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import psycopg

from app_streamlit.data.common import read_frame

__all__ = ["in_production", "metric_columns", "registry"]

Conn = psycopg.Connection[Any]


def registry(conn: Conn) -> pd.DataFrame:
    """Every version, newest first; the artefact bytes are never fetched."""
    return read_frame(
        conn,
        "SELECT family, version, algorithm, stage, metrics::text AS metrics, params::text AS params,"
        " created_by, created_at, promoted_at FROM model_registry ORDER BY family, version DESC",
    )


def in_production(conn: Conn) -> pd.DataFrame:
    return read_frame(
        conn,
        "SELECT family, version, algorithm, promoted_at FROM model_registry"
        " WHERE stage = 'production' ORDER BY family",
    )


def metric_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """Spread each version's metrics JSON (NAB scores, precision...) into columns (pure)."""
    if frame.empty:
        return frame
    spread = pd.json_normalize([json.loads(m) if m else {} for m in frame["metrics"]])
    spread.index = frame.index
    return pd.concat([frame.drop(columns=["metrics"]), spread], axis=1)

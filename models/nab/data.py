"""Reading NAB-format corpora: ``data/<category>/<name>.csv`` plus the window labels.

Kept apart from the scorer so the scorer works on plain arrays and can be unit-tested
with hand-built cases, while this module deals with files and timestamps.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class NabSeries:
    """One labelled NAB file: ``key`` is ``category/name.csv`` as in the label file."""

    key: str
    ts: np.ndarray  # epoch seconds, float64
    values: np.ndarray  # float64
    timestamps: list[str]  # as written in the CSV, echoed into results files
    windows: list[tuple[int, int]]  # inclusive row indices [L, R]


def _data_root(data_dir: Path) -> Path:
    """Accept either the corpus root (with ``data/`` and ``labels/``) or ``data/`` itself."""
    return data_dir / "data" if (data_dir / "data").is_dir() else data_dir


def _labels_path(data_dir: Path) -> Path | None:
    for cand in (data_dir / "labels", data_dir.parent / "labels"):
        path = cand / "combined_windows.json"
        if path.is_file():
            return path
    return None


def list_files(data_dir: Path) -> list[str]:
    """All ``category/name.csv`` keys under the corpus, sorted for reproducible runs."""
    root = _data_root(data_dir)
    return sorted(str(p.relative_to(root)) for p in root.glob("*/*.csv"))


def to_epoch(timestamps: pd.Series) -> np.ndarray:
    """NAB timestamps are naive wall-clock times; read them as UTC epoch seconds."""
    parsed = pd.to_datetime(timestamps, utc=True)
    return np.asarray(parsed.astype("int64"), dtype=np.float64) / 1e9


def _window_rows(ts: np.ndarray, windows: list[list[str]]) -> list[tuple[int, int]]:
    """Map window timestamps to inclusive row indices (first row >= start, last <= end)."""
    out: list[tuple[int, int]] = []
    for start, end in windows:
        lo, hi = to_epoch(pd.Series([start, end]))
        left = int(np.searchsorted(ts, lo, side="left"))
        right = int(np.searchsorted(ts, hi, side="right")) - 1
        if right >= left:
            out.append((left, right))
    return out


def load_series(data_dir: Path, key: str, labels: dict[str, list[list[str]]]) -> NabSeries:
    """Load one file and its windows; a file missing from the labels has no windows."""
    frame = pd.read_csv(_data_root(data_dir) / key)
    ts = to_epoch(frame["timestamp"])
    return NabSeries(
        key=key,
        ts=ts,
        values=frame["value"].to_numpy(dtype=np.float64),
        timestamps=[str(t) for t in frame["timestamp"]],
        windows=_window_rows(ts, labels.get(key, [])),
    )


def load_corpus(data_dir: Path) -> list[NabSeries]:
    """Every labelled series of a corpus, in sorted key order."""
    path = _labels_path(data_dir)
    labels: dict[str, list[list[str]]] = json.loads(path.read_text()) if path else {}
    if path is None:
        log.warning("no labels/combined_windows.json near %s: scoring sees no windows", data_dir)
    return [load_series(data_dir, key, labels) for key in list_files(data_dir)]

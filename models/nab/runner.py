"""Running a detector bank over a NAB corpus and scoring its results files.

The bank is the one the stream workers run (``models.online.make_detector``): every
NAB file is one series, points are fed in timestamp order with epoch-second
timestamps, and all files advance together in batches (row ``t`` of every file
that has one), exactly as a worker feeds a batch of polled series.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from models.nab.data import NabSeries, list_files, load_corpus
from models.nab.scorer import PROFILES, ScoredFile, optimise_threshold, score_at
from models.online import DetectorBank, make_detector

log = logging.getLogger(__name__)


def detect_corpus(series: Sequence[NabSeries], bank: DetectorBank) -> list[np.ndarray]:
    """Anomaly scores for every row of every series, from one bank fed in lockstep."""
    rows = bank.index([s.key for s in series])
    lengths = np.array([len(s.values) for s in series])
    width = int(lengths.max()) if len(series) else 0
    ts_m = np.zeros((len(series), width))
    x_m = np.zeros((len(series), width))
    for i, s in enumerate(series):
        ts_m[i, : len(s.ts)] = s.ts
        x_m[i, : len(s.values)] = s.values
    score_m = np.zeros((len(series), width))
    for t in range(width):
        live = np.flatnonzero(lengths > t)
        score_m[live, t] = bank.update(rows[live], ts_m[live, t], x_m[live, t]).score
    return [score_m[i, :n].copy() for i, n in enumerate(lengths.tolist())]


def run_detector(data_dir: Path, out_dir: Path, detector_name: str, seed: int = 0) -> Path:
    """Write ``OUT/NAME/<category>/NAME_<name>.csv`` (timestamp,value,anomaly_score)."""
    series = load_corpus(Path(data_dir))
    bank = make_detector(detector_name, seed=seed)
    scores = detect_corpus(series, bank)
    root = Path(out_dir) / detector_name
    for s, sc in zip(series, scores, strict=True):
        category, fname = s.key.split("/", 1)
        path = root / category / f"{detector_name}_{fname}"
        path.parent.mkdir(parents=True, exist_ok=True)
        pd.DataFrame(
            {"timestamp": s.timestamps, "value": s.values, "anomaly_score": np.clip(sc, 0.0, 1.0)}
        ).to_csv(path, index=False)
    log.info("wrote %d results files under %s", len(series), root)
    return root


@dataclass(frozen=True)
class ScoreRow:
    """One line of the NAB table."""

    profile: str
    optimised_threshold: float
    optimised_score: float
    fixed_threshold: float
    fixed_score: float


def score_arrays(
    series: Sequence[NabSeries], scores: Sequence[np.ndarray], fixed_threshold: float
) -> list[ScoreRow]:
    """Normalised scores for the three profiles, optimised and at ``fixed_threshold``."""
    files = [ScoredFile.build(len(s.values), s.windows) for s in series]
    table = []
    for name, profile in PROFILES.items():
        best = optimise_threshold(files, scores, profile)
        fixed = score_at(files, scores, profile, fixed_threshold)
        table.append(ScoreRow(name, best.threshold, best.normalised, fixed_threshold, fixed.normalised))
    return table


def read_results(
    data_dir: Path, results_dir: Path, detector_name: str, series: Sequence[NabSeries]
) -> list[np.ndarray]:
    """Load ``anomaly_score`` columns written by ``run_detector`` (or any NAB detector)."""
    root = Path(results_dir)
    if (root / detector_name).is_dir():
        root = root / detector_name
    out = []
    for s in series:
        category, fname = s.key.split("/", 1)
        frame = pd.read_csv(root / category / f"{detector_name}_{fname}", float_precision="round_trip")
        if len(frame) != len(s.values):
            raise ValueError(f"{s.key}: {len(frame)} result rows for {len(s.values)} data rows")
        out.append(frame["anomaly_score"].to_numpy(dtype=np.float64))
    return out


def score_results(
    data_dir: Path, results_dir: Path, detector_name: str, fixed_threshold: float | None = None
) -> list[ScoreRow]:
    """Score a results directory; the fixed threshold defaults to the bank's own."""
    series = load_corpus(Path(data_dir))
    if fixed_threshold is None:
        fixed_threshold = make_detector(detector_name).threshold
    scores = read_results(Path(data_dir), Path(results_dir), detector_name, series)
    return score_arrays(series, scores, fixed_threshold)


__all__ = ["ScoreRow", "detect_corpus", "list_files", "run_detector", "score_arrays", "score_results"]

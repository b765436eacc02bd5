"""Metrics of a scorer: NAB's rule on NAB-format corpora, precision on judged alerts.

A *scorer* is any function from a list of series (``NabSeries``) to one array of
anomaly scores in [0, 1] per series, aligned with its points: the online detector
bank (through the NAB runner's ``detect_corpus``) and the scikit-learn family
models both fit, so both are measured by the same code and NAB scorer.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from models.nab.data import NabSeries, list_files, load_series
from models.nab.runner import score_arrays
from models.train.data import AlertLabel

log = logging.getLogger(__name__)

Scorer = Callable[[Sequence[NabSeries]], list[np.ndarray]]
PROFILE_KEYS = {
    "standard": "nab_standard",
    "reward_low_FP_rate": "nab_low_fp",
    "reward_low_FN_rate": "nab_low_fn",
}


def onset(scores: np.ndarray, suppress: int) -> np.ndarray:
    """Keep a score only where it beats the last reported one of the past ``suppress`` points.

    So one incident (a run of high window scores, or a plateau of equal ones) is
    reported at its start, a clearly bigger one is still reported, and the same
    incident is reported again at most every ``suppress`` points.
    Example (suppress large): [0.2, 0.6, 0.6, 0.5, 0.9] -> [0.2, 0.6, 0, 0, 0.9].
    """
    s = np.asarray(scores, dtype=np.float64)
    out = np.zeros_like(s)
    peak, at = 0.0, -(10**18)
    for i, v in enumerate(s.tolist()):
        if v > (peak if i - at < suppress else 0.0):
            out[i] = v
            peak, at = v, i
    return out


def select_files(data_dir: Path, files: Sequence[str] | int | None) -> list[str]:
    """NAB keys to use: all, N spread evenly over the sorted list, or the given keys.

    Spreading (rather than the first N) mixes categories, so a small subset still
    has labelled windows.
    """
    keys = list_files(Path(data_dir))
    if files is None:
        return keys
    if isinstance(files, int):
        n = max(0, min(files, len(keys)))
        return [keys[(i * len(keys)) // n] for i in range(n)]
    missing = [f for f in files if f not in keys]
    if missing:
        raise ValueError(f"not in the corpus at {data_dir}: {missing}")
    return list(files)


def load_nab(data_dir: Path, files: Sequence[str] | int | None = None) -> list[NabSeries]:
    """The chosen labelled NAB series (the corpus's ``labels/combined_windows.json``)."""
    root = Path(data_dir)
    labels: dict[str, list[list[str]]] = {}
    for cand in (root / "labels", root.parent / "labels"):
        if (cand / "combined_windows.json").is_file():
            labels = json.loads((cand / "combined_windows.json").read_text())
            break
    return [load_series(root, key, labels) for key in select_files(root, files)]


def nab_metrics(
    scorer: Scorer, data_dir: Path, files: Sequence[str] | int | None, fixed_threshold: float
) -> dict[str, Any]:
    """NAB normalised scores (optimised and fixed threshold) of ``scorer`` on the files."""
    series = load_nab(data_dir, files)
    scores = [np.clip(s, 0.0, 1.0) for s in scorer(series)]
    rows = score_arrays(series, scores, fixed_threshold)
    out: dict[str, Any] = {"nab_files": len(series), "nab_windows": sum(len(s.windows) for s in series)}
    for r in rows:
        key = PROFILE_KEYS.get(r.profile, r.profile)
        out[key] = round(r.optimised_score, 2)
        out[f"{key}_threshold"] = r.optimised_threshold
        out[f"{key}_fixed"] = round(r.fixed_score, 2)
    out["nab_fixed_threshold"] = fixed_threshold
    return out


def alert_metrics(
    labels: Sequence[AlertLabel],
    scored: dict[int, tuple[np.ndarray, np.ndarray]],
    threshold: float,
    tolerance_s: float = 600.0,
) -> dict[str, Any]:
    """Would the model have flagged each judged alert? Precision and recall against the judges.

    ``scored`` maps series id -> (ts, scores).  An alert counts as flagged when any
    score within ``tolerance_s`` of its start reaches ``threshold``.  Alerts on
    series without scores are left out (``alerts_unscored``).  Precision is None when
    the model flagged none of them, recall None when there is no positive.
    """
    tp = fp = fn = tn = unscored = 0
    for lab in labels:
        if lab.series_id not in scored:
            unscored += 1
            continue
        ts, sc = scored[lab.series_id]
        near = (ts >= lab.started - tolerance_s) & (ts <= lab.started + tolerance_s)
        flagged = bool(near.any() and sc[near].max() >= threshold)
        if lab.positive:
            tp, fn = tp + flagged, fn + (not flagged)
        else:
            fp, tn = fp + flagged, tn + (not flagged)
    return {
        "alerts_labelled": tp + fp + fn + tn,
        "alerts_positive": tp + fn,
        "alerts_unscored": unscored,
        "alert_tp": tp,
        "alert_fp": fp,
        "alert_fn": fn,
        "alert_tn": tn,
        "alert_precision": round(tp / (tp + fp), 4) if tp + fp else None,
        "alert_recall": round(tp / (tp + fn), 4) if tp + fn else None,
    }


__all__ = ["PROFILE_KEYS", "Scorer", "alert_metrics", "load_nab", "nab_metrics", "onset", "select_files"]

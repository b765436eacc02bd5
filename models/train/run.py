"""Retraining end to end: load history, fit, evaluate, optionally register.

``train_family`` is what ``netvigil models train --family F`` and the retraining
notebook run.  ``F`` is a series family (``cpu``, ``interface``...) for an offline
isolation-forest model, or ``online`` for the stream detector, whose "training" is
evaluating a named configuration (NAB, judged alerts) and registering it as a version
workers can be switched to.  Each registered version carries its metrics: NAB scores
where a corpus was given, precision/recall on judged alerts, training rows and time.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import psycopg

from models import registry
from models.train import forest, online
from models.train.data import History, load_alert_labels, load_history
from models.train.evaluate import Scorer, alert_metrics, nab_metrics

log = logging.getLogger(__name__)

ONLINE_PREFIX = "bank:"  # algorithm of online-detector versions: "bank:<detector name>"


@dataclass
class TrainResult:
    """A trained (or evaluated) candidate; ``version`` is set once registered."""

    family: str
    algorithm: str
    params: dict[str, Any]
    metrics: dict[str, Any]
    artefact: bytes | None
    model: forest.FamilyModel | None = None
    history: list[History] = field(default_factory=list)
    version: int | None = None

    def summary(self) -> dict[str, Any]:
        return {
            "family": self.family,
            "version": self.version,
            "algorithm": self.algorithm,
            "params": self.params,
            "metrics": self.metrics,
            "artefact_bytes": len(self.artefact or b""),
        }


def _score_history(scorer: Scorer, history: Sequence[History]) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    scores = scorer([h.as_nab() for h in history])
    return {h.series_id: (h.ts, sc) for h, sc in zip(history, scores, strict=True)}


def train_family(
    conn: psycopg.Connection,
    family: str,
    *,
    since_days: float = 14.0,
    device_like: str | None = None,
    series_family: str | None = None,
    nab_dir: Path | None = None,
    nab_files: Sequence[str] | int | None = None,
    register: bool = False,
    created_by: str = "netvigil",
    seed: int = 0,
    online_params: dict[str, Any] | None = None,
    kind: str | None = None,
    **fit_args: Any,
) -> TrainResult:
    """Train/evaluate ``family`` and (with ``register``) add it to the registry as a candidate.

    ``family`` is the registry family; the history used is ``series_family`` (default:
    the same name; for ``online`` default: none, unless given).  ``fit_args`` go to
    ``forest.fit`` (width, baseline, suppress, quantile, n_estimators, max_rows).
    ``kind`` is ``online`` or ``forest``; by default ``online`` only for the family of
    that name.
    """
    t0 = time.monotonic()
    is_online = (kind or ("online" if family == registry.ONLINE_FAMILY else "forest")) == "online"
    hist_family = series_family or (None if is_online else family)
    history = load_history(conn, hist_family, since_days, device_like) if hist_family else []
    metrics: dict[str, Any] = {
        "training_series": len(history),
        "training_points": int(sum(len(h.values) for h in history)),
        "since_days": since_days,
    }
    model: forest.FamilyModel | None = None
    artefact: bytes | None = None
    if is_online:
        params = online.validate_params(online_params or online.DEFAULT_PARAMS)
        scorer = online.bank_scorer(params, seed=seed)
        threshold = online.detector_from_params(params).threshold
        algorithm = f"{ONLINE_PREFIX}{params['detector']}"
    else:
        if not history:
            raise ValueError(
                f"no stored history for family {family!r} in the last {since_days} days"
                + (f" on devices LIKE {device_like!r}" if device_like else "")
            )
        model = forest.fit([h.as_nab() for h in history], seed=seed, **fit_args)
        metrics["training_rows"] = model.info["training_rows"]
        params = {**model.params(), "series_family": hist_family, "device_like": device_like}
        scorer, threshold, algorithm = model.score_series, model.threshold, forest.ALGORITHM
        artefact = forest.dumps(model)
    metrics["train_seconds"] = round(time.monotonic() - t0, 3)
    if history and hist_family:
        labels = load_alert_labels(conn, hist_family, since_days, device_like)
        metrics.update(alert_metrics(labels, _score_history(scorer, history), threshold))
    if nab_dir is not None:
        t1 = time.monotonic()
        metrics.update(nab_metrics(scorer, Path(nab_dir), nab_files, threshold))
        metrics["nab_seconds"] = round(time.monotonic() - t1, 3)
    result = TrainResult(family, algorithm, params, metrics, artefact, model, history)
    if register:
        result.version = registry.register(conn, family, algorithm, params, metrics, artefact, created_by)
    log.info("trained %s (%s): %s", family, algorithm, metrics)
    return result


def load_production_scorer(conn: psycopg.Connection, family: str) -> tuple[int, Scorer, float]:
    """(version, scorer, flag threshold) of a family's production model.

    For ``online`` with no production version this is the shipped default (version 0).
    """
    mv = registry.production(conn, family)
    if mv is None and family == registry.ONLINE_FAMILY:
        return 0, online.bank_scorer(None), online.detector_from_params(None).threshold
    if mv is None:
        raise registry.RegistryError(f"family {family!r} has no production version")
    if mv.algorithm.startswith(ONLINE_PREFIX):
        threshold = online.detector_from_params(mv.params).threshold
        return mv.version, online.bank_scorer(mv.params), threshold
    if mv.artefact is None:
        raise registry.RegistryError(f"{family!r} v{mv.version} ({mv.algorithm}) has no artefact")
    model = forest.loads(mv.artefact)
    return mv.version, model.score_series, model.threshold


__all__ = ["ONLINE_PREFIX", "TrainResult", "load_production_scorer", "train_family"]

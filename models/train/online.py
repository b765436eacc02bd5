"""The ``online`` registry family: the stream detector's configuration as a version.

A version's ``params`` are ``{"detector": NAME, "overrides": {...}}``: a named
configuration of ``models.online.make_detector`` plus constructor arguments
(thresholds, decay rates...).  ``detector_from_params`` builds a fresh bank from
them; ``apply_params`` moves a running bank to a new version, keeping the learned
per-series state when only hyperparameters changed (banks' constructors only store
their arguments, so setting the same-named attributes is equivalent).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np

from models.nab.data import NabSeries
from models.nab.runner import detect_corpus
from models.online import DETECTORS, DetectorBank, make_detector

log = logging.getLogger(__name__)

DEFAULT_PARAMS: dict[str, Any] = {"detector": "default", "overrides": {}}


def validate_params(params: dict[str, Any]) -> dict[str, Any]:
    """Normalised params; unknown detector names, constructor arguments or values a bank
    cannot run with are errors."""
    name = str(params.get("detector", "default"))
    overrides = dict(params.get("overrides") or {})
    if name not in DETECTORS:
        raise ValueError(f"unknown detector {name!r}; known: {list(DETECTORS)}")
    probe = make_detector(name, **overrides)  # raises TypeError on an unknown argument
    # constructors only store their arguments: one update on a throwaway bank catches a
    # value the bank cannot run with (e.g. ``calib`` outside (0, 0.5)) here, not in the stream
    probe.update_keys(["probe"], np.zeros(1), np.zeros(1))
    return {"detector": name, "overrides": overrides}


def detector_from_params(params: dict[str, Any] | None, seed: int = 0) -> DetectorBank:
    """A fresh bank for a registry version's params (None -> the shipped default)."""
    p = validate_params(params or DEFAULT_PARAMS)
    return make_detector(p["detector"], seed=seed, **p["overrides"])


def apply_params(bank: DetectorBank, params: dict[str, Any] | None) -> DetectorBank:
    """``bank`` reconfigured for ``params``: same bank (state kept) if its class fits.

    Returns a fresh, empty bank when the detector's bank class differs (state of
    another detector cannot be reused).
    """
    fresh = detector_from_params(params, seed=bank.seed)
    if type(fresh) is not type(bank):
        log.info(
            "detector class changes %s -> %s: starting from empty state",
            type(bank).__name__,
            type(fresh).__name__,
        )
        return fresh
    for name in vars(fresh):
        if not name.startswith("_") and name != "capacity":
            setattr(bank, name, getattr(fresh, name))
    return bank


def bank_scorer(params: dict[str, Any] | None, seed: int = 0) -> Any:
    """``evaluate.Scorer`` running a fresh bank over the series in lockstep (NAB runner code)."""

    def score(series: Sequence[NabSeries]) -> list[np.ndarray]:
        return detect_corpus(series, detector_from_params(params, seed=seed))

    return score


__all__ = ["DEFAULT_PARAMS", "apply_params", "bank_scorer", "detector_from_params", "validate_params"]

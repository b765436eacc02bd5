"""Baseline: River's ``MinMaxScaler | HalfSpaceTrees`` per series, behind the bank API.

This is the "plain detector used as-is" yardstick.  It cannot be vectorised (one
River pipeline object per series, tens of KiB each), so it is only for comparison
and as the reference speed in the benchmark.  Its snapshot is a pickle, since the
River objects have no array form; restore only snapshots this process wrote.
"""

from __future__ import annotations

import pickle
from typing import Any, ClassVar

import numpy as np
from river import anomaly, compose, preprocessing

from models.online.base import BankResult, DetectorBank

PICKLE_MAGIC = b"NVPICKL1"


class HSTBank(DetectorBank):
    """One River HalfSpaceTrees pipeline per series (slow; for comparison)."""

    name: ClassVar[str] = "hst"
    _fields: ClassVar[dict[str, tuple[str, float]]] = {"n": ("float64", 0.0)}

    def __init__(
        self,
        seed: int = 0,
        threshold: float = 0.9,
        capacity: int = 1024,
        n_trees: int = 10,
        height: int = 8,
        window_size: int = 250,
    ) -> None:
        super().__init__(seed=seed, threshold=threshold, capacity=capacity)
        self.n_trees = n_trees
        self.height = height
        self.window_size = window_size
        self._models: dict[int, compose.Pipeline] = {}

    def _params(self) -> dict[str, Any]:
        return {
            **super()._params(),
            "n_trees": self.n_trees,
            "height": self.height,
            "window_size": self.window_size,
        }

    def _new_model(self) -> compose.Pipeline:
        return preprocessing.MinMaxScaler() | anomaly.HalfSpaceTrees(
            n_trees=self.n_trees, height=self.height, window_size=self.window_size, seed=self.seed
        )

    def _forget(self, row: int) -> None:
        self._models.pop(row, None)

    def _step(self, rows: np.ndarray, ts: np.ndarray, x: np.ndarray) -> BankResult:
        score = np.empty(len(rows))
        for i, (row, value) in enumerate(zip(rows.tolist(), x.tolist(), strict=True)):
            model = self._models.get(row)
            if model is None:
                model = self._models[row] = self._new_model()
            features = {"value": value}
            score[i] = model.score_one(features)
            model.learn_one(features)
        self._state["n"][rows] += 1.0
        nan = np.full(len(rows), np.nan)
        return BankResult(
            raw=score,
            likelihood=score,
            score=score,
            flag=score >= self.threshold,
            lower=nan,
            upper=nan.copy(),
        )

    def nbytes_per_series(self) -> float:
        if not self._models:
            return 0.0
        sample = next(iter(self._models.values()))
        return float(len(pickle.dumps(sample)))

    def snapshot(self) -> bytes:
        return PICKLE_MAGIC + pickle.dumps(self)

    @classmethod
    def restore(cls, blob: bytes) -> DetectorBank:
        return load_pickled(blob)


def load_pickled(blob: bytes) -> DetectorBank:
    """Unpickle an HST snapshot (trusted: written by this process family only)."""
    if not blob.startswith(PICKLE_MAGIC):
        raise ValueError("not an HST bank snapshot")
    bank = pickle.loads(blob[len(PICKLE_MAGIC) :])  # noqa: S301 - own snapshots only
    if not isinstance(bank, DetectorBank):
        raise TypeError("snapshot does not hold a detector bank")
    return bank

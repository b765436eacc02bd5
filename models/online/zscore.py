"""Baseline: a plain exponentially weighted z-score, vectorised like the default bank.

It has no context and no likelihood step, which is the point: it shows what those
add.  The score is the two-sided normal probability ``1 - 2 P(Z > |z|)``.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from models.online.base import BankResult, DetectorBank
from models.online.likelihood import normal_tail


class ZScoreBank(DetectorBank):
    """Exponentially weighted mean/variance per series; score = |z| as a probability."""

    name: ClassVar[str] = "zscore"
    _fields: ClassVar[dict[str, tuple[str, float]]] = {
        "n": ("float64", 0.0),
        "mean": ("float64", 0.0),
        "var": ("float64", 0.0),
    }

    def __init__(
        self,
        seed: int = 0,
        threshold: float = 0.999999,
        capacity: int = 1024,
        alpha: float = 0.01,
        warmup: int = 30,
    ) -> None:
        super().__init__(seed=seed, threshold=threshold, capacity=capacity)
        self.alpha = alpha
        self.warmup = warmup

    def _params(self) -> dict[str, Any]:
        return {**super()._params(), "alpha": self.alpha, "warmup": self.warmup}

    def _step(self, rows: np.ndarray, ts: np.ndarray, x: np.ndarray) -> BankResult:
        st = self._state
        n, mean, var = st["n"][rows], st["mean"][rows], st["var"][rows]
        std = np.sqrt(var) + 1e-9 * np.abs(mean) + 1e-12
        z = np.abs(x - mean) / std
        score = np.where(n >= self.warmup, 1.0 - 2.0 * normal_tail(z), 0.0)
        a = np.maximum(self.alpha, 1.0 / (n + 1.0))
        d = x - mean
        st["mean"][rows] = mean + a * d
        st["var"][rows] = (1.0 - a) * (var + a * d * d)
        st["n"][rows] = n + 1.0
        return BankResult(
            raw=score,
            likelihood=score,
            score=score,
            flag=score >= self.threshold,
            lower=mean - 3 * std,
            upper=mean + 3 * std,
        )

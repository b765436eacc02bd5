"""The family model: an isolation forest over scale-free window features.

One model per series family (all CPU series, all interfaces...), fitted on stored
history: ``RobustScaler`` then ``IsolationForest`` (scikit-learn).  Its anomaly score
is the forest's own ``s`` in [0, 1] (``-score_samples``: about 0.5 is ordinary,
near 1 is isolated fast), which is already a NAB-style ``anomaly_score``; ``scores``
then keeps only incident onsets (``evaluate.onset``), as the stream detector does.
The flag threshold is a high quantile of the training scores.

Artefacts are joblib pickles: see the trust boundary in ``models.registry``.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import joblib
import numpy as np
import sklearn
from sklearn.ensemble import IsolationForest
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import RobustScaler

from models.features import MODEL_COLUMNS, model_features
from models.nab.data import NabSeries
from models.train.evaluate import onset

log = logging.getLogger(__name__)

ALGORITHM = "isolation_forest"
MAGIC = b"NVSKL1\n"  # artefact header: format version, refuses foreign blobs early


@dataclass
class FamilyModel:
    """A fitted pipeline and the feature settings it was fitted with."""

    pipeline: Pipeline
    width: int
    baseline: int
    suppress: int
    threshold: float
    columns: tuple[str, ...] = MODEL_COLUMNS
    info: dict[str, Any] = field(default_factory=dict)

    def params(self) -> dict[str, Any]:
        """What the registry row's ``params`` records (the artefact holds the rest)."""
        forest: IsolationForest = self.pipeline.named_steps["forest"]
        return {
            "width": self.width,
            "baseline": self.baseline,
            "suppress": self.suppress,
            "threshold": self.threshold,
            "features": list(self.columns),
            "n_estimators": forest.n_estimators,
            "max_samples": forest.max_samples,
            "sklearn": sklearn.__version__,
            **self.info,
        }

    def raw_scores(self, ts: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Forest score per point (0 where the window or baseline is not full yet)."""
        feats = model_features(ts, values, self.width, self.baseline)
        out = np.zeros(len(values))
        if not feats.empty:
            x = feats[list(self.columns)].to_numpy(dtype=np.float64)
            out[feats["row"].to_numpy(dtype=np.int64)] = -self.pipeline.score_samples(x)
        return out

    def scores(self, ts: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Onset-only scores in [0, 1]: what is stored and thresholded."""
        return onset(self.raw_scores(ts, values), self.suppress)

    def score_series(self, series: Sequence[NabSeries]) -> list[np.ndarray]:
        """``evaluate.Scorer`` interface: one score array per series."""
        return [self.scores(s.ts, s.values) for s in series]


def feature_matrix(
    series: Sequence[NabSeries], width: int, baseline: int, columns: Sequence[str] = MODEL_COLUMNS
) -> np.ndarray:
    """Stacked model features of every series (rows with a full window and baseline)."""
    parts = [
        model_features(s.ts, s.values, width, baseline)[list(columns)].to_numpy(np.float64) for s in series
    ]
    parts = [p for p in parts if len(p)]
    return np.vstack(parts) if parts else np.zeros((0, len(columns)))


def fit(
    series: Sequence[NabSeries],
    *,
    width: int = 30,
    baseline: int = 720,
    suppress: int = 120,
    quantile: float = 0.99,
    n_estimators: int = 100,
    max_rows: int = 200_000,
    seed: int = 0,
) -> FamilyModel:
    """Fit the family model on ``series``; at most ``max_rows`` rows (sampled) are used."""
    x = feature_matrix(series, width, baseline)
    if len(x) < 10:
        raise ValueError(
            f"only {len(x)} feature rows: need more history (width {width}, "
            f"baseline {baseline} points per series)"
        )
    rng = np.random.default_rng(seed)
    if len(x) > max_rows:
        x = x[rng.choice(len(x), max_rows, replace=False)]
    pipeline = Pipeline(
        [
            ("scale", RobustScaler()),
            (
                "forest",
                IsolationForest(n_estimators=n_estimators, max_samples=256, random_state=seed, n_jobs=1),
            ),
        ]
    )
    pipeline.fit(x)
    train_scores = -pipeline.score_samples(x)
    threshold = float(np.quantile(train_scores, quantile))
    log.info("fitted %s on %d rows; threshold %.4f (q%.3f)", ALGORITHM, len(x), threshold, quantile)
    return FamilyModel(
        pipeline,
        width,
        baseline,
        suppress,
        threshold,
        info={"training_rows": len(x), "quantile": quantile, "seed": seed},
    )


def dumps(model: FamilyModel) -> bytes:
    """Artefact bytes for the registry (header + joblib pickle, zlib-compressed)."""
    buf = io.BytesIO()
    joblib.dump(model, buf, compress=3)
    return MAGIC + buf.getvalue()


def loads(blob: bytes) -> FamilyModel:
    """Load an artefact read from our own registry table (pickle: trusted source only)."""
    if not blob.startswith(MAGIC):
        raise ValueError("not a NetVigil family-model artefact (bad header)")
    model = joblib.load(io.BytesIO(blob[len(MAGIC) :]))  # registry rows only (see models.registry)
    if not isinstance(model, FamilyModel):
        raise ValueError(f"artefact holds a {type(model).__name__}, not a FamilyModel")
    return model


__all__ = ["ALGORITHM", "FamilyModel", "dumps", "feature_matrix", "fit", "loads"]

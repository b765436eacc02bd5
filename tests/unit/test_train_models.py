"""The family model, artefact round trip, online params and registry JSON cleaning."""

from __future__ import annotations

import math

import numpy as np
import pytest

from models.nab.data import NabSeries
from models.online.context import ContextBank
from models.online.zscore import ZScoreBank
from models.registry import _jsonable
from models.train import forest
from models.train.online import apply_params, detector_from_params, validate_params
from models.train.synthetic import inject, synthetic_values


def _series(seed: int, n: int = 3000) -> tuple[NabSeries, list[int]]:
    rng = np.random.default_rng(seed)
    ts = 1.7e9 + 60.0 * np.arange(n)
    x = synthetic_values(ts, rng)
    starts = inject(x, rng, 2, margin=n // 2)
    return NabSeries(f"s{seed}", ts, x, [], []), starts


def test_forest_scores_incidents_high_and_round_trips() -> None:
    train = [_series(s)[0] for s in range(3)]
    model = forest.fit(train, width=20, baseline=300, n_estimators=50, seed=1)
    test, starts = _series(9)
    raw = model.raw_scores(test.ts, test.values)
    assert raw.shape == test.values.shape and raw[:39].max() == 0.0  # warm-up rows unscored
    for s in starts:
        assert raw[s : s + 5].max() > np.median(raw[600:]) + 0.1
    blob = forest.dumps(model)
    again = forest.loads(blob)
    assert np.array_equal(again.scores(test.ts, test.values), model.scores(test.ts, test.values))
    assert model.params()["width"] == 20 and 0.0 < model.threshold < 1.0


def test_artefact_with_foreign_header_is_refused() -> None:
    with pytest.raises(ValueError):
        forest.loads(b"\x80\x04junk")


def test_fit_needs_history() -> None:
    with pytest.raises(ValueError, match="need more history"):
        forest.fit([NabSeries("x", np.arange(10.0), np.arange(10.0), [], [])])


def test_online_params_validation() -> None:
    assert validate_params({}) == {"detector": "default", "overrides": {}}
    with pytest.raises(ValueError):
        validate_params({"detector": "nope"})
    with pytest.raises(TypeError):
        validate_params({"detector": "default", "overrides": {"no_such_arg": 1}})
    with pytest.raises(ValueError, match="tail probability"):  # caught before the stream runs it
        validate_params({"detector": "default", "overrides": {"calib": 0.0}})
    bank = detector_from_params({"detector": "default", "overrides": {"threshold": 0.42}})
    assert isinstance(bank, ContextBank) and bank.threshold == 0.42


def test_apply_params_keeps_state_for_same_class() -> None:
    bank = detector_from_params(None)
    bank.update_keys(["a", "b"], np.array([0.0, 0.0]), np.array([1.0, 2.0]))
    same = apply_params(bank, {"detector": "default", "overrides": {"threshold": 0.7, "suppress": 10}})
    assert same is bank and bank.threshold == 0.7 and len(bank) == 2
    assert bank.suppress == 10  # type: ignore[attr-defined]
    other = apply_params(bank, {"detector": "zscore"})
    assert isinstance(other, ZScoreBank) and len(other) == 0


def test_jsonable_cleans_numpy_and_non_finite() -> None:
    out = _jsonable({"a": np.float64(1.5), "b": math.inf, "c": (1, np.int64(2)), "d": {"e": math.nan}})
    assert out == {"a": 1.5, "b": None, "c": [1, 2], "d": {"e": None}}

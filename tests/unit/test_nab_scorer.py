"""NAB scorer on hand-built files whose scores are worked out by hand below.

File of 20 rows: probation is floor(0.15 * 20) = 3 rows; one window [10, 14], w = 5.
f(y) = 2 / (1 + exp(5y)) - 1, so f(-1) = 0.986614, f(-0.6) = 0.905148,
f(-0.2) = 0.462117, f(0.5) = -0.848284.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from models.nab.scorer import (
    PROFILES,
    ScoredFile,
    optimise_threshold,
    probation_rows,
    scaled_sigmoid,
    score_at,
)

pytestmark = pytest.mark.unit
STD = PROFILES["standard"]
N = 20
WINDOW = (10, 14)


def _scores(**rows: float) -> np.ndarray:
    out = np.zeros(N)
    for k, v in rows.items():
        out[int(k[1:])] = v
    return out


def _one(scores: np.ndarray, threshold: float = 0.5, profile: str = "standard") -> float:
    f = ScoredFile.build(N, [WINDOW])
    return score_at([f], [scores], PROFILES[profile], threshold).raw


def test_sigmoid_values_by_hand() -> None:
    assert float(scaled_sigmoid(np.array(-1.0))) == pytest.approx(0.986614, abs=1e-6)
    assert float(scaled_sigmoid(np.array(0.5))) == pytest.approx(-0.848284, abs=1e-6)
    assert float(scaled_sigmoid(np.array(3.5))) == -1.0
    assert probation_rows(20) == 3
    assert probation_rows(100_000) == 750


def test_detection_at_left_edge_is_worth_a_tp() -> None:
    assert _one(_scores(r10=1.0)) == pytest.approx(1.0)


def test_detection_at_right_edge_is_worth_little() -> None:
    # y = -(14 - 14 + 1) / 5 = -0.2 -> 0.462117 / 0.986614 = 0.468387
    assert _one(_scores(r14=1.0)) == pytest.approx(0.468387, abs=1e-6)


def test_only_earliest_detection_in_a_window_counts() -> None:
    # rows 12 (y=-0.6 -> 0.917429) and 14; the max is row 12's weight, nothing is added
    assert _one(_scores(r12=1.0, r14=1.0)) == pytest.approx(0.917429, abs=1e-6)


def test_false_positives_before_and_after_window() -> None:
    # before the first window: -0.11; after: 0.11 * f((16 - 14) / 4) = -0.093311
    # and the window itself is missed: -1
    assert _one(_scores(r5=1.0)) == pytest.approx(-1.11)
    assert _one(_scores(r16=1.0)) == pytest.approx(-1.0 - 0.093311, abs=1e-6)
    assert _one(_scores(r5=1.0), profile="reward_low_FP_rate") == pytest.approx(-1.22)
    assert _one(_scores(r16=1.0), profile="reward_low_FN_rate") == pytest.approx(-2.0 - 0.093311, abs=1e-6)


def test_probation_rows_are_ignored() -> None:
    assert _one(_scores(r1=1.0)) == pytest.approx(-1.0)


def test_window_inside_probation_is_dropped() -> None:
    f = ScoredFile.build(N, [(0, 2), WINDOW])
    assert f.n_windows == 1
    assert score_at([f], [_scores(r10=1.0)], STD, 0.5).normalised == pytest.approx(100.0)


def test_threshold_optimisation_picks_the_best_distinct_score() -> None:
    # candidates: >= 0.9 -> row 5 only: -1 - 0.11 = -1.11; >= 0.6 -> rows 5 and 12:
    # -0.11 + 0.917429 = 0.807429; none -> -1.  Best: 0.6, normalised 100 * 1.807429 / 2.
    f = ScoredFile.build(N, [WINDOW])
    best = optimise_threshold([f], [_scores(r5=0.9, r12=0.6)], STD)
    assert best.threshold == 0.6
    assert best.raw == pytest.approx(0.807429, abs=1e-6)
    assert best.normalised == pytest.approx(90.37145, abs=1e-4)


def test_no_detections_wins_when_everything_is_a_false_positive() -> None:
    f = ScoredFile.build(N, [])
    best = optimise_threshold([f], [_scores(r5=0.9, r8=0.7)], STD)
    assert math.isinf(best.threshold)
    assert best.raw == 0.0


def test_ties_are_detected_together() -> None:
    # rows 5 and 12 share a score: one threshold takes both (0.807429), never row 12 alone
    f = ScoredFile.build(N, [WINDOW])
    best = optimise_threshold([f], [_scores(r5=0.7, r12=0.7)], STD)
    assert best.raw == pytest.approx(0.807429, abs=1e-6)


NAB = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "nab"


@pytest.mark.skipif(not NAB.is_dir(), reason="shared NAB data not present")
def test_reference_behaviour_on_the_corpus() -> None:
    from models.nab.data import load_corpus

    corpus = load_corpus(NAB)
    files = [ScoredFile.build(len(s.values), s.windows) for s in corpus]
    assert sum(f.n_windows for f in files) == 86
    perfect = []
    for s in corpus:
        a = np.zeros(len(s.values))
        for left, _ in s.windows:
            a[max(left, probation_rows(len(a)))] = 1.0
        perfect.append(a)
    null = [np.zeros(len(s.values)) for s in corpus]
    for profile in PROFILES.values():
        assert optimise_threshold(files, perfect, profile).normalised == pytest.approx(100.0)
        assert optimise_threshold(files, null, profile).normalised == pytest.approx(0.0)
    rng = np.random.default_rng(0)
    random = [rng.random(len(s.values)) for s in corpus]
    assert 0.0 < optimise_threshold(files, random, PROFILES["standard"]).normalised < 20.0

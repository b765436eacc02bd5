"""NAB's scoring rule (YARDSTICKS.md section 1), written from its description.

The rule rewards flagging each labelled window early and once, and charges every
flag outside a window.  Scoring is split in two so threshold optimisation is exact
and cheap: ``ScoredFile`` turns one file's labels into per-row weights (independent
of any detector), then the total score as a function of the threshold is a step
function whose steps sit at the distinct anomaly scores.  We build those steps once
("events": at threshold ``t`` the total changes by ``delta``) and read the best
threshold off a cumulative sum, instead of re-scoring every file per candidate.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

PROBATION_FRACTION = 0.15
PROBATION_MAX_ROWS = 750


@dataclass(frozen=True)
class Profile:
    """Costs of one NAB application profile."""

    name: str
    a_tp: float
    a_fp: float
    a_fn: float


PROFILES: dict[str, Profile] = {
    "standard": Profile("standard", 1.0, 0.11, 1.0),
    "reward_low_FP_rate": Profile("reward_low_FP_rate", 1.0, 0.22, 1.0),
    "reward_low_FN_rate": Profile("reward_low_FN_rate", 1.0, 0.11, 2.0),
}


def scaled_sigmoid(y: np.ndarray) -> np.ndarray:
    """``f(y) = 2 / (1 + exp(5y)) - 1``, and -1 for ``y > 3`` (NAB's cut-off)."""
    y = np.asarray(y, dtype=np.float64)
    out = 2.0 / (1.0 + np.exp(np.clip(5.0 * y, -700.0, 700.0))) - 1.0
    return np.where(y > 3.0, -1.0, out)


def probation_rows(n: int) -> int:
    """Rows at the start of a file that are not scored at all."""
    return min(math.floor(PROBATION_FRACTION * n), PROBATION_MAX_ROWS)


@dataclass(frozen=True)
class ScoredFile:
    """Unit weights of one file's rows, before applying a profile's costs.

    ``tp_unit[i]`` is ``f(y)/f(-1)`` for rows inside a window (times ``A_TP`` later);
    ``fp_unit[i]`` is ``f(y)`` (or -1 before the first window) for rows outside
    (times ``A_FP``); ``window_of[i]`` is the window number or -1; ``scorable`` is
    False in probation.  ``n_windows`` counts windows with at least one scorable row.
    """

    tp_unit: np.ndarray
    fp_unit: np.ndarray
    window_of: np.ndarray
    scorable: np.ndarray
    n_windows: int

    @classmethod
    def build(cls, n_rows: int, windows: Sequence[tuple[int, int]]) -> ScoredFile:
        """Compute the row weights for a file of ``n_rows`` rows and inclusive windows."""
        idx = np.arange(n_rows, dtype=np.float64)
        tp_unit = np.zeros(n_rows)
        fp_unit = np.full(n_rows, -1.0)  # before the first window
        window_of = np.full(n_rows, -1, dtype=np.int64)
        max_tp = float(scaled_sigmoid(np.array(-1.0)))
        ordered = sorted(windows)
        for k, (left, right) in enumerate(ordered):
            width = right - left + 1
            rows = slice(left, right + 1)
            tp_unit[rows] = scaled_sigmoid(-(right - idx[rows] + 1) / width) / max_tp
            window_of[rows] = k
            nxt = ordered[k + 1][0] if k + 1 < len(ordered) else n_rows
            after = slice(right + 1, nxt)
            denom = max(width - 1, 1)  # a one-row window would divide by zero
            fp_unit[after] = scaled_sigmoid((idx[after] - right) / denom)
        scorable = np.arange(n_rows) >= probation_rows(n_rows)
        # A window lying wholly inside probation is dropped: nothing in it can be scored.
        live = np.unique(window_of[scorable & (window_of >= 0)])
        remap = np.full(len(ordered) + 1, -1, dtype=np.int64)
        remap[live] = np.arange(len(live))
        window_of = np.where(window_of >= 0, remap[window_of], -1)
        return cls(tp_unit, fp_unit, window_of, scorable, len(live))


@dataclass(frozen=True)
class ThresholdScore:
    """Summed raw score and its normalised form at one threshold."""

    threshold: float
    raw: float
    normalised: float


def _events(
    files: Sequence[ScoredFile], scores: Sequence[np.ndarray], profile: Profile
) -> tuple[float, np.ndarray, np.ndarray]:
    """Base score (no detections) and (threshold, delta) steps of the total score."""
    base = 0.0
    thr: list[np.ndarray] = []
    delta: list[np.ndarray] = []
    for sf, sc in zip(files, scores, strict=True):
        sc = np.asarray(sc, dtype=np.float64)
        if len(sc) != len(sf.scorable):
            raise ValueError(f"scores have {len(sc)} rows, labels {len(sf.scorable)}")
        base -= profile.a_fn * sf.n_windows
        outside = sf.scorable & (sf.window_of < 0)
        thr.append(sc[outside])
        delta.append(profile.a_fp * sf.fp_unit[outside])
        for k in range(sf.n_windows):
            rows = np.flatnonzero(sf.scorable & (sf.window_of == k))
            order = rows[np.argsort(-sc[rows], kind="stable")]
            # Window score at threshold t: best (earliest) weight among rows with score >= t.
            best = np.maximum.accumulate(profile.a_tp * sf.tp_unit[order])
            best = np.maximum(best, -profile.a_fn)
            steps = np.diff(np.concatenate(([-profile.a_fn], best)))
            keep = steps > 0
            thr.append(sc[order][keep])
            delta.append(steps[keep])
    return (
        base,
        np.concatenate(thr) if thr else np.zeros(0),
        (np.concatenate(delta) if delta else np.zeros(0)),
    )


def normalised_score(raw: float, n_windows: int, profile: Profile) -> float:
    """``100 * (S - S_null) / (S_perfect - S_null)`` for a summed raw score ``S``."""
    null = -profile.a_fn * n_windows
    perfect = profile.a_tp * n_windows
    if perfect == null:
        return 0.0
    return 100.0 * (raw - null) / (perfect - null)


def score_at(
    files: Sequence[ScoredFile], scores: Sequence[np.ndarray], profile: Profile, threshold: float
) -> ThresholdScore:
    """Total score when every row with ``score >= threshold`` is a detection."""
    base, thr, delta = _events(files, scores, profile)
    raw = base + float(delta[thr >= threshold].sum())
    n_windows = sum(f.n_windows for f in files)
    return ThresholdScore(threshold, raw, normalised_score(raw, n_windows, profile))


def optimise_threshold(
    files: Sequence[ScoredFile], scores: Sequence[np.ndarray], profile: Profile
) -> ThresholdScore:
    """Best threshold over every distinct score plus "no detections" (threshold +inf)."""
    base, thr, delta = _events(files, scores, profile)
    n_windows = sum(f.n_windows for f in files)
    best = ThresholdScore(math.inf, base, normalised_score(base, n_windows, profile))
    if len(thr) == 0:
        return best
    order = np.argsort(-thr, kind="stable")
    t_sorted, d_sorted = thr[order], delta[order]
    totals = base + np.cumsum(d_sorted)
    # Only the last event of a run of equal thresholds is a reachable total.
    last = np.r_[t_sorted[1:] != t_sorted[:-1], True]
    cand_t, cand_total = t_sorted[last], totals[last]
    k = int(np.argmax(cand_total))
    if cand_total[k] > best.raw:
        raw = float(cand_total[k])
        best = ThresholdScore(float(cand_t[k]), raw, normalised_score(raw, n_windows, profile))
    return best

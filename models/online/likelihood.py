"""Turning raw surprise into a calibrated anomaly likelihood, vectorised over series.

Raw scores are not comparable between series (a noisy series is always a bit
surprising), so, like Numenta's AnomalyLikelihood, each series keeps the running
distribution of its own raw scores (exponentially weighted mean and variance) and a
short-term average of the latest ones; the likelihood is the normal CDF of how far
the short-term average sits above that distribution.  A sustained change lifts the
short-term average and a single noisy point does not.  The stored score is the
log-scaled likelihood (``log(1 - L) / log(1e-10)``) so that 0.5 means L = 0.99999.

The normal assumption fails in the far tail for bursty series, which then pass any
fixed likelihood level far more often than it promises.  ``track_quantile`` follows a
series' own upper quantile of z with one float (no samples kept) and ``tail_shift``
turns it into a correction that ``update_likelihood`` subtracts, so each series is
read on its own tail scale (``models.online.context`` explains the choice).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

LOG_FLOOR = np.log(1e-10)


def _erfc_poly(t: np.ndarray) -> np.ndarray:
    """The Numerical Recipes polynomial shared by :func:`erfc` and :func:`log10_tail`."""
    coefficients = (
        -1.26551223, 1.00002368, 0.37409196, 0.09678418, -0.18628806,
        0.27886807, -1.13520398, 1.48851587, -0.82215223, 0.17087277,
    )  # fmt: skip
    acc = np.full_like(t, coefficients[-1])
    for c in coefficients[-2::-1]:
        acc = c + t * acc
    return acc


def erfc(x: np.ndarray) -> np.ndarray:
    """Complementary error function with < 1.2e-7 *relative* error (Numerical Recipes).

    Relative accuracy matters: the log-likelihood lives in the far tail (1e-5..1e-10),
    where an absolute-error approximation would be useless.  numpy has no erfc and
    scipy is not a declared dependency.
    """
    z = np.abs(x)
    t = 1.0 / (1.0 + 0.5 * z)
    poly = _erfc_poly(t)
    ans = t * np.exp(-z * z + poly)
    return np.asarray(np.where(x >= 0, ans, 2.0 - ans))


def normal_tail(z: np.ndarray) -> np.ndarray:
    """P(Z > z) for a standard normal Z."""
    return 0.5 * erfc(z / np.sqrt(2.0))


def log10_tail(z: np.ndarray) -> np.ndarray:
    """``log10 P(Z > z)`` computed in log space, so it never saturates (z = 40 is fine)."""
    u = np.abs(z) / np.sqrt(2.0)
    t = 1.0 / (1.0 + 0.5 * u)
    poly = _erfc_poly(t)
    log_upper = np.log(0.5 * t) - u * u + poly  # ln P(Z > |z|)
    ln_tail = np.where(z >= 0, log_upper, np.log1p(-np.exp(np.minimum(log_upper, -1e-12))))
    return np.asarray(ln_tail / np.log(10.0))


@lru_cache(maxsize=16)
def normal_upper_quantile(p: float) -> float:
    """The z with ``P(Z > z) = p`` for a standard normal Z (bisection on :func:`log10_tail`)."""
    if not 0.0 < p < 0.5:
        raise ValueError(f"tail probability must be in (0, 0.5), got {p}")
    lo, hi, target = 0.0, 40.0, np.log10(p)
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        if float(log10_tail(np.array(mid))) > target:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def track_quantile(q: np.ndarray, value: np.ndarray, p: float, step: float) -> np.ndarray:
    """One Robbins-Monro step toward the upper ``p`` quantile of ``value``: up by
    ``step * (1 - p)`` when ``value`` exceeds ``q``, down by ``step * p`` otherwise, so
    ``q`` settles where a fraction ``p`` of values lies above it (no samples stored)."""
    return np.asarray(q + step * ((value > q) - p))


def tail_shift(q: np.ndarray, p: float) -> np.ndarray:
    """How far a tracked upper-``p`` quantile ``q`` sits above the normal one (>= 0).

    Subtracted from z (``update_likelihood(shift=...)``), it reads a series whose z
    passes the normal 1-in-1/p level more often than that on its own scale; lighter
    tails are left alone (never shifted up).
    """
    return np.asarray(np.maximum(q - normal_upper_quantile(p), 0.0))


def surprise_score(z: np.ndarray, half: float = 10.0) -> np.ndarray:
    """Map a z value to [0, 1) by its tail: ``D / (D + half)`` with ``D = -log10 P(Z > z)``.

    Unlike a clipped log-likelihood this keeps ordering among very unlikely points,
    which is what lets a threshold separate "rare" from "never seen".  0.5 means a
    tail of ``10**-half``.
    """
    d = np.maximum(-log10_tail(z), 0.0)
    return np.asarray(d / (d + half))


def log_score(likelihood: np.ndarray) -> np.ndarray:
    """Numenta's log scaling of a likelihood into [0, 1] (0.5 <=> 0.99999)."""
    tail = np.clip(1.0 - likelihood, 1e-10, 1.0)
    return np.asarray(np.clip(np.log(tail) / LOG_FLOOR, 0.0, 1.0))


def update_likelihood(
    raw: np.ndarray,
    short: np.ndarray,
    mean: np.ndarray,
    var: np.ndarray,
    n: np.ndarray,
    short_alpha: float,
    long_alpha: float,
    min_std: float,
    shift: np.ndarray | float = 0.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Score ``raw`` against the series' raw-score distribution, then learn it.

    Returns (z, likelihood, new_short, new_mean, new_var): z is how far the short-term
    average sits above the long-run distribution, in its standard deviations, minus
    ``shift`` (a per-series tail correction, :func:`tail_shift`); the likelihood is
    that of the shifted z.  The long-run statistics use ``max(long_alpha, 1/n)`` so a
    young series' distribution is a plain average.
    """
    new_short = short + short_alpha * (raw - short)
    std = np.sqrt(np.maximum(var, min_std * min_std))
    z = np.where(n > 1, (new_short - mean) / std, 0.0) - shift
    likelihood = 1.0 - normal_tail(z)
    a = np.maximum(long_alpha, 1.0 / np.maximum(n, 1.0))
    d = raw - mean
    new_mean = mean + a * d
    new_var = (1.0 - a) * (var + a * d * d)
    return z, likelihood, new_short, new_mean, new_var

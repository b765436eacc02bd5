"""Generalisation check: choose settings on half the NAB categories, score the rest.

NAB's "optimised threshold" is chosen on the very files it scores, and any
hyperparameter picked by looking at NAB scores is too.  This module estimates how
much of a score is such fitting: for each split of the categories into halves A/B,
the threshold (and optionally a small grid of detector settings) is chosen on A and
then applied, unchanged, to B.  Run: ``python -m models.nab.crosscheck --data DIR``.

``--loco`` prints the leave-one-category-out estimate instead: each category is
scored at the threshold optimised on all the others, and the held-out raw scores
are pooled and normalised over every window (per profile).  ``--loco --detail``
adds, per profile, the unrounded pooled score and each held-out category's
threshold and own normalised score, so a change can be checked category by
category (a gain on one category that costs the others is not generalisation).
"""

from __future__ import annotations

import itertools
import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click
import numpy as np

from models.nab.data import NabSeries, load_corpus
from models.nab.runner import detect_corpus
from models.nab.scorer import PROFILES, ScoredFile, normalised_score, optimise_threshold, score_at
from models.online import make_detector

log = logging.getLogger(__name__)

SPLITS: tuple[tuple[str, ...], ...] = (
    ("artificialNoAnomaly", "realAdExchange", "realTraffic"),
    ("artificialWithAnomaly", "realAdExchange", "realTweets"),
    ("artificialNoAnomaly", "realKnownCause", "realTraffic"),
)

GRID: dict[str, Sequence[Any]] = {
    "suppress": (25, 50, 100),
    "gap": (0.1, 0.15, 0.2),
    "short": (0.1, 0.2, 0.4),
}


def _subset(
    series: Sequence[NabSeries], scores: Sequence[np.ndarray], cats: set[str], keep: bool
) -> tuple[list[ScoredFile], list[np.ndarray]]:
    files, arrays = [], []
    for s, sc in zip(series, scores, strict=True):
        if (s.key.split("/", 1)[0] in cats) == keep:
            files.append(ScoredFile.build(len(s.values), s.windows))
            arrays.append(sc)
    return files, arrays


def loco(series: Sequence[NabSeries], scores: Sequence[np.ndarray]) -> dict[str, float]:
    """Leave-one-category-out normalised score per profile (threshold chosen without it)."""
    cats = sorted({s.key.split("/", 1)[0] for s in series})
    files = [ScoredFile.build(len(s.values), s.windows) for s in series]
    out = {}
    for name, profile in PROFILES.items():
        raw = 0.0
        for c in cats:
            fa, sa = _subset(series, scores, {c}, False)
            fb, sb = _subset(series, scores, {c}, True)
            raw += score_at(fb, sb, profile, optimise_threshold(fa, sa, profile).threshold).raw
        out[name] = round(normalised_score(raw, sum(f.n_windows for f in files), profile), 1)
    return out


def loco_detail(series: Sequence[NabSeries], scores: Sequence[np.ndarray]) -> dict[str, Any]:
    """``loco`` unrounded, plus each held-out category's threshold and normalised score."""
    cats = sorted({s.key.split("/", 1)[0] for s in series})
    n_windows = sum(ScoredFile.build(len(s.values), s.windows).n_windows for s in series)
    out: dict[str, Any] = {}
    for name, profile in PROFILES.items():
        raw, per_cat = 0.0, {}
        for c in cats:
            fa, sa = _subset(series, scores, {c}, False)
            fb, sb = _subset(series, scores, {c}, True)
            threshold = optimise_threshold(fa, sa, profile).threshold
            held = score_at(fb, sb, profile, threshold)
            raw += held.raw
            per_cat[c] = {
                "threshold": threshold,
                "raw": round(held.raw, 3),
                "score": round(held.normalised, 2),
            }
        out[name] = {"pooled": round(normalised_score(raw, n_windows, profile), 2), "categories": per_cat}
    return out


def crosscheck(data_dir: Path, detector: str = "default", grid: bool = True) -> list[dict[str, Any]]:
    """Per split: settings and threshold chosen on A; standard score on A and on B."""
    series = load_corpus(data_dir)
    configs = [dict(zip(GRID, v, strict=True)) for v in itertools.product(*GRID.values())]
    runs = {
        json.dumps(c): detect_corpus(series, make_detector(detector, **c))
        for c in (configs if grid else [{}])
    }
    std = PROFILES["standard"]
    out = []
    for split in SPLITS:
        cats = set(split)
        best_key, best = "", None
        for key, scores in runs.items():
            fa, sa = _subset(series, scores, cats, True)
            res = optimise_threshold(fa, sa, std)
            if best is None or res.normalised > best.normalised:
                best_key, best = key, res
        assert best is not None
        fb, sb = _subset(series, runs[best_key], cats, False)
        on_b = score_at(fb, sb, std, best.threshold)
        b_opt = optimise_threshold(fb, sb, std)
        shipped = make_detector(detector, **json.loads(best_key)).threshold
        b_fixed = score_at(fb, sb, std, shipped)
        out.append(
            {
                "tuned_on": sorted(cats),
                "settings": json.loads(best_key),
                "threshold": best.threshold,
                "score_A": round(best.normalised, 1),
                "score_B_at_A_threshold": round(on_b.normalised, 1),
                "score_B_optimised": round(b_opt.normalised, 1),
                "score_B_at_shipped_threshold": round(b_fixed.normalised, 1),
            }
        )
        log.info("split %s done", split)
    return out


@click.command()
@click.option("--data", "data_dir", required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--detector", default="default", show_default=True)
@click.option("--no-grid", is_flag=True, help="Only the threshold is chosen on A.")
@click.option("--loco", "leave_one_out", is_flag=True, help="Leave-one-category-out scores instead.")
@click.option("--detail", is_flag=True, help="With --loco: unrounded, and per held-out category.")
def main(data_dir: Path, detector: str, no_grid: bool, leave_one_out: bool, detail: bool) -> None:
    """Print the cross-check table (or the leave-one-category-out scores) as JSON."""
    if leave_one_out:
        series = load_corpus(data_dir)
        scores = detect_corpus(series, make_detector(detector))
        result: Any = loco_detail(series, scores) if detail else loco(series, scores)
    else:
        result = crosscheck(data_dir, detector, grid=not no_grid)
    click.echo(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

"""NAB runner and CLI on a tiny synthetic corpus written to a temp dir."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from models.cli import models
from models.nab.runner import run_detector, score_results

pytestmark = pytest.mark.unit


def _corpus(root: Path) -> None:
    ts = pd.date_range("2024-01-01", periods=1200, freq="5min")
    rng = np.random.default_rng(0)
    calm = 10 + rng.normal(0, 0.5, len(ts))
    spiky = calm.copy()
    spiky[900:910] += 30.0
    for cat, name, values in (("catA", "calm.csv", calm), ("catB", "spiky.csv", spiky)):
        (root / "data" / cat).mkdir(parents=True, exist_ok=True)
        pd.DataFrame({"timestamp": ts.strftime("%Y-%m-%d %H:%M:%S"), "value": values}).to_csv(
            root / "data" / cat / name, index=False
        )
    windows = {"catA/calm.csv": [], "catB/spiky.csv": [[f"{ts[860]}.000000", f"{ts[940]}.000000"]]}
    (root / "labels").mkdir()
    (root / "labels" / "combined_windows.json").write_text(json.dumps(windows))


def test_run_and_score_round_trip(tmp_path: Path) -> None:
    _corpus(tmp_path / "nab")
    root = run_detector(tmp_path / "nab", tmp_path / "out", "default")
    out = pd.read_csv(root / "catB" / "default_spiky.csv")
    assert list(out.columns) == ["timestamp", "value", "anomaly_score"]
    assert len(out) == 1200 and out["anomaly_score"].between(0, 1).all()
    table = {r.profile: r for r in score_results(tmp_path / "nab", tmp_path / "out", "default")}
    assert table["standard"].optimised_score > 50.0
    assert table["standard"].fixed_threshold == pytest.approx(0.15)


def test_cli_run_and_score_json(tmp_path: Path) -> None:
    _corpus(tmp_path / "nab")
    runner = CliRunner()
    res = runner.invoke(
        models,
        ["nab-run", "--data", str(tmp_path / "nab"), "--out", str(tmp_path / "out"), "--detector", "zscore"],
    )
    assert res.exit_code == 0, res.output
    res = runner.invoke(
        models,
        [
            "nab-score",
            "--data",
            str(tmp_path / "nab"),
            "--results",
            str(tmp_path / "out"),
            "--detector",
            "zscore",
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    assert [r["profile"] for r in doc["scores"]] == ["standard", "reward_low_FP_rate", "reward_low_FN_rate"]


def test_loco_chooses_each_threshold_without_the_held_out_category() -> None:
    from models.nab.crosscheck import loco
    from models.nab.data import NabSeries

    n = 1000
    ts = 1_700_000_000.0 + 300.0 * np.arange(n)

    def series(key: str) -> NabSeries:
        return NabSeries(key, ts, np.zeros(n), [str(t) for t in ts], [(600, 700)])

    corpus = [series("catA/a.csv"), series("catB/b.csv")]
    same = [np.zeros(n), np.zeros(n)]
    same[0][600] = same[1][600] = 0.8  # both detected at the window's left edge
    assert loco(corpus, same)["standard"] == pytest.approx(100.0)
    # B's detection is weaker than A's: A's optimised threshold (0.8) misses it, and B's
    # (0.3) catches A's, so only the held-out B loses its window.
    weak = [same[0], np.zeros(n)]
    weak[1][600] = 0.3
    assert loco(corpus, weak)["standard"] == pytest.approx(50.0)


def test_loco_detail_matches_loco_and_reports_each_held_out_category() -> None:
    from models.nab.crosscheck import loco, loco_detail
    from models.nab.data import NabSeries

    n = 1000
    ts = 1_700_000_000.0 + 300.0 * np.arange(n)
    corpus = [
        NabSeries(key, ts, np.zeros(n), [str(t) for t in ts], [(600, 700)])
        for key in ("catA/a.csv", "catB/b.csv")
    ]
    scores = [np.zeros(n), np.zeros(n)]
    scores[0][600] = 0.8
    scores[1][600] = 0.3
    detail = loco_detail(corpus, scores)
    for profile, value in loco(corpus, scores).items():
        assert detail[profile]["pooled"] == pytest.approx(value, abs=0.05)
    cats = detail["standard"]["categories"]
    assert cats["catB"]["threshold"] == pytest.approx(0.8)  # chosen on A, misses B's window
    assert cats["catB"]["score"] == pytest.approx(0.0)
    assert cats["catA"]["score"] == pytest.approx(100.0)

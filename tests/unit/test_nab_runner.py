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

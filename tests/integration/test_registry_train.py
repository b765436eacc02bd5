"""Retraining from stored history and the ``netvigil models train|promote|versions`` commands."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from models import registry
from models.train import forest, synthetic
from models.train.data import load_alert_labels, load_history
from models.train.run import load_production_scorer, train_family
from netvigil.cli.main import cli
from netvigil.db import connect
from netvigil.settings import Settings


@pytest.fixture(scope="module")
def seeded(pg_stack: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    prefix = f"trt{uuid.uuid4().hex[:6]}_"
    with connect(pg_stack) as conn:
        info = synthetic.seed_history(conn, prefix, "cpu", days=2.0, devices=2, seed=5)
        conn.commit()
    like = prefix.replace("_", "\\_") + "%"
    nab = synthetic.write_nab_corpus(tmp_path_factory.mktemp("nab"), files=2, rows=1200)
    yield {"prefix": prefix, "like": like, "info": info, "nab": nab}
    with connect(pg_stack) as conn:
        synthetic.purge(conn, prefix)
        conn.execute("DELETE FROM model_registry WHERE family LIKE %s", (like,))
        conn.execute("DELETE FROM app_audit WHERE detail->>'family' LIKE %s", (like,))
        conn.commit()


def test_history_and_labels_come_from_the_db(pg_stack: Settings, seeded: dict[str, Any]) -> None:
    with connect(pg_stack) as conn:
        hist = load_history(conn, "cpu", 3.0, device_like=seeded["like"])
        labels = load_alert_labels(conn, "cpu", 3.0, device_like=seeded["like"])
    assert [h.series_id for h in hist] == sorted(seeded["info"].series_ids)
    assert all(len(h.values) == 2 * 1440 and (h.ts[1:] > h.ts[:-1]).all() for h in hist)
    assert sum(lab.positive for lab in labels) == len(seeded["info"].incidents)
    assert sum(not lab.positive for lab in labels) == len(seeded["info"].false_alarms)


def test_train_evaluate_register_and_load(pg_stack: Settings, seeded: dict[str, Any]) -> None:
    family = seeded["prefix"] + "cpu"
    with connect(pg_stack) as conn:
        res = train_family(
            conn,
            family,
            series_family="cpu",
            since_days=3.0,
            device_like=seeded["like"],
            nab_dir=seeded["nab"],
            register=True,
            created_by="ci",
        )
        conn.commit()
        m = res.metrics
        assert res.version == 1 and m["training_series"] == 2 and m["training_rows"] > 2000
        assert m["alerts_labelled"] == 8 and m["alert_recall"] is not None
        assert m["nab_files"] == 2 and m["nab_windows"] == 2 and "nab_standard" in m
        stored = registry.get(conn, family, 1)
        assert stored.metrics["training_rows"] == m["training_rows"]
        assert stored.params["width"] == 30 and stored.algorithm == forest.ALGORITHM
        registry.promote(conn, family, 1, "ci")
        version, scorer, threshold = load_production_scorer(conn, family)
    h = res.history[0]
    assert version == 1 and threshold == res.model.threshold  # type: ignore[union-attr]
    assert (scorer([h.as_nab()])[0] == res.model.scores(h.ts, h.values)).all()  # type: ignore[union-attr]


def test_cli_train_promote_versions(pg_stack: Settings, seeded: dict[str, Any], tmp_path: Path) -> None:
    family = seeded["prefix"] + "cli"
    runner = CliRunner()
    out = runner.invoke(
        cli,
        [
            "models",
            "train",
            "--family",
            family,
            "--series-family",
            "cpu",
            "--device",
            seeded["like"],
            "--since",
            "3",
            "--register",
            "--json",
        ],
    )
    assert out.exit_code == 0, out.output
    summary = json.loads(out.output)
    assert summary["version"] == 1 and summary["artefact_bytes"] > 1000
    out = runner.invoke(
        cli,
        [
            "models",
            "train",
            "--family",
            family,
            "--series-family",
            "cpu",
            "--device",
            seeded["like"],
            "--since",
            "3",
            "--register",
        ],
    )
    assert out.exit_code == 0 and f"registered as {family} v2" in out.output, out.output
    for v in (1, 2):
        out = runner.invoke(
            cli, ["models", "promote", "--family", family, "--version", str(v), "--actor", "ci-cli"]
        )
        assert out.exit_code == 0 and f"{family} v{v} is production" in out.output, out.output
    out = runner.invoke(cli, ["models", "versions", "--family", family, "--json"])
    rows = json.loads(out.output)
    assert [(r["version"], r["stage"]) for r in rows] == [(2, "production"), (1, "archived")]
    out = runner.invoke(cli, ["models", "versions", "--family", family])
    assert "production" in out.output and "archived" in out.output
    out = runner.invoke(cli, ["models", "promote", "--family", family, "--version", "9"])
    assert out.exit_code != 0 and "no model" in out.output


def test_cli_online_family_evaluates_and_registers(pg_stack: Settings, seeded: dict[str, Any]) -> None:
    family = seeded["prefix"] + "online"
    with connect(pg_stack) as conn:
        res = train_family(
            conn,
            family,
            kind="online",
            nab_dir=seeded["nab"],
            register=True,
            online_params={"detector": "default", "overrides": {"threshold": 0.6}},
            series_family="cpu",
            device_like=seeded["like"],
            since_days=3.0,
        )
        conn.commit()
    assert res.algorithm == "bank:default" and res.artefact is None
    assert res.params == {"detector": "default", "overrides": {"threshold": 0.6}}
    assert res.metrics["nab_fixed_threshold"] == 0.6 and res.metrics["alerts_labelled"] == 8
    out = CliRunner().invoke(cli, ["models", "train", "--family", "online", "--param", "bogus=1"])
    assert out.exit_code != 0 and "bogus" in out.output


def test_cli_unknown_family_is_a_clear_error(pg_stack: Settings) -> None:
    out = CliRunner().invoke(cli, ["models", "train", "--family", "nosuchfamily"])
    assert out.exit_code != 0 and "unknown series family" in out.output

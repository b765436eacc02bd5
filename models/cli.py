"""``netvigil models ...`` commands: NAB runs and scoring (group ``models``)."""

from __future__ import annotations

import json
import logging
import math
from dataclasses import asdict
from pathlib import Path

import click

from models.nab.runner import run_detector, score_results
from models.online import DETECTORS

log = logging.getLogger(__name__)


@click.group(name="models")
def models() -> None:
    """Anomaly detectors: NAB evaluation of the stream detectors."""


@models.command("nab-run")
@click.option(
    "--data",
    "data_dir",
    required=True,
    type=click.Path(exists=True, path_type=Path),
    help="NAB corpus (with data/<category>/*.csv and labels/).",
)
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path))
@click.option("--detector", default="default", show_default=True, type=click.Choice(list(DETECTORS)))
@click.option("--seed", default=0, show_default=True, type=int)
def nab_run(data_dir: Path, out_dir: Path, detector: str, seed: int) -> None:
    """Run DETECTOR over every series and write NAB-format results files."""
    root = run_detector(data_dir, out_dir, detector, seed=seed)
    click.echo(f"results written to {root}")


@models.command("nab-score")
@click.option("--data", "data_dir", required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--results", "results_dir", required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--detector", default="default", show_default=True, type=click.Choice(list(DETECTORS)))
@click.option(
    "--threshold",
    "fixed",
    default=None,
    type=float,
    help="Fixed threshold to score at (default: the one the detector ships with).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def nab_score(data_dir: Path, results_dir: Path, detector: str, fixed: float | None, as_json: bool) -> None:
    """Score results with NAB's rule: three profiles, optimised and fixed threshold."""
    table = score_results(data_dir, results_dir, detector, fixed)
    if as_json:
        rows = [
            {k: (None if isinstance(v, float) and math.isinf(v) else v) for k, v in asdict(r).items()}
            for r in table
        ]
        click.echo(json.dumps({"detector": detector, "scores": rows}, indent=2))
        return
    click.echo(f"NAB scores for {detector!r}")
    click.echo(f"{'profile':22s} {'optimised':>9s} {'(thr)':>8s} {'fixed':>9s} {'(thr)':>8s}")
    for r in table:
        click.echo(
            f"{r.profile:22s} {r.optimised_score:9.1f} {r.optimised_threshold:8.6g} "
            f"{r.fixed_score:9.1f} {r.fixed_threshold:8.6g}"
        )


__all__ = ["models"]

# Retraining and the model registry (models.cli_registry) join this group.
from models.cli_registry import COMMANDS as _REGISTRY_COMMANDS  # noqa: E402

for _command in _REGISTRY_COMMANDS:
    models.add_command(_command)

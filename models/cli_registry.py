"""``netvigil models train | promote | versions``: retraining and the model registry.

Added to the ``models`` group by ``models.cli``.  Heavy imports (scikit-learn) happen
inside the commands so ``netvigil models --help`` stays fast.
"""

from __future__ import annotations

import getpass
import json
import logging
from pathlib import Path
from typing import Any

import click

log = logging.getLogger(__name__)


def _settings() -> Any:
    from netvigil.cli.main import get_settings

    return get_settings(click.get_current_context())


def _parse_overrides(pairs: tuple[str, ...]) -> dict[str, Any]:
    """``k=v`` pairs, values parsed as JSON when they are (numbers, booleans), else strings."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{pair!r}: expected KEY=VALUE", param_hint="--param")
        try:
            out[key] = json.loads(raw)
        except json.JSONDecodeError:
            out[key] = raw
    return out


@click.command("train")
@click.option(
    "--family",
    required=True,
    help="Registry family: a series family (cpu, interface, memory, disk, latency, ...) "
    "or 'online' for the stream detector's configuration.",
)
@click.option(
    "--since",
    "since_days",
    default=14.0,
    show_default=True,
    type=float,
    help="Days of stored history to train and evaluate on.",
)
@click.option("--device", "device_like", default=None, help="Only devices matching this SQL LIKE pattern.")
@click.option(
    "--series-family",
    default=None,
    help="History family when it differs from --family (e.g. --family online --series-family cpu).",
)
@click.option(
    "--nab",
    "nab_dir",
    default=None,
    envvar="NETVIGIL_NAB_DATA",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="NAB-format corpus to evaluate on (env NETVIGIL_NAB_DATA).",
)
@click.option("--nab-files", default=None, type=int, help="Only the first N NAB files (sorted).")
@click.option(
    "--detector",
    default="default",
    show_default=True,
    help="For --family online: the named detector configuration.",
)
@click.option(
    "--param",
    "params",
    multiple=True,
    help="For --family online: constructor override KEY=VALUE (repeatable).",
)
@click.option("--register", is_flag=True, help="Register the result as a candidate version.")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def train(
    family: str,
    since_days: float,
    device_like: str | None,
    series_family: str | None,
    nab_dir: Path | None,
    nab_files: int | None,
    detector: str,
    params: tuple[str, ...],
    register: bool,
    seed: int,
    as_json: bool,
) -> None:
    """Train (or, for 'online', evaluate) a model for FAMILY; optionally register it."""
    from models.train.run import train_family
    from netvigil.db import connect

    online_params = {"detector": detector, "overrides": _parse_overrides(params)}
    with connect(_settings()) as conn:
        try:
            result = train_family(
                conn,
                family,
                since_days=since_days,
                device_like=device_like,
                series_family=series_family,
                nab_dir=nab_dir,
                nab_files=nab_files,
                register=register,
                created_by=getpass.getuser(),
                seed=seed,
                online_params=online_params,
            )
        except (ValueError, TypeError) as exc:
            raise click.ClickException(str(exc)) from None
        conn.commit()
    if as_json:
        click.echo(json.dumps(result.summary(), indent=2, default=str))
        return
    where = f"registered as {family} v{result.version}" if result.version else "not registered"
    click.echo(f"{family}: {result.algorithm} ({where})")
    for key, value in result.metrics.items():
        click.echo(f"  {key:28s} {value}")


@click.command("promote")
@click.option("--family", required=True)
@click.option("--version", "version", required=True, type=int)
@click.option("--actor", default=None, help="Who promotes (default: the login name); audited.")
def promote(family: str, version: int, actor: str | None) -> None:
    """Make VERSION the production model of FAMILY (the previous one is archived)."""
    from models import registry
    from models.registry_watch import notify
    from netvigil.db import connect

    settings = _settings()
    who = actor or getpass.getuser()
    with connect(settings) as conn:
        try:
            previous = registry.promote(conn, family, version, who)
        except registry.RegistryError as exc:
            raise click.ClickException(str(exc)) from None
        conn.commit()
    announced = notify(settings, family, version)
    click.echo(
        f"{family} v{version} is production (previous: "
        f"{'v' + str(previous) if previous else 'none'}; "
        f"{'announced' if announced else 'not announced, workers poll'})"
    )


@click.command("versions")
@click.option("--family", default=None)
@click.option("--json", "as_json", is_flag=True)
def versions(family: str | None, as_json: bool) -> None:
    """List registered model versions (newest first per family)."""
    from models import registry
    from netvigil.db import connect

    with connect(_settings(), readonly=True) as conn:
        rows = registry.list_versions(conn, family)
    if as_json:
        click.echo(json.dumps([r.summary() for r in rows], indent=2))
        return
    click.echo(
        f"{'family':16s} {'ver':>4s} {'stage':10s} {'algorithm':18s} {'NAB std':>8s} "
        f"{'precision':>9s} {'created':20s} by"
    )
    for r in rows:
        nab = r.metrics.get("nab_standard")
        prec = r.metrics.get("alert_precision")
        click.echo(
            f"{r.family:16s} {r.version:4d} {r.stage:10s} {r.algorithm:18s} "
            f"{'' if nab is None else f'{nab:.1f}':>8s} "
            f"{'' if prec is None else f'{prec:.2f}':>9s} "
            f"{r.created_at:%Y-%m-%d %H:%M:%S} {r.created_by}"
        )


COMMANDS = (train, promote, versions)

__all__ = ["COMMANDS", "promote", "train", "versions"]

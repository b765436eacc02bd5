"""`netvigil settings`: the effective settings, secrets masked."""

from __future__ import annotations

import json

import click
import yaml

from netvigil.cli.main import get_settings

__all__ = ["settings_cmd"]


@click.command(name="settings")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of YAML.")
@click.pass_context
def settings_cmd(ctx: click.Context, as_json: bool) -> None:
    """Show the effective settings (defaults + config file + NETVIGIL_* environment)."""
    data = get_settings(ctx).masked()
    if as_json:
        click.echo(json.dumps(data, indent=2, sort_keys=True))
    else:
        click.echo(yaml.safe_dump(data, sort_keys=False).rstrip())

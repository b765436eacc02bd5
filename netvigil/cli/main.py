"""The `netvigil` command. Each tier contributes its own command group.

Groups are imported lazily so `netvigil stack up` does not pay for importing
Faust, River and Streamlit, and a broken optional tier cannot stop the stack
tools from working.
"""

from __future__ import annotations

import importlib
import logging
import sys
from typing import Any

import click

from netvigil.settings import ConfigError, Settings, load_settings

__all__ = ["main"]

# command name -> (module, attribute). Each tier registers its group here.
COMMANDS: dict[str, tuple[str, str]] = {
    "stack": ("netvigil.cli.stack", "stack"),
    "db": ("netvigil.cli.db", "db"),
    "settings": ("netvigil.cli.settings_cmd", "settings_cmd"),
    "devices": ("ingest.cli_devices", "devices"),
    "snmp": ("ingest.cli_snmp", "snmp"),
    "ping": ("ingest.cli_ping", "ping"),
    "collect": ("ingest.cli", "collect"),
    "simulate": ("ingest.simulate.cli", "simulate"),
    "worker": ("streams.cli", "worker"),
    "models": ("models.cli", "models"),
    "app": ("app_streamlit.cli", "app"),
    "demo": ("netvigil.cli.demo", "demo"),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        try:
            module = importlib.import_module(target[0])
        except ModuleNotFoundError as exc:
            if exc.name and target[0].startswith(exc.name):
                raise click.ClickException(f"'{cmd_name}' is not available in this build") from None
            raise
        command: click.Command = getattr(module, target[1])
        return command


def get_settings(ctx: click.Context) -> Settings:
    """The settings loaded once per invocation (stored on the root context)."""
    root = ctx.find_root()
    obj: dict[str, Any] = root.ensure_object(dict)
    if "settings" not in obj:
        obj["settings"] = load_settings(obj.get("config"))
    settings: Settings = obj["settings"]
    return settings


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    type=click.Path(dir_okay=False),
    envvar="NETVIGIL_CONFIG",
    help="YAML config file (default ./netvigil.yaml if present).",
)
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.pass_context
def cli(ctx: click.Context, config: str | None, verbose: int) -> None:
    """NetVigil: network and server monitoring with online anomaly detection."""
    ctx.ensure_object(dict)["config"] = config
    level = logging.DEBUG if verbose > 1 else logging.INFO if verbose else logging.WARNING
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def main() -> None:
    try:
        cli(standalone_mode=True)
    except ConfigError as exc:
        click.echo(f"netvigil: configuration error: {exc}", err=True)
        sys.exit(2)

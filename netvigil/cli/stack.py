"""`netvigil stack up|down|status|check`: the local services, on loopback."""

from __future__ import annotations

import json
import sys
import time

import click

from netvigil.cli.main import get_settings
from netvigil.stack import SERVICE_NAMES, StackError, services

__all__ = ["stack"]

_only = click.option(
    "--only",
    "only",
    multiple=True,
    type=click.Choice(SERVICE_NAMES),
    help="Act on these services only (repeatable).",
)


@click.group()
def stack() -> None:
    """Start, stop and check the local Kafka, PostgreSQL and Redis."""


@stack.command()
@_only
@click.pass_context
def up(ctx: click.Context, only: tuple[str, ...]) -> None:
    """Install what is missing and start the services (idempotent)."""
    settings = get_settings(ctx)
    names = only or SERVICE_NAMES
    for svc in services(settings, names):
        t0 = time.monotonic()
        try:
            svc.start()
        except StackError as exc:
            click.echo(f"netvigil stack: {exc}", err=True)
            sys.exit(1)
        st = svc.status()
        click.echo(f"{svc.name:9} up   {svc.host}:{svc.port}  pid {st.pid}  ({time.monotonic() - t0:.1f}s)")
    if "kafka" in names:
        from netvigil.kafka_admin import ensure_topics

        try:
            created = ensure_topics(settings)
        except Exception as exc:  # the admin client raises several kinds; report one line
            click.echo(f"netvigil stack: kafka topics could not be created: {exc}", err=True)
            sys.exit(1)
        if created:
            click.echo(f"kafka     topics created: {', '.join(created)}")


@stack.command()
@_only
@click.pass_context
def down(ctx: click.Context, only: tuple[str, ...]) -> None:
    """Stop the services this project started (and nothing else)."""
    for svc in reversed(services(get_settings(ctx), only or SERVICE_NAMES)):
        stopped = svc.stop()
        click.echo(f"{svc.name:9} {'stopped' if stopped else 'was not running'}")


@stack.command()
@_only
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def status(ctx: click.Context, only: tuple[str, ...], as_json: bool) -> None:
    """Show each service with port, PID and health. Exit 1 if any is unhealthy."""
    rows = [svc.status() for svc in services(get_settings(ctx), only or SERVICE_NAMES)]
    if as_json:
        click.echo(json.dumps([r.as_dict() for r in rows], indent=2))
    else:
        click.echo(f"{'service':9} {'port':>6} {'pid':>8}  health")
        for r in rows:
            click.echo(f"{r.name:9} {r.port:>6} {r.pid or '-':>8}  {r.detail}")
    if not all(r.healthy for r in rows):
        sys.exit(1)


@stack.command()
@_only
@click.pass_context
def check(ctx: click.Context, only: tuple[str, ...]) -> None:
    """Round trips: Kafka produce/consume, PostgreSQL write/read, Redis PING/SET/GET."""
    failed = []
    for svc in services(get_settings(ctx), only or SERVICE_NAMES):
        try:
            svc.check()
            click.echo(f"{svc.name:9} ok")
        except StackError as exc:
            failed.append(svc.name)
            click.echo(f"{svc.name:9} FAILED: {exc}", err=True)
    if failed:
        click.echo(f"netvigil stack check: failed: {', '.join(failed)}", err=True)
        sys.exit(1)

"""`netvigil db migrate|maintain`: schema migrations and partition/retention upkeep."""

from __future__ import annotations

import sys

import click
import psycopg

from netvigil.cli.main import get_settings
from netvigil.db import connect, migrate

__all__ = ["db"]


@click.group()
def db() -> None:
    """Database schema and upkeep."""


@db.command(name="migrate")
@click.pass_context
def migrate_cmd(ctx: click.Context) -> None:
    """Apply pending migrations (TimescaleDB path if the extension exists, else plain)."""
    try:
        result = migrate(get_settings(ctx))
    except psycopg.Error as exc:
        click.echo(f"netvigil db migrate: {str(exc).strip().splitlines()[0]}", err=True)
        sys.exit(1)
    if result.applied:
        click.echo(f"schema path {result.path}: applied {', '.join(result.applied)}")
    else:
        click.echo(f"schema path {result.path}: up to date, nothing applied")


@db.command()
@click.pass_context
def maintain(ctx: click.Context) -> None:
    """Create upcoming partitions and drop expired ones (a no-op on TimescaleDB)."""
    try:
        with connect(get_settings(ctx), autocommit=True) as conn:
            row_c = conn.execute("SELECT nv_ensure_partitions()").fetchone()
            row_d = conn.execute("SELECT nv_apply_retention()").fetchone()
    except psycopg.Error as exc:
        click.echo(f"netvigil db maintain: {str(exc).strip().splitlines()[0]}", err=True)
        sys.exit(1)
    click.echo(f"partitions created: {row_c[0] if row_c else 0}, dropped: {row_d[0] if row_d else 0}")

"""`netvigil devices add|list|show|remove|import|export|discover`: the inventory, from the shell.

Thin shell over :mod:`netvigil.inventory` (storage), :mod:`ingest.snmp.devfile`
(YAML checks) and :mod:`ingest.snmp.discover`. Secrets never reach the
terminal: listings use ``Credentials.public()``; ``export`` masks them unless
``--with-secrets`` is given.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import click
import psycopg

from ingest.snmp.cliopts import credential_options, credentials_from
from ingest.snmp.devfile import DeviceFileError, dump_devices, order_by_parent, parse_devices
from ingest.snmp.modules import MODULE_NAMES
from netvigil.cli.main import get_settings
from netvigil.db import connect
from netvigil.inventory import Device, get_device, load_devices, remove_device, upsert_device

__all__ = ["devices"]


def _conn(ctx: click.Context) -> psycopg.Connection:
    try:
        return connect(get_settings(ctx))
    except psycopg.OperationalError as exc:
        raise click.ClickException(str(exc)) from None


def _tags(values: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"tag {item!r} must be key=value", param_hint="--tag")
        out[key] = value
    return out


def _version_default(kw: dict[str, Any]) -> dict[str, Any]:
    if kw.get("version") is None:
        kw["version"] = "3" if kw.get("user") else "2c" if kw.get("community") else None
    return kw


@click.group()
def devices() -> None:
    """Manage the device inventory."""


@devices.command()
@click.argument("name")
@click.argument("address")
@click.option("--port", type=click.IntRange(1, 65535), default=161, show_default=True)
@credential_options(version_default=None)
@click.option(
    "--interval", type=click.FloatRange(min=1), default=60.0, show_default=True, help="Poll interval (s)."
)
@click.option(
    "--module", "modules", multiple=True, type=click.Choice(MODULE_NAMES), help="Poll modules (repeat)."
)
@click.option("--tag", "tags", multiple=True, help="key=value (repeat), e.g. site=lab role=switch.")
@click.option("--parent", help="Name of the device this one depends on.")
@click.pass_context
def add(ctx: click.Context, /, name: str, address: str, port: int, interval: float, modules: tuple[str, ...],
        tags: tuple[str, ...], parent: str | None, **kw: Any) -> None:  # fmt: skip
    """Add (or update) a device."""
    device = Device(
        name=name,
        address=address,
        port=port,
        credentials=credentials_from(_version_default(kw)),
        poll_interval=interval,
        modules=list(modules) or ["system", "interfaces", "host"],
        tags=_tags(tags),
        parent=parent,
    )
    with _conn(ctx) as conn:
        if parent and get_device(conn, parent) is None:
            raise click.BadParameter(f"no device named {parent!r}", param_hint="--parent")
        upsert_device(conn, device)
    click.echo(f"added {name} ({address}:{port}, {device.credentials.version})")


@devices.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def list_(ctx: click.Context, as_json: bool) -> None:
    """List devices (secrets masked)."""
    with _conn(ctx) as conn:
        rows = load_devices(conn)
    if as_json:
        click.echo(json.dumps([d.public() for d in rows], indent=1))
        return
    click.echo(f"{'NAME':<24} {'ADDRESS':<22} {'SNMP':<5} {'EVERY':>6}  {'MODULES':<28} {'PARENT':<14} TAGS")
    for d in rows:
        tags = ",".join(f"{k}={v}" for k, v in sorted(d.tags.items()))
        click.echo(f"{d.name:<24} {d.address + ':' + str(d.port):<22} {d.credentials.version:<5} "
                   f"{d.poll_interval:>5g}s  {','.join(d.modules):<28} {d.parent or '-':<14} {tags}")  # fmt: skip


@devices.command()
@click.argument("name")
@click.pass_context
def show(ctx: click.Context, name: str) -> None:
    """Show one device (secrets masked)."""
    with _conn(ctx) as conn:
        device = get_device(conn, name)
    if device is None:
        raise click.ClickException(f"no device named {name!r}")
    click.echo(json.dumps(device.public(), indent=1))


@devices.command()
@click.argument("name")
@click.pass_context
def remove(ctx: click.Context, name: str) -> None:
    """Remove a device (its children lose their parent)."""
    with _conn(ctx) as conn:
        if not remove_device(conn, name):
            raise click.ClickException(f"no device named {name!r}")
    click.echo(f"removed {name}")


@devices.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_context
def import_(ctx: click.Context, file: Path) -> None:
    """Import devices from a YAML list; all or nothing."""
    with _conn(ctx) as conn:
        existing = {d.name: d for d in load_devices(conn)}
        try:
            parsed = parse_devices(file.read_text(), existing)
            ordered = order_by_parent(parsed, set(existing))
        except DeviceFileError as exc:
            raise click.ClickException(f"{file}: {exc}; nothing imported") from None
        try:
            with conn.transaction():
                for device in ordered:
                    upsert_device(conn, device)
        except psycopg.Error as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise click.ClickException(
                f"{file}: database refused the import ({first}); nothing imported"
            ) from None
    click.echo(f"imported {len(ordered)} device(s) from {file}")


@devices.command()
@click.option(
    "--with-secrets", is_flag=True, help="Include communities and v3 keys (handle the file with care)."
)
@click.pass_context
def export(ctx: click.Context, with_secrets: bool) -> None:
    """Print the inventory as YAML (importable)."""
    with _conn(ctx) as conn:
        click.echo(dump_devices(load_devices(conn), with_secrets=with_secrets), nl=False)


@devices.command()
@click.argument("cidr")
@click.option("--port", type=click.IntRange(1, 65535), default=161, show_default=True)
@credential_options()
@click.option("--interval", type=click.FloatRange(min=1), default=60.0, show_default=True)
@click.option("--module", "modules", multiple=True, type=click.Choice(MODULE_NAMES))
@click.option("--tag", "tags", multiple=True, help="key=value for every device found.")
@click.option("-t", "timeout", type=float, default=1.0, show_default=True, help="SNMP timeout per try (s).")
@click.option("--no-ping", is_flag=True, help="Skip the ICMP sweep; ask SNMP on every address.")
@click.pass_context
def discover(ctx: click.Context, /, cidr: str, port: int, interval: float, modules: tuple[str, ...],
             tags: tuple[str, ...], timeout: float, no_ping: bool, **kw: Any) -> None:  # fmt: skip
    """Sweep CIDR with ICMP, identify SNMP agents, add the new ones."""
    from ingest.snmp.discover import device_name, hosts_of, identify_all, sweep

    creds = credentials_from(kw)
    if get_settings(ctx).collector.v3_only and creds.version != "v3":
        raise click.UsageError(
            f"collector.v3_only is set: discovery with SNMP {creds.version} is refused; use -v 3"
        )
    try:
        addresses = hosts_of(cidr)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="CIDR") from None
    alive = addresses if no_ping else asyncio.run(sweep(addresses))
    click.echo(
        f"{len(alive)} of {len(addresses)} address(es) answer ICMP" if not no_ping else "ICMP sweep skipped"
    )
    with _conn(ctx) as conn:
        existing = load_devices(conn)
        known = {d.address for d in existing if d.port == port}
        taken = {d.name for d in existing}
        todo = [a for a in alive if a not in known]
        found = []

        async def gather() -> None:
            with click.progressbar(length=len(todo), label="SNMP identify") as bar:
                async for _, ident in identify_all(todo, port, creds, wait=timeout):
                    bar.update(1)
                    if ident is not None:
                        found.append(ident)

        asyncio.run(gather())
        for ident in sorted(found, key=lambda i: i.address):
            name = device_name(ident, taken)
            taken.add(name)
            upsert_device(conn, Device(name=name, address=ident.address, port=port, credentials=creds,
                                       poll_interval=interval, modules=list(modules) or ["system", "interfaces", "host"],
                                       tags=_tags(tags)))  # fmt: skip
            with conn.transaction():
                conn.execute(
                    "UPDATE devices SET sys_name = %s, sys_descr = %s, sys_object_id = %s, last_seen = now() "
                    "WHERE name = %s",
                    (ident.sys_name, ident.sys_descr[:1000], ident.sys_object_id, name),
                )
            click.echo(f"added {name:<24} {ident.address:<16} {ident.sys_descr[:60]}")
    click.echo(f"{len(found)} SNMP agent(s) added, {len(alive) - len(todo)} already in the inventory")

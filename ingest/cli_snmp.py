"""`netvigil snmp get|walk TARGET OID...`: the operator's snmpget/snmpwalk, with offline MIB names.

Uses the same transports as the poller (own v1/v2c engine, pysnmp for v3), so
what the operator sees is what the poller gets. Secrets are never echoed.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import click

from ingest.snmp.ber import VarBind
from ingest.snmp.cliopts import credential_options, credentials_from, parse_target
from ingest.snmp.factory import Engines, make_transport
from ingest.snmp.mib import MibError, name_of, resolve
from ingest.snmp.poller import format_text
from ingest.snmp.transport import SnmpError

__all__ = ["snmp"]


def _rows(varbinds: list[VarBind]) -> list[dict[str, Any]]:
    rows = []
    for oid, type_name, value in varbinds:
        obj, inst = name_of(oid)
        name = f"{obj.module}::{obj.name}{'.' + inst if inst else ''}" if obj else oid
        shown: Any = format_text(type_name, value) if isinstance(value, bytes) else value
        rows.append({"oid": oid, "name": name, "type": type_name, "value": shown})
    return rows


def _print(rows: list[dict[str, Any]], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(rows, indent=1))
        return
    width = max((len(r["name"]) for r in rows), default=4)
    for r in rows:
        click.echo(f"{r['name']:<{width}}  {r['type']:<12}  {r['value']}")


async def _run(kind: str, target: str, oids: list[str], kw: dict[str, Any]) -> list[VarBind]:
    host, port = parse_target(target)
    creds = credentials_from(kw)
    engines = Engines()
    try:
        transport = make_transport(engines, host, port, creds, timeout=kw["timeout"], retries=kw["retries"])
        if kind == "get":
            return await transport.get(oids)
        out: list[VarBind] = []
        for oid in oids:
            got = await transport.walk(oid)
            out.extend(got or await transport.get([oid]))  # a scalar: snmpwalk shows the value itself
        return out
    finally:
        await engines.close()


def _command(kind: str) -> click.Command:
    @click.command(kind, help=f"SNMP {kind.upper()} of OIDs (numeric or MIB names such as IF-MIB::ifDescr).")
    @click.argument("target")
    @click.argument("oids", nargs=-1, required=kind == "get")
    @credential_options()
    @click.option("-t", "timeout", type=float, default=2.0, show_default=True, help="Timeout per try (s).")
    @click.option("-r", "retries", type=int, default=1, show_default=True, help="Retries.")
    @click.option("--json", "as_json", is_flag=True, help="JSON output.")
    def cmd(target: str, oids: tuple[str, ...], as_json: bool, **kw: Any) -> None:
        try:
            numeric = [resolve(o) for o in (oids or ("1.3.6.1.2.1",))]
        except MibError as exc:
            raise click.BadParameter(str(exc)) from None
        try:
            varbinds = asyncio.run(_run(kind, target, numeric, kw))
        except SnmpError as exc:
            raise click.ClickException(str(exc)) from None
        _print(_rows(varbinds), as_json)

    return cmd


@click.group()
def snmp() -> None:
    """Query an SNMP agent as the poller would (v1, v2c, v3)."""


snmp.add_command(_command("get"))
snmp.add_command(_command("walk"))

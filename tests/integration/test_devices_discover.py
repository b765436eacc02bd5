"""`netvigil devices discover CIDR`: ICMP sweep, SNMP identification, devices added (real snmpd, real DB)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from click.testing import CliRunner

from ingest.simulate.agents import SnmpdAgent, free_udp_port
from netvigil.cli.main import cli
from netvigil.db import connect
from netvigil.inventory import get_device, remove_device
from netvigil.settings import Settings

NET = "127.0.11"
SYSNAME = f"disc-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def agent() -> Iterator[SnmpdAgent]:
    addr = f"{NET}.2"
    with SnmpdAgent(addr, free_udp_port(addr), community="disccomm", extra=(f"sysName {SYSNAME}",)) as a:
        yield a


def test_discover_adds_what_answers(pg_stack: Settings, agent: SnmpdAgent) -> None:
    runner = CliRunner()
    args = ["devices", "discover", f"{NET}.0/29", "--port", str(agent.port), "-c", "disccomm", "-t", "0.5",
            "--tag", "site=lab", "--module", "system"]  # fmt: skip
    try:
        r = runner.invoke(cli, args, obj={"settings": pg_stack}, catch_exceptions=False)
        assert r.exit_code == 0, r.output
        assert "6 of 6 address(es) answer ICMP" in r.output  # all of loopback answers
        assert "1 SNMP agent(s) added" in r.output and "disccomm" not in r.output
        with connect(pg_stack) as conn:
            dev = get_device(conn, SYSNAME)
            assert dev is not None and dev.address == agent.address and dev.port == agent.port
            assert dev.tags == {"site": "lab"} and dev.credentials.community == "disccomm"
            row = conn.execute(
                "SELECT sys_name, sys_object_id FROM devices WHERE name = %s", (SYSNAME,)
            ).fetchone()
            assert row == (SYSNAME, "1.3.6.1.4.1.8072.3.2.10")
        again = runner.invoke(cli, args, obj={"settings": pg_stack}, catch_exceptions=False)
        assert "0 SNMP agent(s) added, 1 already in the inventory" in again.output
    finally:
        with connect(pg_stack) as conn:
            remove_device(conn, SYSNAME)

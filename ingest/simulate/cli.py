"""`netvigil simulate`: a small network of real SNMP agents with scheduled faults.

Runs in the foreground until ``--duration`` or Ctrl-C/SIGTERM, then stops
every process it started and removes its firewall rules. Traps go to the trap
receiver's port and syslog to the syslog receiver's port from the settings,
so ``netvigil collect all`` in another terminal sees the whole story.
"""

from __future__ import annotations

import asyncio
import logging
import signal

import click

from ingest.simulate.scenario import Scenario
from ingest.simulate.senders import Sent
from ingest.simulate.topology import plan_topology
from netvigil.cli.main import get_settings

__all__ = ["simulate"]


@click.command()
@click.option("--duration", type=float, default=600.0, show_default=True, help="Seconds to run.")
@click.option(
    "--devices", type=int, default=6, show_default=True, help="Devices (router, switches, servers)."
)
@click.option("--faults/--no-faults", default=True, show_default=True, help="Play the fault schedule.")
@click.option("--traffic/--no-traffic", default=True, show_default=True, help="Send trap and syslog traffic.")
@click.option(
    "--register/--no-register", default=True, show_default=True, help="Add the devices to the inventory."
)
@click.option(
    "--snmpd/--no-snmpd", default=True, show_default=True, help="Make one server a real net-snmp snmpd."
)
@click.option("--base-address", default="127.0.0.11", show_default=True, help="First loopback address.")
@click.option("--port", type=int, default=1161, show_default=True, help="SNMP port of every agent (> 1024).")
@click.option("--prefix", default="sim", show_default=True, help="Device name prefix.")
@click.option("--flaps", type=int, default=5, show_default=True, help="Times the flapping link goes down.")
@click.option(
    "--repeat", is_flag=True, help="Replay the fault schedule every --duration seconds until stopped."
)
@click.option(
    "--fast", is_flag=True, help="Time compression for tests: a 60 s run with traffic every second."
)
@click.pass_context
def simulate(
    ctx: click.Context,
    duration: float,
    devices: int,
    faults: bool,
    traffic: bool,
    register: bool,
    snmpd: bool,
    base_address: str,
    port: int,
    prefix: str,
    flaps: int,
    repeat: bool,
    fast: bool,
) -> None:
    """Start simulated agents on loopback, register them, and play faults until the duration ends."""
    settings = get_settings(ctx)
    if logging.getLogger().level > logging.INFO:
        logging.getLogger().setLevel(logging.INFO)
    if fast and ctx.get_parameter_source("duration") == click.core.ParameterSource.DEFAULT:
        duration = 60.0
    try:
        plan = plan_topology(devices, base_address=base_address, port=port, prefix=prefix, snmpd=snmpd)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    scenario = Scenario(
        settings,
        plan,
        duration=duration,
        faults=faults,
        traffic=traffic,
        register=register,
        flaps=flaps,
        trap_every=1.0 if fast else 5.0,
        repeat=repeat,
    )
    for d in plan:
        click.echo(f"{d.name:16} {d.address}:{d.port:<6} {d.role:7} parent={d.parent or '-'}")
    sent = asyncio.run(_run(scenario))
    click.echo(
        f"simulation ended: {len(scenario.played)} fault steps, {sent.traps} traps, {sent.informs} informs, "
        f"{sent.syslog} syslog messages sent, {sent.failures} failures"
    )


async def _run(scenario: Scenario) -> Sent:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return await scenario.run(stop)

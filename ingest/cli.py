"""`netvigil collect snmp|icmp|traps|syslog|all`: the long-running collectors.

Each collector lives in ``ingest/<name>/service.py`` and exposes
``async def run(settings, stop: asyncio.Event) -> None``, which runs until
``stop`` is set. ``all`` runs every collector in one process (the demo);
production runs one process per collector, or several SNMP pollers each
owning a shard of the inventory.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import signal
from collections.abc import Callable, Coroutine
from typing import Any

import click

from netvigil.cli.main import get_settings
from netvigil.settings import Settings

__all__ = ["collect"]

log = logging.getLogger(__name__)

COLLECTORS = {
    "snmp": "ingest.snmp.service",
    "icmp": "ingest.icmp.service",
    "traps": "ingest.traps.service",
    "syslog": "ingest.syslog.service",
}

Runner = Callable[[Settings, asyncio.Event], Coroutine[Any, Any, None]]


def _runner(name: str) -> Runner:
    module = importlib.import_module(COLLECTORS[name])
    run: Runner = module.run
    return run


async def _run_all(settings: Settings, names: list[str]) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    tasks: list[asyncio.Task[None]] = [
        asyncio.create_task(_runner(n)(settings, stop), name=f"collect-{n}") for n in names
    ]
    done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    for task in done:
        if task.exception():
            raise task.exception()  # type: ignore[misc]


@click.command()
@click.argument("which", type=click.Choice([*COLLECTORS, "all"]))
@click.pass_context
def collect(ctx: click.Context, which: str) -> None:
    """Run a collector (or all of them) until interrupted."""
    settings = get_settings(ctx)
    if not logging.getLogger().handlers or logging.getLogger().level > logging.INFO:
        logging.getLogger().setLevel(logging.INFO)
    names = list(COLLECTORS) if which == "all" else [which]
    asyncio.run(_run_all(settings, names))

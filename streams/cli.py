"""``netvigil worker``: run one stream worker (all registered agents).

Several workers with the same settings form one consumer group and share the
partitions; each serves its own Prometheus endpoint (``--metrics-port``
overrides settings.streams.metrics_port so two can run on one machine).
"""

from __future__ import annotations

import logging
import time

import click

from netvigil.cli.main import get_settings

__all__ = ["worker"]


@click.command("worker")
@click.option(
    "--data-dir",
    "--workers-dir",
    "data_dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Faust data directory (default <stack home>/worker/<app id>).",
)
@click.option("--agents", default=None, help="Comma-separated registrars (default: all in streams.agents).")
@click.option("--metrics-port", type=int, default=None, help="Prometheus port (default from settings).")
@click.option("--web-port", type=int, default=None, help="Faust web port (default from settings).")
@click.option("--loglevel", default="info", show_default=True)
@click.pass_context
def worker(
    ctx: click.Context,
    data_dir: str | None,
    agents: str | None,
    metrics_port: int | None,
    web_port: int | None,
    loglevel: str,
) -> None:
    """Run a stream worker: rates, persistence, live state, and every registered agent."""
    import faust
    import msgspec

    from streams.agents import REGISTRARS, register_all
    from streams.app import create_app
    from streams.gcpolicy import GcPolicy, apply
    from streams.monitoring import serve

    settings = get_settings(ctx)
    changes: dict[str, object] = {}
    if metrics_port is not None:
        changes["metrics_port"] = metrics_port
    if web_port is not None:
        changes["web_port"] = web_port
    if changes:
        settings = msgspec.structs.replace(
            settings, streams=msgspec.structs.replace(settings.streams, **changes)
        )
    home = data_dir or str(settings.stack_home() / "worker" / settings.streams.app_id)
    app = create_app(settings, datadir=home)
    names = tuple(a.strip() for a in agents.split(",") if a.strip()) if agents else REGISTRARS
    register_all(app, settings, names)
    policy = GcPolicy(start=time.monotonic())

    @app.timer(interval=1.0)  # type: ignore[untyped-decorator]  # faust decorators are untyped
    async def gc_policy() -> None:
        action = policy.due(time.monotonic())
        if action is not None:
            apply(action)

    serve(settings.streams.metrics_port)
    logging.getLogger(__name__).info("worker %s starting", settings.streams.app_id)
    faust.Worker(app, loglevel=loglevel, quiet=True).execute_from_commandline()

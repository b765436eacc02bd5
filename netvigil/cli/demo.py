"""`netvigil demo up|down|status`: the whole pipeline on one machine, on a simulated network.

What `make demo` runs. In order: the local services (Kafka, PostgreSQL,
Redis) and the schema; the simulated network (real snmpd/snmpsim agents on
127.0.0.x with scheduled faults, trap and syslog senders); the collectors; a
stream worker; the Streamlit app. Each NetVigil process runs detached with its
log under ``.local/<name>/`` and stops with `netvigil demo down`.
"""

from __future__ import annotations

import os
import sys
import time

import click

from netvigil.cli.demo_sink import sink
from netvigil.cli.main import get_settings
from netvigil.db import connect, migrate
from netvigil.settings import Settings, project_root
from netvigil.stack import SERVICE_NAMES, StackError, services
from netvigil.stack.base import Service
from netvigil.stack.procs import NetvigilProcess

__all__ = ["demo"]

DEMO_CONFIG = "config/demo.yaml"


def _demo_env() -> dict[str, str]:
    """Child processes read the demo config (app users, notification sinks) unless the user has one."""
    if os.environ.get("NETVIGIL_CONFIG") or os.path.exists("netvigil.yaml"):
        return {}
    return {"NETVIGIL_CONFIG": str(project_root() / DEMO_CONFIG)}


def _processes(settings: Settings) -> list[Service]:
    env = _demo_env()
    app_url = f"http://{settings.app.bind}:{settings.app.port}/_stcore/health"
    return [
        NetvigilProcess(settings, "notify-sink", ["demo", "sink"], env=env),
        NetvigilProcess(settings, "simulate", ["simulate", "--repeat"], env=env),
        NetvigilProcess(settings, "collectors", ["collect", "all"], env=env),
        NetvigilProcess(settings, "worker", ["worker"], env=env),
        NetvigilProcess(settings, "app", ["app"], port=settings.app.port, health_url=app_url, env=env),
    ]


def _demo_model(settings: Settings) -> None:
    """Register and promote a demo version of the online detector if none is in production.

    The shipped detector learns for 150 points per series before it scores; at
    the demo's 10-second polls that is 25 minutes. The demo version learns for
    30 points, so anomalies can show within minutes -- and it shows the
    registry doing its job (Models page, `netvigil models versions`).
    """
    from models.registry import production, promote, register

    with connect(settings) as conn:
        if production(conn, "online") is not None:
            return
        version = register(
            conn,
            "online",
            "bank:default",
            {"detector": "default", "overrides": {"warmup": 30}},
            {"note": "demo: short warm-up for a simulated network"},
            None,
            "demo",
        )
        promote(conn, "online", version, "demo")
        conn.commit()
    click.echo(f"{'model':10} online v{version} (demo warm-up) promoted")


@click.group()
def demo() -> None:
    """Run the whole pipeline on a simulated network (what `make demo` does)."""


demo.add_command(sink)


@demo.command()
@click.pass_context
def up(ctx: click.Context) -> None:
    """Start services, schema, simulated network, collectors, worker and app."""
    settings = get_settings(ctx)
    t0 = time.monotonic()
    try:
        for svc in services(settings):
            svc.start()
            click.echo(f"{svc.name:10} up    {svc.host}:{svc.port}   log {svc.logfile}")
        from netvigil.kafka_admin import ensure_topics

        ensure_topics(settings)
        result = migrate(settings)
        click.echo(f"{'schema':10} ready ({result.path} PostgreSQL path)")
        _demo_model(settings)
        for proc in _processes(settings):
            proc.start()
            click.echo(f"{proc.name:10} up    pid {proc.pid()}   log {proc.logfile}")
    except StackError as exc:
        click.echo(f"netvigil demo: {exc}", err=True)
        sys.exit(1)
    url = f"http://{settings.app.bind}:{settings.app.port}"
    click.echo(f"\nNetVigil is running ({time.monotonic() - t0:.0f}s). Open {url}")
    click.echo("Log in as admin / admin-demo (or operator / operator-demo, viewer / viewer-demo).")
    click.echo("Alerts appear within a few minutes as the simulated faults unfold; notifications land in")
    click.echo(f"{settings.stack_home() / 'notify-sink' / 'received.jsonl'}. Stop with `make demo-down`.")


@demo.command()
@click.option("--keep-services", is_flag=True, help="Leave Kafka, PostgreSQL and Redis running.")
@click.pass_context
def down(ctx: click.Context, keep_services: bool) -> None:
    """Stop everything `demo up` started."""
    settings = get_settings(ctx)
    for proc in reversed(_processes(settings)):
        click.echo(f"{proc.name:10} {'stopped' if proc.stop() else 'was not running'}")
    if not keep_services:
        for svc in reversed(services(settings, SERVICE_NAMES)):
            click.echo(f"{svc.name:10} {'stopped' if svc.stop() else 'was not running'}")


@demo.command()
@click.pass_context
def status(ctx: click.Context) -> None:
    """Each part of the demo with its PID and health."""
    settings = get_settings(ctx)
    ok = True
    for svc in [*services(settings), *_processes(settings)]:
        st = svc.status()
        ok &= st.healthy
        click.echo(f"{st.name:10} {st.pid or '-':>8}  {st.detail}")
    sys.exit(0 if ok else 1)

"""``netvigil app``: serve the Streamlit app headless; ``netvigil app hash-password`` for the config."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from netvigil.cli.main import get_settings

__all__ = ["app", "streamlit_command"]

MAIN = Path(__file__).with_name("server.py")


def streamlit_command(bind: str, port: int) -> list[str]:
    """The ``streamlit run`` command line (pure, for tests)."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(MAIN),
        "--server.headless",
        "true",
        "--server.address",
        bind,
        "--server.port",
        str(port),
        "--server.fileWatcherType",
        "none",
        "--server.runOnSave",
        "false",
        "--browser.gatherUsageStats",
        "false",
        "--client.toolbarMode",
        "viewer",
        "--client.showErrorDetails",
        "false",
        "--theme.base",
        "light",
    ]


@click.group(invoke_without_command=True)
@click.option("--port", type=int, default=None, help="Port (default app.port).")
@click.option("--bind", default=None, help="Address to listen on (default app.bind).")
@click.pass_context
def app(ctx: click.Context, port: int | None, bind: str | None) -> None:
    """Serve the NetVigil web app (Streamlit, headless)."""
    if ctx.invoked_subcommand is not None:
        return
    settings = get_settings(ctx)
    if not settings.app.users:
        click.echo(
            "netvigil app: no users in app.users; nobody can log in (see 'netvigil app hash-password')",
            err=True,
        )
    env = dict(os.environ)
    config = ctx.find_root().ensure_object(dict).get("config")
    if config:  # the page scripts load settings themselves: hand them the same file
        env["NETVIGIL_CONFIG"] = str(Path(config).resolve())
    cmd = streamlit_command(bind or settings.app.bind, port or settings.app.port)
    click.echo(f"NetVigil app on http://{bind or settings.app.bind}:{port or settings.app.port}", err=True)
    # Become Streamlit (exec, not a child): a supervisor's SIGTERM then reaches the server itself.
    os.execve(cmd[0], cmd, env)  # noqa: S606 - fixed command line, our own interpreter


@app.command("hash-password")
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    help="Read from the terminal when omitted.",
)
@click.option("--rounds", type=click.IntRange(4, 16), default=12, show_default=True)
def hash_password_cmd(password: str, rounds: int) -> None:
    """Print a bcrypt hash to put under app.users.<name>.password_hash."""
    from app_streamlit.auth import hash_password

    click.echo(hash_password(password, rounds))

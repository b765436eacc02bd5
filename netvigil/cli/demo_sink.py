"""`netvigil demo sink`: where the demo's notifications land, so they can be seen.

The demo routes alerts to an SMTP server and an Alertmanager-style webhook on
loopback (config/notifications.demo.yaml). This process is both: it accepts
mail on 127.0.0.1:2525 and webhook POSTs on 127.0.0.1:9095, and appends one
JSON line per delivery to ``.local/notify-sink/received.jsonl``. Production
points the receivers at real mail servers and chat webhooks instead.
"""

from __future__ import annotations

import json
import signal
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import click

from netvigil.cli.main import get_settings

__all__ = ["sink"]

_lock = threading.Lock()


def _append(path: Path, entry: dict[str, Any]) -> None:
    with _lock, path.open("a") as out:
        out.write(json.dumps(entry) + "\n")


@click.command()
@click.option("--smtp-port", default=2525, show_default=True)
@click.option("--http-port", default=9095, show_default=True)
@click.pass_context
def sink(ctx: click.Context, smtp_port: int, http_port: int) -> None:
    """Receive the demo's email and webhook notifications into a JSON-lines file."""
    from aiosmtpd.controller import Controller

    settings = get_settings(ctx)
    path = settings.stack_home() / "notify-sink" / "received.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)

    class MailHandler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            text = envelope.content.decode("utf-8", "replace")
            subject = next((ln[9:] for ln in text.splitlines() if ln.lower().startswith("subject: ")), "")
            _append(path, {"ts": time.time(), "via": "email", "to": envelope.rcpt_tos, "subject": subject})
            return "250 OK"

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                body: Any = json.loads(raw)
            except ValueError:
                body = raw.decode("utf-8", "replace")
            _append(path, {"ts": time.time(), "via": "webhook", "path": self.path, "body": body})
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, format: str, *args: Any) -> None:
            return

    controller = Controller(MailHandler(), hostname="127.0.0.1", port=smtp_port)
    controller.start()
    server = ThreadingHTTPServer(("127.0.0.1", http_port), Hook)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    click.echo(f"notification sink: smtp 127.0.0.1:{smtp_port}, webhook 127.0.0.1:{http_port} -> {path}")
    try:
        server.serve_forever()
    finally:
        controller.stop()

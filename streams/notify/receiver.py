"""A local HTTP receiver that records what it is sent: for tests, the benchmark and demos.

It answers like an Alertmanager webhook receiver (200 with an empty JSON
object) and keeps every request (method, path, headers, JSON body, arrival
time). ``fail_first`` makes it answer 500 to that many requests first (to
exercise retries); ``delay`` makes it slow (to show a slow receiver does not
hold up evaluation). It binds to loopback only.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["LocalReceiver", "Received"]


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: Any
    ts: float


@dataclass
class LocalReceiver:
    status: int = 200
    fail_first: int = 0
    delay: float = 0.0
    requests: list[Received] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _arrived: threading.Condition = field(init=False)

    def __post_init__(self) -> None:
        self._arrived = threading.Condition(self._lock)

    @property
    def url(self) -> str:
        assert self._server is not None, "receiver not started"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> LocalReceiver:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body: Any = json.loads(raw) if raw else None
                except ValueError:
                    body = raw.decode("utf-8", "replace")
                if owner.delay:
                    time.sleep(owner.delay)
                with owner._lock:
                    failing = owner.fail_first > 0
                    if failing:
                        owner.fail_first -= 1
                    else:
                        owner.requests.append(
                            Received(self.command, self.path, dict(self.headers), body, time.time())
                        )
                        owner._arrived.notify_all()
                code = 500 if failing else owner.status
                out = b"{}"
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            do_POST = do_GET = do_PUT = _handle

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True, name="local-receiver").start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        """Block until ``count`` requests arrived (or the timeout); returns what arrived."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(self.requests) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._arrived.wait(left)
            return list(self.requests)

"""NetVigil's own long-running processes (simulator, collectors, worker, app) as services.

`make demo` starts them detached like the infrastructure services, with a
PID file and a log each under ``.local/<name>/``, so `netvigil demo down`
stops exactly what it started.
"""

from __future__ import annotations

import sys
import urllib.request
from collections.abc import Sequence

from netvigil.settings import Settings
from netvigil.stack.base import Service, port_open

__all__ = ["NetvigilProcess"]


class NetvigilProcess(Service):
    """``netvigil <args>`` run in the background; healthy when alive (and its port answers)."""

    start_timeout = 90.0

    def __init__(
        self,
        settings: Settings,
        name: str,
        args: Sequence[str],
        *,
        port: int = 0,
        health_url: str | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.name = name
        super().__init__(settings)
        self.args = list(args)
        self._port = port
        self.health_url = health_url
        self.env = env or {}

    @property
    def port(self) -> int:
        return self._port

    def install(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)

    def _launch(self) -> int:
        cmd = [sys.executable, "-m", "netvigil.cli", *self.args]
        return self.spawn(cmd, env={**self.env, "PYTHONUNBUFFERED": "1"}, cwd=None)

    def healthy(self) -> bool:
        if not self.running():
            return False
        if self.health_url:
            try:
                with urllib.request.urlopen(self.health_url, timeout=2) as resp:  # noqa: S310 - our own loopback URL
                    return bool(resp.status == 200)
            except OSError:
                return False
        if self._port:
            return port_open(self.host, self._port)
        return True

    def check(self) -> None:
        """Processes have no round trip of their own; being healthy is the check."""

    def start(self) -> None:
        # A process port of 0 means "no listening port": skip the port-taken check.
        if self._port == 0 and not self.running():
            self.install()
            pid = self._launch()
            self.pidfile.write_text(f"{pid}\n")
            return
        super().start()

"""What every local service (Kafka, PostgreSQL, Redis, ...) has in common.

`netvigil stack` starts real services on loopback with data directories under
the project's ``.local/`` (ignored by git). Each service is one small module
implementing :class:`Service`. A service only ever stops what it started: it
remembers its own PID in ``<home>/<name>/pid`` and never kills by name.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import socket
import subprocess
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from netvigil.settings import Settings

__all__ = [
    "Service",
    "ServiceStatus",
    "StackError",
    "apt_install",
    "pid_alive",
    "port_open",
    "wait_until",
]

log = logging.getLogger(__name__)


class StackError(RuntimeError):
    """A service could not be installed, started or checked. The message is one line."""


@dataclass
class ServiceStatus:
    name: str
    port: int
    pid: int | None
    running: bool
    healthy: bool
    detail: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    """True when something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child still "exists"; treat it as dead.
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return True
    return state != "Z"


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.25) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def apt_install(packages: Sequence[str], binaries: Sequence[str]) -> None:
    """Install Debian packages if any of ``binaries`` is missing.

    These machines run as root with apt reachable; elsewhere the user is told
    exactly which packages to install.
    """
    missing = [b for b in binaries if not (shutil.which(b) or Path(b).exists())]
    if not missing:
        return
    if os.geteuid() != 0:
        raise StackError(f"missing {', '.join(missing)}: run 'sudo apt-get install {' '.join(packages)}'")
    log.info("installing %s (missing %s)", " ".join(packages), ", ".join(missing))
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for cmd in (
        ["apt-get", "update", "-qq"],
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages],
    ):
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            last = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
            raise StackError(f"'{' '.join(cmd)}' failed: {last[0]}")


class Service(ABC):
    """A local service started and stopped by the project."""

    name: str = ""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.home: Path = settings.stack_home() / self.name
        self.host = settings.stack.bind

    # -- to implement -------------------------------------------------------
    @property
    @abstractmethod
    def port(self) -> int: ...

    @abstractmethod
    def install(self) -> None:
        """Make the binaries and data directory present; idempotent."""

    @abstractmethod
    def _launch(self) -> int:
        """Start the process (already installed, port free); return its PID."""

    @abstractmethod
    def healthy(self) -> bool:
        """A cheap liveness probe (e.g. a PING)."""

    @abstractmethod
    def check(self) -> None:
        """A real round trip (write and read); raise StackError naming what failed."""

    start_timeout: float = 60.0

    # -- shared behaviour -----------------------------------------------------
    @property
    def pidfile(self) -> Path:
        return self.home / "pid"

    @property
    def logfile(self) -> Path:
        return self.home / f"{self.name}.log"

    def pid(self) -> int | None:
        try:
            return int(self.pidfile.read_text().strip())
        except (OSError, ValueError):
            return None

    def running(self) -> bool:
        return pid_alive(self.pid())

    def start(self) -> None:
        """Start if not running; a no-op when our own instance is already up."""
        if self.running():
            if wait_until(self.healthy, self.start_timeout):
                return
            raise StackError(f"{self.name}: running (pid {self.pid()}) but not healthy")
        if port_open(self.host, self.port):
            raise StackError(
                f"{self.name}: port {self.host}:{self.port} is already taken by another "
                f"process; free it or set stack.{self.name}_port"
            )
        self.install()
        self.home.mkdir(parents=True, exist_ok=True)
        pid = self._launch()
        self.pidfile.write_text(f"{pid}\n")
        if not wait_until(lambda: self.healthy() or not pid_alive(pid), self.start_timeout):
            raise StackError(
                f"{self.name}: did not become healthy within {self.start_timeout:.0f}s; see {self.logfile}"
            )
        if not pid_alive(pid):
            raise StackError(f"{self.name}: exited during start-up; {self._log_tail()}")
        log.info("%s up on %s:%d (pid %d)", self.name, self.host, self.port, pid)

    def stop(self, timeout: float = 30.0) -> bool:
        """Stop our own process (SIGTERM, then SIGKILL). Returns True if one was running."""
        pid = self.pid()
        if not pid_alive(pid):
            self.pidfile.unlink(missing_ok=True)
            return False
        assert pid is not None
        self._signal(pid, signal.SIGTERM)
        if not wait_until(lambda: not pid_alive(pid), timeout):
            self._signal(pid, signal.SIGKILL)
            wait_until(lambda: not pid_alive(pid), 5)
        self.pidfile.unlink(missing_ok=True)
        return True

    def _signal(self, pid: int, sig: int) -> None:
        try:
            os.killpg(pid, sig)  # the whole process group we spawned
        except (ProcessLookupError, PermissionError):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)

    def status(self) -> ServiceStatus:
        pid = self.pid()
        running = pid_alive(pid)
        healthy = running and self.healthy()
        detail = "ok" if healthy else ("not healthy" if running else "stopped")
        return ServiceStatus(self.name, self.port, pid if running else None, running, healthy, detail)

    def spawn(self, cmd: Sequence[str], env: dict[str, str] | None = None, cwd: Path | None = None) -> int:
        """Start ``cmd`` detached in its own session, output appended to the log file."""
        self.home.mkdir(parents=True, exist_ok=True)
        with open(self.logfile, "ab") as out:
            proc = subprocess.Popen(
                list(cmd),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**os.environ, **(env or {})},
                cwd=cwd,
                start_new_session=True,
            )
        return proc.pid

    def _log_tail(self, lines: int = 3) -> str:
        try:
            tail = self.logfile.read_text(errors="replace").strip().splitlines()[-lines:]
        except OSError:
            return f"no log at {self.logfile}"
        return " | ".join(tail) or f"empty log {self.logfile}"

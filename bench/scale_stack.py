"""A private NetVigil stack (PostgreSQL, Redis, Kafka) for the scale bench and the fault tests.

Why a stack of its own: the scale bench fills a database with millions of
rows and the fault tests ``kill -9`` PostgreSQL, Redis and Kafka; neither may
touch the shared test stack other tests run against. Everything here is the
project's own machinery (:mod:`netvigil.stack`) pointed at another home
(under the project's ``.local/``, which the ``postgres`` user can traverse),
other ports, another database and topic prefix, passed to child processes as
``NETVIGIL_*`` environment variables exactly as an operator would.

Kill helpers signal a whole process group (services and ``netvigil``
processes are started in their own session), so ``runuser`` -> ``postgres``
and all its backends die together: a real crash, not a polite stop.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from netvigil.settings import Settings, load_settings, project_root

__all__ = [
    "free_port",
    "kill9",
    "machine_busy_s",
    "own_env",
    "rss_kb",
    "seed_kafka_jars",
    "spawn_netvigil",
    "start_services",
    "stop_services",
    "tree_cpu_s",
    "wait_for",
]


def own_env(name: str, base: int, *, partitions: int = 4, db: str | None = None) -> dict[str, str]:
    """The environment of a private stack ``name`` whose ports start at ``base`` (base+0..+9).

    Every inherited ``NETVIGIL_*`` variable (e.g. the test stack's, set by
    tests/conftest.py) is dropped first so nothing leaks between stacks.
    Bases sit below 32768, Linux's ephemeral range, so an outgoing connection
    can never hold a port a private stack is about to listen on; like the test
    stack's, they move by ``NV_TEST_PORT_SHIFT`` (two checkouts side by side).
    """
    base += int(os.environ.get("NV_TEST_PORT_SHIFT", "0"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("NETVIGIL_")}
    dbname = db or f"netvigil_{name}"
    pg = f"127.0.0.1:{base + 2}/{dbname}"
    env.update(
        {
            "NETVIGIL_STACK__HOME": f".local/{name}",
            "NETVIGIL_STACK__KAFKA_PORT": str(base),
            "NETVIGIL_STACK__KAFKA_CONTROLLER_PORT": str(base + 1),
            "NETVIGIL_STACK__POSTGRES_PORT": str(base + 2),
            "NETVIGIL_STACK__REDIS_PORT": str(base + 3),
            "NETVIGIL_KAFKA__BOOTSTRAP": f"127.0.0.1:{base}",
            "NETVIGIL_KAFKA__TOPIC_PREFIX": f"{name}.",
            "NETVIGIL_KAFKA__PARTITIONS": str(partitions),
            "NETVIGIL_POSTGRES__DSN": f"postgresql://netvigil:netvigil@{pg}",
            "NETVIGIL_POSTGRES__READONLY_DSN": f"postgresql://netvigil_ro:netvigil_ro@{pg}",
            "NETVIGIL_REDIS__URL": f"redis://127.0.0.1:{base + 3}/0",
            "NETVIGIL_STREAMS__WEB_PORT": str(base + 4),
            "NETVIGIL_STREAMS__METRICS_PORT": str(base + 5),
            "NETVIGIL_COLLECTOR__METRICS_PORT": str(base + 6),
            "NETVIGIL_COLLECTOR__TRAP_PORT": str(base + 7),
            "NETVIGIL_COLLECTOR__SYSLOG_UDP_PORT": str(base + 8),
            "NETVIGIL_COLLECTOR__SYSLOG_TCP_PORT": str(base + 8),
            "NETVIGIL_APP__PORT": str(base + 9),
        }
    )
    env.pop("NETVIGIL_CONFIG", None)
    return env


def settings_of(env: dict[str, str]) -> Settings:
    return load_settings(environ=env)


def seed_kafka_jars(settings: Settings) -> None:
    """Copy an already-fetched broker jar set into the new home (saves a Maven run)."""
    lib = f"lib-{settings.stack.kafka_version}"
    dst = settings.stack_home() / "kafka" / lib
    if dst.exists():
        return
    for home in (project_root() / ".local" / "test", project_root() / ".local"):
        src = home / "kafka" / lib
        if (src / ".netvigil-complete").exists() or any(src.glob("kafka_2.13-*.jar")):
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copytree(src, dst)
            return


def start_services(settings: Settings, names: tuple[str, ...] = ("postgres", "redis", "kafka")) -> None:
    """Start (idempotently) the private services, migrate, create the topics."""
    from netvigil.db import migrate
    from netvigil.kafka_admin import ensure_topics
    from netvigil.stack import services

    seed_kafka_jars(settings)
    for svc in services(settings, names):
        svc.start()
    migrate(settings)
    if "kafka" in names:
        ensure_topics(settings)


def stop_services(settings: Settings) -> None:
    from netvigil.stack import services

    for svc in reversed(services(settings)):
        svc.stop()


def service_pid(settings: Settings, name: str) -> int | None:
    from netvigil.stack import services

    return services(settings, (name,))[0].pid()


def kill9(pid: int | None) -> None:
    """SIGKILL the process group led by ``pid`` (all of a service's processes at once)."""
    if not pid:
        return
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def spawn_netvigil(env: dict[str, str], args: list[str], log: Path) -> subprocess.Popen[bytes]:
    """``netvigil <args>`` in its own session, output appended to ``log``."""
    log.parent.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "netvigil.cli", *args]
    with log.open("ab") as out:
        return subprocess.Popen(
            cmd,
            env={**env, "PYTHONUNBUFFERED": "1"},
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=project_root(),
            start_new_session=True,
        )


def stop_proc(proc: subprocess.Popen[bytes] | None, timeout: float = 15.0) -> None:
    if proc is None or proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        kill9(proc.pid)
        proc.wait(5)


def rss_kb(pid: int) -> int:
    """Resident set of ``pid`` and its children (kB), 0 when gone."""
    total = 0
    pids = [pid]
    with contextlib.suppress(OSError):
        for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
            pids.append(int(child))
    for p in pids:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total


def tree_cpu_s(root: int | None) -> float:
    """CPU seconds (user + system) used so far by ``root`` and its live descendants.

    By parent links, not process group: PostgreSQL's postmaster leaves the
    group ``runuser`` started it in, and its backends follow it.
    """
    if not root:
        return 0.0
    stats: dict[int, tuple[int, int]] = {}  # pid -> (ppid, ticks)
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()  # state ppid pgrp ... utime(11) stime(12)
        except OSError:
            continue
        stats[int(stat.parent.name)] = (int(fields[1]), int(fields[11]) + int(fields[12]))
    tree, grew = {root}, True
    while grew:
        new = {p for p, (pp, _) in stats.items() if pp in tree and p not in tree}
        tree |= new
        grew = bool(new)
    return sum(stats[p][1] for p in tree if p in stats) / os.sysconf("SC_CLK_TCK")


def machine_busy_s() -> float:
    """CPU seconds the whole machine has been busy (all processes, every engineer's)."""
    parts = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return (sum(parts) - parts[3] - parts[4]) / os.sysconf("SC_CLK_TCK")  # minus idle and iowait


def wait_for(predicate: Callable[[], bool], timeout: float, interval: float = 0.5) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            if predicate():
                return True
        time.sleep(interval)
    return False

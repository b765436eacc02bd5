"""A project-owned PostgreSQL cluster (Debian's packages, our own initdb and port).

PostgreSQL refuses to run as root, so when we are root (these machines) the
cluster belongs to the ``postgres`` system user that Debian's package creates,
and every server command runs through ``runuser``. The superuser is reached
only through the cluster's own Unix socket; the application role connects over
loopback TCP with a password (scram-sha-256), exactly as it will in production.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import time
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
from psycopg import sql

from netvigil.stack.base import Service, StackError, apt_install

__all__ = ["PostgresService"]


def _bindir() -> Path | None:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=_version_key)
    return Path(candidates[-1]).parent if candidates else None


def _version_key(path: str) -> int:
    try:
        return int(Path(path).parent.parent.name)
    except ValueError:
        return 0


class PostgresService(Service):
    name = "postgres"
    start_timeout = 60.0

    @property
    def port(self) -> int:
        return self.settings.stack.postgres_port

    @property
    def data(self) -> Path:
        return self.home / "data"

    @property
    def socket_dir(self) -> Path:
        return self.home / "run"

    def _as_owner(self, cmd: list[str]) -> list[str]:
        if os.geteuid() == 0:
            return ["runuser", "-u", "postgres", "--", *cmd]
        return cmd

    def _chown(self, path: Path) -> None:
        if os.geteuid() == 0:
            pw = pwd.getpwnam("postgres")
            os.chown(path, pw.pw_uid, pw.pw_gid)

    def install(self) -> None:
        if _bindir() is None:
            apt_install(["postgresql"], ["/usr/lib/postgresql"])
        if _bindir() is None:
            raise StackError("postgres: no server binaries under /usr/lib/postgresql after install")
        if (self.data / "PG_VERSION").exists():
            return
        self.home.mkdir(parents=True, exist_ok=True)
        for d in (self.home, self.data, self.socket_dir):
            d.mkdir(parents=True, exist_ok=True)
            self._chown(d)
        if os.geteuid() == 0:
            reach = subprocess.run(
                ["runuser", "-u", "postgres", "--", "test", "-w", str(self.data)], check=False
            )
            if reach.returncode != 0:
                raise StackError(
                    f"postgres: the 'postgres' system user cannot reach {self.data} (a parent directory "
                    "is not traversable); set stack.home to a path it can reach"
                )
        bindir = _bindir()
        assert bindir is not None
        proc = subprocess.run(
            self._as_owner(
                [
                    str(bindir / "initdb"),
                    "-D",
                    str(self.data),
                    "-U",
                    "postgres",
                    "--auth-local=trust",
                    "--auth-host=scram-sha-256",
                    "-E",
                    "UTF8",
                    "--locale=C.UTF-8",
                ]
            ),
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            shutil.rmtree(self.data, ignore_errors=True)
            raise StackError(f"postgres: initdb failed: {(proc.stderr or proc.stdout).strip()[-300:]}")
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write(
                "\n# NetVigil local stack\n"
                f"listen_addresses = '{self.host}'\n"
                f"port = {self.port}\n"
                f"unix_socket_directories = '{self.socket_dir}'\n"
                "max_connections = 200\n"
                "shared_buffers = 256MB\n"
                "max_wal_size = 2GB\n"
                "logging_collector = off\n"
            )

    def _launch(self) -> int:
        bindir = _bindir()
        assert bindir is not None
        self._chown(self.home)
        self.logfile.touch()
        self._chown(self.logfile)
        # postgres itself (not pg_ctl) so the PID we keep is the postmaster's. Address, port
        # and socket directory on the command line (they override postgresql.conf, written
        # once at initdb): a port changed in the settings later is the one it listens on.
        return self.spawn(
            self._as_owner(
                [
                    str(bindir / "postgres"),
                    "-D",
                    str(self.data),
                    "-h",
                    self.host,
                    "-p",
                    str(self.port),
                    "-k",
                    str(self.socket_dir),
                ]
            )
        )

    def _superuser(self) -> psycopg.Connection:
        return psycopg.connect(
            host=str(self.socket_dir),
            port=self.port,
            user="postgres",
            dbname="postgres",
            autocommit=True,
            connect_timeout=3,
        )

    def healthy(self) -> bool:
        try:
            with self._superuser() as conn:
                conn.execute("SELECT 1")
            return True
        except psycopg.Error:
            return False

    def start(self) -> None:
        super().start()
        self._provision()

    def _provision(self) -> None:
        """Create the application role and database named by postgres.dsn (idempotent)."""
        parts = urlsplit(self.settings.postgres.dsn)
        user, password = parts.username or "netvigil", parts.password or ""
        dbname = parts.path.lstrip("/") or "netvigil"
        with self._superuser() as conn:
            exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (user,)).fetchone()
            verb = "ALTER" if exists else "CREATE"
            conn.execute(
                sql.SQL(verb + " ROLE {} WITH LOGIN CREATEROLE PASSWORD {}").format(
                    sql.Identifier(user), sql.Literal(password)
                )
            )
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)).fetchone():
                conn.execute(
                    sql.SQL("CREATE DATABASE {} OWNER {}").format(
                        sql.Identifier(dbname), sql.Identifier(user)
                    )
                )

    def check(self) -> None:
        token = f"check-{time.time_ns()}"
        try:
            with psycopg.connect(self.settings.postgres.dsn, connect_timeout=5) as conn:
                conn.execute("CREATE TEMP TABLE nv_stack_check (token text)")
                conn.execute("INSERT INTO nv_stack_check VALUES (%s)", (token,))
                row = conn.execute("SELECT token FROM nv_stack_check").fetchone()
        except psycopg.Error as exc:
            raise StackError(f"postgres: write/read failed: {str(exc).strip().splitlines()[0]}") from None
        if not row or row[0] != token:
            raise StackError("postgres: wrote a row but read back something else")

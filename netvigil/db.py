"""Database access shared by every tier: connections and versioned migrations.

Migrations are plain SQL files in ``sql/migrations`` named ``NNNN_name.sql``.
A file may exist in two variants, ``NNNN_name.timescale.sql`` and
``NNNN_name.plain.sql``: the runner picks the TimescaleDB one when the
extension is available on the server and the plain one when it is not, logs
the choice, and remembers it in ``schema_migrations`` so that later runs stay
on the same path. A second run applies nothing.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
from psycopg import sql

from netvigil.settings import Settings, mask_url, project_root

__all__ = ["MigrationResult", "connect", "detect_path", "migrate", "migrations_dir"]

log = logging.getLogger(__name__)

_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+?)(?:\.(timescale|plain))?\.sql$")


def migrations_dir() -> Path:
    return project_root() / "sql" / "migrations"


def connect(settings: Settings, *, readonly: bool = False, autocommit: bool = False) -> psycopg.Connection:
    """A new connection; errors name the (masked) DSN, never the password."""
    dsn = settings.postgres.readonly_dsn if readonly else settings.postgres.dsn
    try:
        return psycopg.connect(dsn, autocommit=autocommit, connect_timeout=10)
    except psycopg.OperationalError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise psycopg.OperationalError(f"cannot connect to {mask_url(dsn)}: {first}") from None


@dataclass
class MigrationResult:
    path: str  # "timescale" or "plain"
    applied: list[str]


def detect_path(conn: psycopg.Connection) -> str:
    row = conn.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'").fetchone()
    return "timescale" if row else "plain"


def _plan(directory: Path, path: str) -> list[tuple[str, Path]]:
    """(version id, file) in order, choosing the variant for ``path``."""
    chosen: dict[str, Path] = {}
    for f in sorted(directory.glob("*.sql")):
        m = _NAME.match(f.name)
        if not m:
            raise ValueError(f"migration file {f.name} does not match NNNN_name[.plain|.timescale].sql")
        number, name, variant = m.groups()
        if variant and variant != path:
            continue
        chosen[f"{number}_{name}"] = f
    return sorted(chosen.items())


def _render(text: str, settings: Settings, path: str) -> str:
    pg = settings.postgres
    ro_role = urlsplit(pg.readonly_dsn).username or "netvigil_ro"
    values = {
        "PARTITION": "PARTITION BY RANGE (ts)" if path == "plain" else "",
        "RAW_RETENTION": str(int(pg.raw_retention_days)),
        "ROLLUP_1M_RETENTION": str(int(pg.rollup_1m_retention_days)),
        "ROLLUP_1H_RETENTION": str(int(pg.rollup_1h_retention_days)),
        "EVENT_RETENTION": str(int(pg.event_retention_days)),
        "RO_ROLE": ro_role,
    }
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", ro_role):
        raise ValueError(f"read-only role name {ro_role!r} must be a plain identifier")
    return re.sub(r"\{\{([A-Z0-9_]+)\}\}", lambda m: values[m.group(1)], text)


def migrate(settings: Settings, directory: Path | None = None) -> MigrationResult:
    """Apply pending migrations, each in its own transaction."""
    directory = directory or migrations_dir()
    with connect(settings, autocommit=True) as conn:
        # A migration that skips an optional part (0009 without pg_trgm) says so with RAISE NOTICE.
        conn.add_notice_handler(_log_notice)
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version text PRIMARY KEY, path text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
        # One migrator at a time (two workers starting together must not race).
        conn.execute("SELECT pg_advisory_lock(74201)")
        try:
            done: dict[str, str] = dict(
                conn.execute("SELECT version, path FROM schema_migrations").fetchall()
            )
            path = next(iter(done.values()), None) or detect_path(conn)
            log.info(
                "schema path: %s (%s)",
                path,
                "TimescaleDB hypertables" if path == "timescale" else "plain PostgreSQL partitions",
            )
            applied: list[str] = []
            for version, file in _plan(directory, path):
                if version in done:
                    continue
                body = _render(file.read_text(), settings, path)
                with conn.transaction():
                    conn.execute(body.encode())
                    conn.execute(
                        "INSERT INTO schema_migrations (version, path) VALUES (%s, %s)",
                        (version, path),
                    )
                log.info("applied migration %s", version)
                applied.append(version)
            _set_readonly_password(conn, settings)
            return MigrationResult(path, applied)
        finally:
            conn.execute("SELECT pg_advisory_unlock(74201)")


def _log_notice(diag: psycopg.errors.Diagnostic) -> None:
    log.info("postgres: %s", diag.message_primary)


def _set_readonly_password(conn: psycopg.Connection, settings: Settings) -> None:
    parts = urlsplit(settings.postgres.readonly_dsn)
    if not parts.username or parts.password is None:
        return
    conn.execute(
        sql.SQL("ALTER ROLE {} WITH LOGIN PASSWORD {}").format(
            sql.Identifier(parts.username), sql.Literal(parts.password)
        )
    )

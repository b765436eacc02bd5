"""The local stack and the schema, against the real services."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import psycopg

from netvigil.db import connect, migrate
from netvigil.settings import Settings, load_settings
from netvigil.stack import services
from netvigil.stack.base import pid_alive

ROOT = Path(__file__).resolve().parents[2]
NETVIGIL = [sys.executable, "-m", "netvigil.cli"]


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*NETVIGIL, *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        timeout=300,
        check=False,
    )


def test_stack_check_round_trips(stack: Settings) -> None:
    result = run_cli("stack", "check")
    assert result.returncode == 0, result.stderr
    for name in ("postgres", "redis", "kafka"):
        assert f"{name:9} ok" in result.stdout


def test_stack_status_json(stack: Settings) -> None:
    result = run_cli("stack", "status", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    rows = {r["name"]: r for r in json.loads(result.stdout)}
    assert set(rows) == {"postgres", "redis", "kafka"}
    assert all(r["healthy"] and r["pid"] for r in rows.values())
    assert rows["postgres"]["port"] == stack.stack.postgres_port


def test_migrate_twice_second_is_noop(pg_stack: Settings) -> None:
    migrate(pg_stack)
    again = migrate(pg_stack)
    assert again.applied == []
    assert again.path == "plain"  # these machines have no TimescaleDB
    with connect(pg_stack) as conn:
        n = conn.execute("SELECT count(*) FROM schema_migrations").fetchone()
        parts = conn.execute(
            "SELECT count(*) FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhparent "
            "WHERE p.relname = 'metric_samples'"
        ).fetchone()
    assert n and n[0] >= 4
    assert parts and parts[0] >= 5  # default + daily partitions around today


def test_readonly_role_cannot_read_secrets_or_write(pg_stack: Settings) -> None:
    with connect(pg_stack, readonly=True, autocommit=True) as conn:
        conn.execute("SELECT count(*) FROM devices").fetchone()
        for stmt in (
            "SELECT * FROM device_credentials",
            "INSERT INTO app_audit (actor, action) VALUES ('x','y')",
        ):
            try:
                conn.execute(stmt)
            except psycopg.errors.InsufficientPrivilege:
                continue
            raise AssertionError(f"read-only role could run: {stmt}")


def test_duplicate_sample_written_once(pg_stack: Settings) -> None:
    with connect(pg_stack) as conn:
        sid = conn.execute(
            "INSERT INTO series (device, metric, instance) VALUES ('dup-dev', 'if_in_bps', '1') "
            "ON CONFLICT (device, metric, instance) DO UPDATE SET unit = series.unit RETURNING id"
        ).fetchone()
        assert sid
        for _ in range(2):
            conn.execute(
                "INSERT INTO metric_samples (series_id, ts, value) VALUES (%s, now()::date + interval '1 hour', 1) "
                "ON CONFLICT DO NOTHING",
                (sid[0],),
            )
        n = conn.execute("SELECT count(*) FROM metric_samples WHERE series_id = %s", (sid[0],)).fetchone()
        conn.rollback()
    assert n and n[0] == 1


def test_bad_config_starts_nothing(tmp_path: Path) -> None:
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(f"stack:\n  home: {tmp_path / 'home'}\n  postgres_prot: 1\n")
    result = run_cli("--config", str(cfg), "stack", "up")
    assert result.returncode == 2
    assert "unknown key 'stack.postgres_prot'" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "home").exists()


def test_port_taken_is_one_line_error(tmp_path: Path, pg_stack: Settings) -> None:
    """A second stack on the test PostgreSQL's port is refused with the reason."""
    env = {"NETVIGIL_STACK__HOME": str(tmp_path / "other")}
    result = run_cli("stack", "up", "--only", "postgres", env=env)
    assert result.returncode == 1
    assert f"port 127.0.0.1:{pg_stack.stack.postgres_port} is already taken" in result.stderr


def test_up_then_down_leaves_no_process() -> None:
    """A whole second stack on other ports: up, check, down, and nothing of ours remains.

    Its home is under the project (the ``postgres`` user must be able to reach it;
    pytest's tmp_path is private to root).
    """
    home = ROOT / ".local" / "test-updown"
    shutil.rmtree(home, ignore_errors=True)
    base = 24390 + int(os.environ.get("NV_TEST_PORT_SHIFT", "0"))  # below the ephemeral range
    env = {
        "NETVIGIL_STACK__HOME": str(home),
        "NETVIGIL_STACK__POSTGRES_PORT": str(base + 2),
        "NETVIGIL_STACK__REDIS_PORT": str(base + 3),
        "NETVIGIL_STACK__KAFKA_PORT": str(base),
        "NETVIGIL_STACK__KAFKA_CONTROLLER_PORT": str(base + 1),
        "NETVIGIL_KAFKA__BOOTSTRAP": f"127.0.0.1:{base}",
        "NETVIGIL_POSTGRES__DSN": f"postgresql://netvigil:netvigil@127.0.0.1:{base + 2}/netvigil",
        "NETVIGIL_REDIS__URL": f"redis://127.0.0.1:{base + 3}/0",
    }
    try:
        up = run_cli("stack", "up", env=env)
        assert up.returncode == 0, up.stderr
        check = run_cli("stack", "check", env=env)
        assert check.returncode == 0, check.stderr
        settings = load_settings(environ={**os.environ, **env})
        pids = [svc.pid() for svc in services(settings)]
        assert all(pid_alive(p) for p in pids)
    finally:
        down = run_cli("stack", "down", env=env)
    assert down.returncode == 0, down.stderr
    assert not any(pid_alive(p) for p in pids)
    status = run_cli("stack", "status", env=env)
    assert status.returncode == 1 and "stopped" in status.stdout

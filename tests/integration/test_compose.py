"""docker-compose.yml is valid (checked offline; no Docker engine runs here)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def _config(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("docker-compose")
    assert binary, "docker-compose is missing: `make install` installs Debian's docker-compose"
    return subprocess.run(
        [binary, "-f", str(ROOT / "docker-compose.yml"), "config", "-q"],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        check=False,
        timeout=60,
    )


def test_compose_file_validates() -> None:
    result = _config({"NETVIGIL_DB_PASSWORD": "x", "NETVIGIL_DB_RO_PASSWORD": "y"})
    assert result.returncode == 0, result.stderr


def test_compose_refuses_missing_secrets() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NETVIGIL_DB")}
    result = subprocess.run(
        [
            shutil.which("docker-compose") or "docker-compose",
            "-f",
            str(ROOT / "docker-compose.yml"),
            "config",
            "-q",
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=60,
    )
    assert result.returncode != 0
    assert "NETVIGIL_DB_PASSWORD" in result.stderr


def test_compose_has_the_whole_pipeline_with_health_checks() -> None:
    spec = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = spec["services"]
    for name in ("kafka", "timescaledb", "redis", "poller", "traps", "syslog", "icmp", "worker", "app"):
        assert name in services, name
    for name in ("kafka", "timescaledb", "redis", "app"):
        assert "healthcheck" in services[name], name
    assert services["timescaledb"]["image"].startswith("timescale/timescaledb")

"""Remediation allow-list: argv built only from validated values, timeouts, refusals.

These run real (harmless) scripts in a temporary directory: no services needed.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from streams.remediation.manifest import ManifestError, Refused, build_argv, load_manifest
from streams.remediation.runner import run_action

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def manifest_dir(tmp_path: Path) -> Path:
    (tmp_path / "echo.sh").write_text('#!/bin/sh\necho "args:$*"\necho oops >&2\nexit 0\n')
    (tmp_path / "slow.sh").write_text("#!/bin/sh\nsleep 30\n")
    (tmp_path / "loud.sh").write_text("#!/bin/sh\nhead -c 100000 /dev/zero | tr '\\0' x\n")
    for f in tmp_path.glob("*.sh"):
        f.chmod(0o755)
    (tmp_path / "manifest.yaml").write_text(
        textwrap.dedent(
            """
            actions:
              echo:
                script: echo.sh
                timeout: 5
                args:
                  - {name: address, flag: --address, type: address, required: true}
                  - {name: port, flag: --port, type: int, min: 1, max: 65535, default: 161}
                  - {name: mode, type: enum, choices: [quick, full]}
                  - {name: ifname, flag: --if, type: word}
              slow: {script: slow.sh, timeout: 0.3}
              loud: {script: loud.sh, max_output: 100}
            """
        )
    )
    return tmp_path


def test_shipped_manifest_and_script_are_valid() -> None:
    m = load_manifest(ROOT / "config" / "remediation")
    argv = build_argv(m, "collect_diagnostics", {"address": "$address"}, {"address": "127.0.0.1"})
    assert argv[1:] == ["--address", "127.0.0.1", "--port", "161", "--count", "3"]


def test_argv_from_allow_list_and_alert_references(manifest_dir: Path) -> None:
    m = load_manifest(manifest_dir)
    argv = build_argv(
        m,
        "echo",
        {"address": "$address", "mode": "quick", "ifname": "$instance"},
        {"address": "10.0.0.1", "instance": "Gi0/1"},
    )
    assert argv[1:] == ["--address", "10.0.0.1", "--port", "161", "quick", "--if", "Gi0/1"]


@pytest.mark.parametrize(
    ("action", "args", "alert", "why"),
    [
        ("rm", {}, {}, "not in the allow-list"),
        ("echo", {"address": "1.2.3.4", "cmd": "x"}, {}, "argument 'cmd' is not allowed"),
        ("echo", {}, {}, "argument 'address' is required"),
        (
            "echo",
            {"address": "$address"},
            {"address": "1.2.3.4; rm -rf /"},
            "argument 'address': value rejected",
        ),
        (
            "echo",
            {"address": "1.2.3.4", "ifname": "$instance"},
            {"instance": "eth0 && reboot"},
            "argument 'ifname'",
        ),
        ("echo", {"address": "1.2.3.4", "ifname": "$instance"}, {"instance": "--help"}, "argument 'ifname'"),
        ("echo", {"address": "1.2.3.4", "port": 0}, {}, "argument 'port'"),
        ("echo", {"address": "1.2.3.4", "mode": "nuke"}, {}, "argument 'mode'"),
        ("echo", {"address": "$community"}, {}, "unknown reference"),
    ],
)
def test_refusals(manifest_dir: Path, action: str, args: dict, alert: dict, why: str) -> None:
    with pytest.raises(Refused, match=why):
        build_argv(load_manifest(manifest_dir), action, args, alert)


def test_manifest_rejects_scripts_outside_its_directory(tmp_path: Path) -> None:
    (tmp_path / "manifest.yaml").write_text("actions:\n  evil: {script: ../../bin/sh}\n")
    with pytest.raises(ManifestError, match="action 'evil'"):
        load_manifest(tmp_path)
    (tmp_path / "manifest.yaml").write_text("actions:\n  a: {script: a.sh, shell: true}\n")
    with pytest.raises(ManifestError, match="action 'a'"):
        load_manifest(tmp_path)


async def test_run_captures_output(manifest_dir: Path) -> None:
    r = await run_action(load_manifest(manifest_dir), "echo", {"address": "127.0.0.1"}, {})
    assert r.status == "ok" and r.returncode == 0
    assert r.stdout.strip() == "args:--address 127.0.0.1 --port 161" and r.stderr.strip() == "oops"


async def test_run_kills_after_timeout(manifest_dir: Path) -> None:
    r = await run_action(load_manifest(manifest_dir), "slow", {}, {})
    assert r.status == "timeout" and r.duration_s < 5 and "killed after 0.3s" in r.reason


async def test_run_truncates_output(manifest_dir: Path) -> None:
    r = await run_action(load_manifest(manifest_dir), "loud", {}, {})
    assert len(r.stdout) < 200 and "truncated 99900 chars" in r.stdout


async def test_refused_is_a_result_not_an_exception(manifest_dir: Path) -> None:
    r = await run_action(load_manifest(manifest_dir), "shutdown", {}, {})
    assert r.status == "refused" and r.argv == [] and "not in the allow-list" in r.reason


async def test_shipped_collect_diagnostics_runs(tmp_path: Path) -> None:
    r = await run_action(
        load_manifest(ROOT / "config" / "remediation"),
        "collect_diagnostics",
        {"address": "127.0.0.1", "count": 1, "port": 9},
        {},
    )
    assert r.status == "ok" and "== snmpget 127.0.0.1:9" in r.stdout

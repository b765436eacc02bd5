"""Running an allow-listed remediation: exec (no shell), timeout, captured output.

The process gets a minimal environment, its own process group (so a timeout
kills the whole tree, not just the script) and no stdin. Its stdout and
stderr are truncated to the action's ``max_output`` and returned as a
:class:`RemediationResult`, which the runtime stores on the alert's timeline.
A refusal is a result too (``status="refused"``): it is recorded, never run.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
from dataclasses import asdict, dataclass
from typing import Any

from streams.remediation.manifest import Manifest, Refused, build_argv

__all__ = ["RemediationResult", "run_action"]

log = logging.getLogger(__name__)

_ENV_KEEP = ("PATH", "LANG", "LC_ALL", "TZ", "SNMP_COMMUNITY")


@dataclass(frozen=True)
class RemediationResult:
    action: str
    status: str  # ok | failed | timeout | refused | error
    argv: list[str]
    returncode: int | None
    stdout: str
    stderr: str
    duration_s: float
    reason: str = ""

    def detail(self) -> dict[str, Any]:
        return asdict(self)


def _cut(data: bytes, limit: int) -> str:
    text = data.decode("utf-8", "replace")
    return text if len(text) <= limit else text[:limit] + f"\n...[truncated {len(text) - limit} chars]"


async def run_action(
    manifest: Manifest, action: str, args: dict[str, Any], alert: dict[str, str]
) -> RemediationResult:
    start = time.monotonic()
    try:
        argv = build_argv(manifest, action, args, alert)
    except Refused as exc:
        log.warning("remediation refused: %s", exc)
        return RemediationResult(action, "refused", [], None, "", "", 0.0, str(exc))
    spec = manifest.actions[action]
    env = {k: os.environ[k] for k in _ENV_KEEP if k in os.environ}
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
            cwd=str(manifest.directory),
            start_new_session=True,
        )
    except OSError as exc:
        return RemediationResult(
            action, "error", argv, None, "", "", time.monotonic() - start, exc.strerror or str(exc)
        )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout=spec.timeout)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        out, err = await proc.communicate()
        return RemediationResult(
            action, "timeout", argv, proc.returncode, _cut(out, spec.max_output), _cut(err, spec.max_output),
            time.monotonic() - start, f"killed after {spec.timeout:g}s",
        )  # fmt: skip
    status = "ok" if proc.returncode == 0 else "failed"
    return RemediationResult(
        action, status, argv, proc.returncode, _cut(out, spec.max_output), _cut(err, spec.max_output),
        time.monotonic() - start,
    )  # fmt: skip

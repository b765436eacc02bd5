"""Run-time control of simulated agents: derived recordings plus a state file per agent.

The recordings in ``ingest/simulate/data`` are static. For faults the
scenario copies one per agent and rewrites the few lines it needs to move
(``ifOperStatus``, ``hrProcessorLoad``, ``hrStorageUsed``; ``sysName`` becomes
the device's name) to use the ``nvstate`` snmpsim variation module
(:mod:`ingest.simulate.variation.nvstate`). Changing a value is then a write
of ``STATE_DIR/<agent>.json``, which snmpsim re-reads on its next request. The file is replaced atomically and readable by ``nobody`` (snmpsim
drops privileges).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["IF_OPER", "AgentState", "DerivedRecording", "derive_recording"]

IF_OPER = "1.3.6.1.2.1.2.2.1.8."
CPU_LOAD = "1.3.6.1.2.1.25.3.3.1.2."
STORAGE_DESCR = "1.3.6.1.2.1.25.2.3.1.3."
STORAGE_SIZE = "1.3.6.1.2.1.25.2.3.1.5."
STORAGE_USED = "1.3.6.1.2.1.25.2.3.1.6."
SYS_NAME = "1.3.6.1.2.1.1.5.0"
VARIATION_DIR = Path(__file__).resolve().parent / "variation"

_LINE = re.compile(r"([0-9.]+)\|([^|]*)\|(.*)")


@dataclass
class DerivedRecording:
    """What the scenario needs to know about one derived recording."""

    path: Path  # directory holding public.snmprec
    interfaces: list[int] = field(default_factory=list)
    cpus: list[int] = field(default_factory=list)
    disk_index: int | None = None  # the system disk (``/`` or ``C:\``)
    disk_size: int = 0
    disk_used: int = 0


def derive_recording(source: Path, dest: Path, sys_name: str, agent: str) -> DerivedRecording:
    """Copy ``source/public.snmprec`` to ``dest`` with controllable lines; pure file work."""
    rows: list[tuple[str, str, str]] = []
    descr: dict[int, str] = {}
    size: dict[int, int] = {}
    for line in (source / "public.snmprec").read_text().splitlines():
        m = _LINE.fullmatch(line)
        if m is None:
            continue
        oid, tag, value = m.groups()
        rows.append((oid, tag, value))
        if oid.startswith(STORAGE_DESCR):
            descr[int(oid[len(STORAGE_DESCR) :])] = value
        elif oid.startswith(STORAGE_SIZE) and tag == "2":
            size[int(oid[len(STORAGE_SIZE) :])] = int(value)
    disk = next((i for i, d in descr.items() if d == "/" or d.startswith("C:\\")), None)
    rec = DerivedRecording(dest, disk_index=disk, disk_size=size.get(disk, 0) if disk else 0)
    out: list[str] = []
    for oid, tag, value in rows:
        if oid == SYS_NAME:
            value = sys_name
        elif tag == "2" and oid.startswith(IF_OPER):
            idx = int(oid[len(IF_OPER) :])
            rec.interfaces.append(idx)
            tag, value = "2:nvstate", f"agent={agent},key=ifOperStatus.{idx},default={value}"
        elif tag == "2" and oid.startswith(CPU_LOAD):
            rec.cpus.append(int(oid[len(CPU_LOAD) :]))
            tag, value = "2:nvstate", f"agent={agent},key=cpu,default={value}"
        elif tag == "2" and disk is not None and oid == f"{STORAGE_USED}{disk}":
            rec.disk_used = int(value)
            tag, value = "2:nvstate", f"agent={agent},key=disk,default={value}"
        out.append(f"{oid}|{tag}|{value}")
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "public.snmprec").write_text("\n".join(out) + "\n")
    return rec


class AgentState:
    """The values one agent currently overrides; every change rewrites ``STATE_DIR/<agent>.json``."""

    def __init__(self, state_dir: Path, agent: str) -> None:
        self.path = state_dir / f"{agent}.json"
        self.values: dict[str, Any] = {}

    def set(self, key: str, value: Any) -> None:
        self.values[key] = value
        self._write()

    def clear(self, key: str) -> None:
        if self.values.pop(key, None) is not None:
            self._write()

    def get(self, key: str) -> Any:
        return self.values.get(key)

    def _write(self) -> None:
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".nvstate-")
        with os.fdopen(fd, "w") as fh:
            json.dump(self.values, fh)
        os.chmod(tmp, 0o644)
        os.replace(tmp, self.path)


def controlled_snmpsim_class() -> type[Any]:
    """:class:`SnmpsimAgents` with the ``nvstate`` variation module loaded (agents.py stays untouched)."""
    from ingest.simulate.agents import SnmpsimAgents

    class ControlledSnmpsim(SnmpsimAgents):
        """snmpsim plus ``nvstate``; state files live in ``workdir/state``."""

        def command(self, bindir: Path) -> list[str]:
            assert self.workdir is not None
            mine = self.workdir / "variation"
            mine.mkdir(parents=True, exist_ok=True)
            shutil.copy(VARIATION_DIR / "nvstate.py", mine / "nvstate.py")
            (self.workdir / "state").mkdir(exist_ok=True)
            builtin = sorted(bindir.parent.glob("lib/python3*/site-packages/snmpsim/variation"))
            extra = [f"--variation-modules-dir={mine}"]
            extra += [f"--variation-modules-dir={d}" for d in builtin]  # numeric, used by the recordings
            extra.append(f"--variation-module-options=nvstate:{self.workdir / 'state'}")
            cmd: list[str] = super().command(bindir)
            return cmd[:1] + extra + cmd[1:]

    return ControlledSnmpsim

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
import time
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
UCD_CPU = "1.3.6.1.4.1.2021.11."  # ssCpuRaw* counters (.50-.54) and ssCpu* percentages (.9-.11)
UCD_LOAD = "1.3.6.1.4.1.2021.10.1.3."  # laLoad 1/5/15, strings
U32 = 4294967295
# ssCpuRaw column -> (key, share of CPU time when normal, share during a spike)
CPU_RAW = {50: ("user", 0.12, 0.90), 51: ("nice", 0.005, 0.005), 52: ("system", 0.04, 0.07),
           53: ("idle", 0.82, 0.02), 54: ("wait", 0.015, 0.005)}  # fmt: skip
CPU_PCT = {9: ("pct_user", 90), 10: ("pct_system", 7), 11: ("pct_idle", 2)}
LOAD_SPIKE = {1: "3.92", 2: "2.10", 3: "0.95"}
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
    cpu_counters: dict[str, dict[str, float]] = field(default_factory=dict)  # key -> moving spec


def derive_recording(
    source: Path, dest: Path, sys_name: str, agent: str, now: float | None = None
) -> DerivedRecording:
    """Copy ``source/public.snmprec`` to ``dest`` with controllable lines; pure file work.

    Static ``ssCpuRaw*`` tick counters are made to move (100 ticks/s per CPU,
    shared as on a lightly loaded server) from ``now`` on, so CPU percentages
    derived from them are real, and a CPU spike can change their rates.
    """
    now = time.time() if now is None else now
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
    ncpu = max(1, sum(1 for oid, tag, _ in rows if tag == "2" and oid.startswith(CPU_LOAD)))
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
        elif tag == "65" and oid.startswith(UCD_CPU) and _column(oid, UCD_CPU) in CPU_RAW:
            key, share, _spike = CPU_RAW[_column(oid, UCD_CPU)]
            spec = {"initial": float(value), "rate": share * 100 * ncpu, "since": now, "wrap": float(U32)}
            rec.cpu_counters[f"cpu_{key}"] = spec
            tag, value = (
                "65:nvstate",
                f"agent={agent},key=cpu_{key}," + ",".join(f"{k}={v:.6f}" for k, v in spec.items()),
            )
        elif tag == "2" and oid.startswith(UCD_CPU) and _column(oid, UCD_CPU) in CPU_PCT:
            tag, value = (
                "2:nvstate",
                f"agent={agent},key=cpu_{CPU_PCT[_column(oid, UCD_CPU)][0]},default={value}",
            )
        elif tag == "4" and oid.startswith(UCD_LOAD) and "," not in value:
            tag, value = "4:nvstate", f"agent={agent},key=load{oid[len(UCD_LOAD) :]},default={value}"
        elif tag == "2" and disk is not None and oid == f"{STORAGE_USED}{disk}":
            rec.disk_used = int(value)
            tag, value = "2:nvstate", f"agent={agent},key=disk,default={value}"
        out.append(f"{oid}|{tag}|{value}")
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "public.snmprec").write_text("\n".join(out) + "\n")
    return rec


def _column(oid: str, prefix: str) -> int:
    head = oid[len(prefix) :].split(".", 1)[0]
    return int(head) if head.isdigit() else -1


def moving_value(spec: dict[str, float], now: float) -> float:
    """The same formula as ``nvstate.moving_value`` (tested to agree): where a counter is now."""
    v = spec.get("initial", 0.0) + spec.get("rate", 0.0) * (now - spec.get("since", now))
    if spec.get("wrap"):
        v %= spec["wrap"] + 1
    if spec.get("max") is not None:
        v = min(v, spec["max"])
    return max(v, 0.0)


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

    def retarget(self, key: str, rate: float, default: dict[str, float], now: float | None = None) -> None:
        """Change a moving counter's rate from now on, continuing from where it is (no jump back)."""
        now = time.time() if now is None else now
        current = self.values.get(key)
        spec = current if isinstance(current, dict) else default
        here = moving_value(spec, now)
        self.set(key, {**spec, "initial": here, "rate": rate, "since": now})

    def cpu_spike(self, rec: DerivedRecording, on: bool, now: float | None = None) -> None:
        """Shift CPU time to user mode (or back), in every CPU signal the recording has."""
        now = time.time() if now is None else now
        total = sum(spec["rate"] for spec in rec.cpu_counters.values())  # ticks/s: 100 per CPU
        for name, normal, spike in CPU_RAW.values():  # shares sum to 1 in both columns
            key = f"cpu_{name}"
            if key in rec.cpu_counters:
                self.retarget(key, (spike if on else normal) * total, rec.cpu_counters[key], now)
        for name, value in CPU_PCT.values():
            if on:
                self.values[f"cpu_{name}"] = value
            else:
                self.values.pop(f"cpu_{name}", None)
        for i, load in LOAD_SPIKE.items():
            if on:
                self.values[f"load{i}"] = load
            else:
                self.values.pop(f"load{i}", None)
        if on:
            self.values["cpu"] = 97
        else:
            self.values.pop("cpu", None)
        self._write()

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

"""Real SNMP agents on loopback for tests, benchmarks and the demo.

* :class:`SnmpdAgent`: one net-snmp ``snmpd`` (v1/v2c community and v3 users
  SHA/AES-128 and SHA-256/AES-256), serving this machine's real data.
* :class:`SnmpsimAgents`: one ``snmpsim`` process serving many agents, each on
  its own 127.0.0.x address with its own recording from
  ``ingest/simulate/data/`` (linux, windows, switch, router).

Both are plain processes started and stopped by pid (never by name). Why the
snmpsim set-up looks as it does (FIELD_NOTES): snmpsim runs from a venv made
from Debian's ``/usr/bin/python3`` under ``.local/snmpsim-venv`` (created on
first use, snmpsim + pysmi), drops privileges to ``nobody`` when run as root
(so data and cache must be readable/writable by nobody) and binds only ports
above 1024; v3 privacy needs ``cryptography`` in that venv. snmpsim picks the
recording by community for v1/v2c (``public.snmprec``) and by context name for
v3: poll snmpsim agents over v3 with context ``public`` (``-n public``); with an
empty context snmpsim deciphers the request and then silently drops it.
"""

from __future__ import annotations

import fcntl
import glob
import logging
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from netvigil.settings import project_root
from netvigil.stack.base import StackError, apt_install

__all__ = [
    "DATA_DIR",
    "RECORDINGS",
    "SNMPSIM_V3_CONTEXT",
    "V3_USERS",
    "SimAgent",
    "SnmpdAgent",
    "SnmpsimAgents",
    "V3User",
    "ensure_snmp_tools",
    "ensure_snmpsim_venv",
    "free_udp_port",
    "snmp_answers",
]

log = logging.getLogger(__name__)
DATA_DIR = Path(__file__).resolve().parent / "data"
RECORDINGS = ("linux", "windows", "switch", "router")
SNMPSIM_V3_CONTEXT = "public"
SNMPSIM_SPEC = ("snmpsim>=1.2,<2", "pysmi>=1.5", "cryptography>=41")  # cryptography: v3 privacy


@dataclass(frozen=True, slots=True)
class V3User:
    name: str
    auth: str  # net-snmp spelling: SHA, SHA-256, ...
    auth_key: str
    priv: str  # DES, AES, AES-256, ...
    priv_key: str

    @property
    def snmpsim_auth(self) -> str:
        return self.auth.replace("-", "").upper()

    @property
    def snmpsim_priv(self) -> str:
        # net-snmp's AES-192/256 extend keys as draft-blumenthal; snmpsim calls that AES256BLMT.
        p = self.priv.replace("-", "").upper()
        return p + "BLMT" if p in ("AES192", "AES256") else p


V3_USERS = (
    V3User("nmsuser", "SHA", "authpass123", "AES", "privpass123"),
    V3User("nmsuser256", "SHA-256", "authpass256", "AES-256", "privpass256"),
)


def ensure_snmp_tools() -> None:
    """net-snmp's agent and tools, and venv support for snmpsim (Debian packages)."""
    ensurepip = glob.glob("/usr/lib/python3*/ensurepip/__init__.py")
    apt_install(
        ["snmpd", "snmp", "python3-venv"],
        ["snmpd", "snmpget", "snmpbulkwalk", ensurepip[0] if ensurepip else "/usr/lib/python3/ensurepip"],
    )


def snmp_answers(address: str, port: int, community: str = "public", wait: float = 0.3) -> bool:
    """True when a v2c GET of sysUpTime.0 gets an answer (net-snmp's snmpget)."""
    proc = subprocess.run(
        ["snmpget", "-v2c", "-c", community, "-t", str(wait), "-r", "0", "-On", f"{address}:{port}",
         "1.3.6.1.2.1.1.3.0"],
        capture_output=True, text=True, check=False, env=dict(os.environ, MIBS=""),
    )  # fmt: skip
    return proc.returncode == 0 and "1.3.6.1.2.1.1.3.0" in proc.stdout


def _wait_for(
    address: str,
    port: int,
    proc: subprocess.Popen[bytes],
    timeout: float,
    log_path: Path,
    community: str = "public",
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log_path.read_text(errors="replace")[-600:] if log_path.exists() else ""
            raise StackError(f"SNMP agent on {address}:{port} exited with {proc.returncode}: {tail}")
        if snmp_answers(address, port, community):
            return
        time.sleep(0.2)
    raise StackError(f"SNMP agent on {address}:{port} did not answer within {timeout:g}s (log: {log_path})")


def _stop(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


@dataclass
class SnmpdAgent:
    """``with SnmpdAgent("127.0.0.5", 11161) as agent: ...`` -- a real snmpd."""

    address: str = "127.0.0.1"
    port: int = 11161
    community: str = "public"
    users: tuple[V3User, ...] = V3_USERS
    workdir: Path | None = None
    extra: tuple[str, ...] = ()  # more snmpd.conf lines, e.g. "sysName sw-9"
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    _own_workdir: bool = field(default=False, repr=False)  # a temp dir we made: removed on stop

    def config(self) -> str:
        lines = [f"agentAddress udp:{self.address}:{self.port}", f"rocommunity {self.community} 127.0.0.0/8"]
        for u in self.users:
            lines.append(f"createUser {u.name} {u.auth} {u.auth_key} {u.priv} {u.priv_key}")
            lines.append(f"rouser {u.name} priv")
        lines += ["load 12 10 5", "disk / 10000", "includeAllDisks 10%", *self.extra]
        return "\n".join(lines) + "\n"

    def start(self) -> SnmpdAgent:
        ensure_snmp_tools()
        if self.workdir is None:
            self.workdir = Path(tempfile.mkdtemp(prefix=f"netvigil-snmpd-{self.address}-{self.port}-"))
            self._own_workdir = True
        self.workdir.mkdir(parents=True, exist_ok=True)
        conf = self.workdir / "snmpd.conf"
        conf.write_text(self.config())
        persist = self.workdir / "persist"
        shutil.rmtree(persist, ignore_errors=True)  # createUser keys are re-derived on each start
        log_path = self.workdir / "snmpd.log"
        env = dict(os.environ, MIBS="", SNMP_PERSISTENT_DIR=str(persist), SNMPCONFPATH=str(self.workdir))
        with log_path.open("ab") as out:
            self.proc = subprocess.Popen(
                # -I -smux: SMUX would listen on tcp/199 on every interface; loopback only here.
                ["snmpd", "-f", "-Lo", "-C", "-I", "-smux", "-c", str(conf), "-p", str(self.workdir / "snmpd.pid")],
                stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True,
            )  # fmt: skip
        try:
            _wait_for(self.address, self.port, self.proc, 15.0, log_path, self.community)
        except BaseException:
            self.stop()  # never leave a half-started agent behind
            raise
        log.info("snmpd on %s:%d (pid %d)", self.address, self.port, self.proc.pid)
        return self

    def stop(self) -> None:
        _stop(self.proc)
        self.proc = None
        if self._own_workdir and self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir, self._own_workdir = None, False

    def restart(self) -> None:
        """A reboot, as a poller sees it: sysUpTime starts again from zero."""
        self.stop()
        self.start()

    def __enter__(self) -> SnmpdAgent:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass(frozen=True, slots=True)
class SimAgent:
    address: str
    port: int
    recording: str  # a directory name under ingest/simulate/data, or an absolute path


def ensure_snmpsim_venv(home: Path | None = None) -> Path:
    """The snmpsim venv (created on first use); returns its ``bin`` directory."""
    ensure_snmp_tools()
    venv = (home or project_root() / ".local") / "snmpsim-venv"
    venv.parent.mkdir(parents=True, exist_ok=True)
    with (venv.parent / ".snmpsim-venv.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two test processes must not build it at once
        if not (venv / ".netvigil-complete").exists():
            log.info("creating %s (snmpsim, pysmi)", venv)
            for cmd in (["/usr/bin/python3", "-m", "venv", str(venv)],
                        [str(venv / "bin" / "pip"), "install", "-q", *SNMPSIM_SPEC]):  # fmt: skip
                proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
                if proc.returncode != 0:
                    raise StackError(f"'{' '.join(cmd)}' failed: {(proc.stderr or proc.stdout)[-400:]}")
            (venv / ".netvigil-complete").write_text(" ".join(SNMPSIM_SPEC) + "\n")
    return venv / "bin"


def _open_to_nobody(path: Path) -> None:
    for p in [path, *path.rglob("*")]:
        os.chmod(p, 0o777 if p.is_dir() else 0o666)


@dataclass
class SnmpsimAgents:
    """One snmpsim process serving ``agents``; v2c community ``public`` and the v3 users."""

    agents: list[SimAgent]
    users: tuple[V3User, ...] = V3_USERS
    workdir: Path | None = None
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    _own_workdir: bool = field(default=False, repr=False)  # a temp dir we made: removed on stop

    def _data_dir(self, i: int, agent: SimAgent) -> Path:
        assert self.workdir is not None
        src = Path(agent.recording) if os.path.isabs(agent.recording) else DATA_DIR / agent.recording
        dst = self.workdir / "data" / f"{i}-{agent.address}-{agent.port}"
        shutil.rmtree(dst, ignore_errors=True)
        dst.mkdir(parents=True)
        shutil.copy(src / "public.snmprec", dst / "public.snmprec")
        shutil.copy(
            dst / "public.snmprec", dst / "1.3.6.1.6.1.1.0.snmprec"
        )  # v3, empty context (a copy: snmpsim drops links)
        return dst

    def command(self, bindir: Path) -> list[str]:
        assert self.workdir is not None
        cmd = [str(bindir / "snmpsim-command-responder"), f"--cache-dir={self.workdir / 'cache'}",
               f"--logging-method=file:{self.workdir / 'snmpsim.log'}", "--log-level=error"]  # fmt: skip
        if os.geteuid() == 0:
            cmd += ["--process-user=nobody", "--process-group=nogroup"]
        for i, agent in enumerate(self.agents):
            cmd += ["--v3-engine-id=auto", f"--data-dir={self._data_dir(i, agent)}",
                    f"--agent-udpv4-endpoint={agent.address}:{agent.port}"]  # fmt: skip
            for u in self.users:
                cmd += [f"--v3-user={u.name}", f"--v3-auth-key={u.auth_key}", f"--v3-auth-proto={u.snmpsim_auth}",
                        f"--v3-priv-key={u.priv_key}", f"--v3-priv-proto={u.snmpsim_priv}"]  # fmt: skip
        return cmd

    def start(self, timeout: float = 60.0) -> SnmpsimAgents:
        if any(a.port <= 1024 for a in self.agents):
            raise StackError("snmpsim binds after dropping privileges: use ports above 1024")
        bindir = ensure_snmpsim_venv()
        if self.workdir is None:
            self.workdir = Path(tempfile.mkdtemp(prefix="netvigil-snmpsim-"))
            self._own_workdir = True
        (self.workdir / "cache").mkdir(parents=True, exist_ok=True)
        cmd = self.command(bindir)
        log_path = self.workdir / "snmpsim.log"
        log_path.touch()
        _open_to_nobody(self.workdir)
        with (self.workdir / "stdout.log").open("ab") as out:
            self.proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=self.workdir,
                                         start_new_session=True)  # fmt: skip
        try:
            for agent in self.agents:  # the first answer waits for the index build
                _wait_for(agent.address, agent.port, self.proc, timeout, self.workdir / "stdout.log")
        except BaseException:
            self.stop()
            raise
        log.info("snmpsim serving %d agents (pid %d)", len(self.agents), self.proc.pid)
        return self

    def stop(self) -> None:
        _stop(self.proc)
        self.proc = None
        if self._own_workdir and self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir, self._own_workdir = None, False

    def __enter__(self) -> SnmpsimAgents:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def free_udp_port(address: str) -> int:
    """A UDP port free on ``address`` right now (the kernel's pick, always above 1024)."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((address, 0))
        port: int = s.getsockname()[1]
        return port

"""`netvigil simulate`: agents up, devices registered, faults played, traffic sent, all stopped.

The run is one asyncio task. Agents start in threads (they block while
snmpsim indexes its recordings); the schedule from
:func:`ingest.simulate.faults.build_schedule` is played against the wall
clock; trap and syslog traffic runs beside it. Whatever ends the run (its
duration, SIGINT/SIGTERM, an error), the ``finally`` removes the firewall
rules and stops every process this run started, by pid.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ingest.simulate.faults import Firewall, Step, build_schedule
from ingest.simulate.senders import Sent, logger_line, send_trap, send_vendor_syslog, vendor_line
from ingest.simulate.state import AgentState, DerivedRecording, controlled_snmpsim_class, derive_recording
from ingest.simulate.topology import SimDevice
from netvigil.settings import Settings

__all__ = ["Scenario"]

log = logging.getLogger(__name__)


@dataclass
class Scenario:
    settings: Settings
    devices: list[SimDevice]
    duration: float = 600.0
    repeat: bool = False  # replay the fault schedule every `duration` seconds (the demo) until stopped
    faults: bool = True
    traffic: bool = True
    register: bool = True
    trap_every: float = 5.0
    syslog_every: float = 1.0
    flaps: int = 5
    seed: int = 1
    workdir: Path | None = None
    sent: Sent = field(default_factory=Sent)
    played: list[Step] = field(default_factory=list)
    _states: dict[str, AgentState] = field(default_factory=dict)
    _recs: dict[str, DerivedRecording] = field(default_factory=dict)
    _procs: list[Any] = field(default_factory=list)
    _snmpd: dict[str, Any] = field(default_factory=dict)
    _firewall: Firewall = field(default_factory=Firewall)
    _own_workdir: bool = False

    # ------------------------------------------------------------------ set-up
    @property
    def trap_target(self) -> tuple[str, int]:
        c = self.settings.collector
        return ("127.0.0.1" if c.bind in ("0.0.0.0", "") else c.bind), c.trap_port  # noqa: S104

    @property
    def syslog_target(self) -> tuple[str, int]:
        return self.trap_target[0], self.settings.collector.syslog_udp_port

    @property
    def syslog_tcp_target(self) -> tuple[str, int]:
        return self.trap_target[0], self.settings.collector.syslog_tcp_port

    def by_name(self, name: str) -> SimDevice:
        return next(d for d in self.devices if d.name == name)

    def start_agents(self) -> None:
        """Derive recordings, start snmpsim (and snmpd); blocking, run in a thread."""
        from ingest.simulate.agents import SimAgent, SnmpdAgent

        if self.workdir is None:
            self.workdir = Path(tempfile.mkdtemp(prefix="netvigil-simulate-"))
            self._own_workdir = True
        os.chmod(self.workdir, 0o755)  # noqa: S103 - snmpsim runs as nobody and must reach its files
        sim = [d for d in self.devices if d.recording]
        from ingest.simulate.agents import DATA_DIR

        for d in sim:
            rec = derive_recording(DATA_DIR / str(d.recording), self.workdir / "rec" / d.name, d.name, d.name)
            self._recs[d.name] = rec
        if sim:
            cls = controlled_snmpsim_class()
            agents = cls(
                [SimAgent(d.address, d.port, str(self._recs[d.name].path)) for d in sim],
                workdir=self.workdir / "snmpsim",
            )
            self._procs.append(agents)
            agents.start()
            for d in sim:
                self._states[d.name] = AgentState(self.workdir / "snmpsim" / "state", d.name)
        for d in self.devices:
            if d.recording is None:
                agent = SnmpdAgent(d.address, d.port, workdir=self.workdir / f"snmpd-{d.name}")
                self._procs.append(agent)
                self._snmpd[d.name] = agent
                agent.start()

    def register_devices(self) -> None:
        from netvigil.db import connect
        from netvigil.inventory import Credentials, Device, upsert_device

        with connect(self.settings) as conn:
            for d in self.devices:  # parents first: the plan lists router, switches, servers
                upsert_device(
                    conn,
                    Device(
                        name=d.name,
                        address=d.address,
                        port=d.port,
                        credentials=Credentials(version="v2c", community="public"),
                        poll_interval=self.settings.collector.poll_interval,
                        tags=d.tags,
                        parent=d.parent,
                    ),
                )
            conn.commit()
        log.info("registered %d simulated devices", len(self.devices))

    def stop_everything(self) -> None:
        self._firewall.cleanup()
        for proc in reversed(self._procs):
            try:
                proc.stop()
            except Exception:  # keep stopping the others
                log.exception("could not stop %s", proc)
        self._procs.clear()
        if self._own_workdir and self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)

    # ------------------------------------------------------------------ faults
    async def apply(self, step: Step) -> None:
        """Play one step of the schedule."""
        dev = self.by_name(step.device)
        state = self._states.get(step.device)
        p = step.params
        if step.action in ("link_down", "link_up"):
            up = step.action == "link_up"
            if state is not None:
                state.set(f"ifOperStatus.{p['if_index']}", 1 if up else 2)
            ok = await send_trap(
                "linkUp" if up else "linkDown",
                source=dev.address,
                target=self.trap_target,
                if_index=p["if_index"],
            )
            self._count_trap(ok)
            line = vendor_line(
                "cisco",
                dev.name,
                f"%LINK-3-UPDOWN: Interface GigabitEthernet0/{p['if_index']}, "
                f"changed state to {'up' if up else 'down'}",
                severity=3,
            )
            self._count_syslog(send_vendor_syslog(line, source=dev.address, target=self.syslog_target))
        elif step.action in ("cpu_spike", "cpu_normal") and state is not None:
            state.cpu_spike(self._recs[step.device], on=step.action == "cpu_spike")
        elif step.action == "disk_fill" and state is not None:
            rec = self._recs[step.device]
            span = max(p["until"] - step.at, 1.0)
            # Start from at most half full, so the fill crosses the disk thresholds during
            # the run and a predictive alert has room to fire before the static one.
            initial = min(rec.disk_used, rec.disk_size // 2)
            rate = (rec.disk_size - initial) / span
            state.set("disk", {"initial": initial, "rate": rate, "since": time.time(), "max": rec.disk_size})
        elif step.action == "reboot" and step.device in self._snmpd:
            await asyncio.to_thread(self._snmpd[step.device].restart)
            self._count_trap(await send_trap("coldStart", source=dev.address, target=self.trap_target))
        elif step.action in ("ping_block", "ping_unblock"):
            if step.action == "ping_block":
                self._firewall.block(dev.address)
            else:
                self._firewall.unblock(dev.address)
        elif step.action in ("down", "up"):
            up = step.action == "up"
            for name in [step.device, *p.get("children", [])]:
                addr = self.by_name(name).address
                if up:
                    self._firewall.unblock(addr, icmp_only=False)
                else:
                    self._firewall.block(addr, icmp_only=False)
            parent, uplink = p.get("parent"), p.get("uplink")
            if parent and uplink:  # the parent sees its port to the dead device go down
                if parent in self._states:
                    self._states[parent].set(f"ifOperStatus.{uplink}", 1 if up else 2)
                ok = await send_trap(
                    "linkUp" if up else "linkDown",
                    source=self.by_name(parent).address,
                    target=self.trap_target,
                    if_index=uplink,
                    up=up,
                )
                self._count_trap(ok)
        self.played.append(step)
        log.info("t=%.0fs %s %s %s", step.at, step.action, step.device, p or "")

    def _count_trap(self, ok: bool, inform: bool = False) -> None:
        if not ok:
            self.sent.failures += 1
        elif inform:
            self.sent.informs += 1
        else:
            self.sent.traps += 1

    def _count_syslog(self, ok: bool) -> None:
        if ok:
            self.sent.syslog += 1
        else:
            self.sent.failures += 1

    # ----------------------------------------------------------------- traffic
    async def _traps_forever(self, rnd: random.Random) -> None:
        while True:
            await asyncio.sleep(self.trap_every)
            d = rnd.choice(self.devices)
            if any(r[2] == f"{d.address}/32" and "-p" not in r for r in self._firewall.rules):
                continue  # a device that is down sends nothing
            inform = rnd.random() < 0.25
            name = rnd.choice(("authenticationFailure", "warmStart", "linkUp"))
            if_index = d.port_on_parent if name == "linkUp" else None
            ok = await send_trap(
                name, source=d.address, target=self.trap_target, inform=inform, if_index=if_index, up=True
            )
            self._count_trap(ok, inform)

    async def _syslog_forever(self, rnd: random.Random) -> None:
        n = 0
        while True:
            await asyncio.sleep(self.syslog_every)
            n += 1
            d = rnd.choice(self.devices)
            if n % 3 == 0:
                tcp = n % 2 == 0
                ok = await logger_line(
                    f"simulated host message {n}",
                    target=self.syslog_tcp_target if tcp else self.syslog_target,
                    tcp=tcp,
                    rfc5424=n % 4 != 0,
                    sd=("netvigil@32473", {"device": d.name}),
                )
                self._count_syslog(ok)
                continue
            if d.vendor == "cisco":
                text = f"%SYS-5-CONFIG_I: Configured from console by admin on vty0 ({n})"
                line = vendor_line("cisco", d.name, text, seq=n)
            else:
                line = vendor_line(
                    "linux", d.name, f"sshd[{1000 + n}]: Accepted publickey for deploy port {n}"
                )
            self._count_syslog(send_vendor_syslog(line, source=d.address, target=self.syslog_target))

    # --------------------------------------------------------------------- run
    async def run(self, stop: asyncio.Event) -> Sent:
        """Start, play until ``duration`` or ``stop``, then stop everything started."""
        loop = asyncio.get_running_loop()
        tasks: list[asyncio.Task[None]] = []
        try:
            await asyncio.to_thread(self.start_agents)
            if self.register:
                await asyncio.to_thread(self.register_devices)
            schedule: list[Step] = []
            if self.faults:
                await asyncio.to_thread(self._firewall.prepare)
                targets = [
                    d.target(
                        has_disk=bool(self._recs.get(d.name) and self._recs[d.name].disk_index),
                        has_cpu=bool(self._recs.get(d.name) and self._recs[d.name].cpus),
                    )
                    for d in self.devices
                ]
                schedule = build_schedule(targets, self.duration, flaps=self.flaps)
            rnd = random.Random(self.seed)  # noqa: S311 - simulation, not security
            if self.traffic:
                tasks += [
                    asyncio.create_task(self._traps_forever(rnd)),
                    asyncio.create_task(self._syslog_forever(rnd)),
                ]
            log.info(
                "simulation running for %.0fs%s with %d devices, %d fault steps",
                self.duration,
                " (repeating)" if self.repeat else "",
                len(self.devices),
                len(schedule),
            )
            while not stop.is_set():
                start = loop.time()
                for step in schedule:
                    if await _wait(stop, start + step.at - loop.time()):
                        break
                    try:
                        await self.apply(step)
                    except Exception:  # one failed step must not end the run
                        self.sent.failures += 1
                        log.exception("fault step %s failed", step)
                await _wait(stop, start + self.duration - loop.time())
                if not self.repeat:
                    break
                log.info("replaying the fault schedule")
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await asyncio.to_thread(self.stop_everything)
        return self.sent


async def _wait(stop: asyncio.Event, seconds: float) -> bool:
    """Sleep ``seconds`` unless ``stop`` is set first; True when stopped."""
    if seconds > 0:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), seconds)
    return stop.is_set()

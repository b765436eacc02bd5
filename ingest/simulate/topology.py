"""Which simulated devices a run has, where they live and who their parent is (pure).

A run of N devices is one router, one switch per 24 servers, and servers
alternating between the Linux and Windows recordings; optionally the last
server is a real net-snmp ``snmpd`` serving this machine's own data. Parents
form the chain router -> switch -> servers, so an outage of the switch
should suppress its servers' alerts downstream. Each server hangs off its own
access port (ifIndex) on its switch, which is the port a link fault takes
down.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from ingest.simulate.faults import Target

__all__ = ["SimDevice", "plan_topology"]

SERVERS_PER_SWITCH = 24
ROUTER_PORTS = (1, 3, 4)  # the router recording's LAN interfaces (2 is the WAN)


@dataclass
class SimDevice:
    name: str
    address: str
    port: int
    role: str  # router | switch | server
    recording: str | None  # ingest/simulate/data/<recording>; None = the real snmpd
    vendor: str
    parent: str | None = None
    port_on_parent: int | None = None
    tags: dict[str, str] = field(default_factory=dict)

    def target(self, *, has_disk: bool, has_cpu: bool) -> Target:
        return Target(
            self.name, self.role, self.parent, self.port_on_parent, has_disk, has_cpu, self.recording is None
        )


def plan_topology(
    devices: int,
    *,
    base_address: str = "127.0.0.11",
    port: int = 1161,
    prefix: str = "sim",
    snmpd: bool = True,
) -> list[SimDevice]:
    """``devices`` (at least 3) devices on consecutive loopback addresses from ``base_address``."""
    devices = max(devices, 3)
    base = ipaddress.IPv4Address(base_address)
    if not (base.is_loopback and ipaddress.IPv4Address(int(base) + devices - 1).is_loopback):
        raise ValueError(f"{devices} addresses from {base_address} leave 127.0.0.0/8")
    n_servers = devices - 1 - max(1, -(-(devices - 1) // (SERVERS_PER_SWITCH + 1)))
    n_switches = devices - 1 - n_servers
    out: list[SimDevice] = []
    addr = iter(str(ipaddress.IPv4Address(int(base) + k)) for k in range(devices))
    router = SimDevice(f"{prefix}-rtr1", next(addr), port, "router", "router", "cisco")
    out.append(router)
    switches = [
        SimDevice(
            f"{prefix}-sw{k + 1}",
            next(addr),
            port,
            "switch",
            "switch",
            "cisco",
            parent=router.name,
            port_on_parent=ROUTER_PORTS[k] if k < len(ROUTER_PORTS) else None,
        )
        for k in range(n_switches)
    ]
    out += switches
    for k in range(n_servers):
        sw = switches[k // SERVERS_PER_SWITCH]
        real = snmpd and k == n_servers - 1 and n_servers > 1
        kind = "linux" if real or k % 2 == 0 else "windows"
        out.append(
            SimDevice(
                f"{prefix}-{'snmpd' if real else kind}{k + 1}",
                next(addr),
                port,
                "server",
                None if real else kind,
                "net-snmp" if real else ("linux" if kind == "linux" else "microsoft"),
                parent=sw.name,
                port_on_parent=k % SERVERS_PER_SWITCH + 1,
            )
        )
    for d in out:
        d.tags = {"site": "sim-lab", "role": d.role, "vendor": d.vendor, "simulated": "true"}
    return out

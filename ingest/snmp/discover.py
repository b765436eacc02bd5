"""Discovery: ICMP sweep of a CIDR, then SNMP identification of what answered.

Pure helpers (:func:`hosts_of`, :func:`device_name`) are unit-tested; the
sweep and identification are thin shells over icmplib and our transports.
Privileged ICMP (raw sockets) when root, unprivileged datagram sockets
otherwise (needs ``net.ipv4.ping_group_range``).
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

from ingest.snmp.factory import Engines, make_transport
from ingest.snmp.poller import format_text
from ingest.snmp.transport import SnmpError
from netvigil.inventory import Credentials

__all__ = ["MAX_HOSTS", "Identity", "device_name", "hosts_of", "identify_all", "sweep"]

MAX_HOSTS = 65536
SYS_DESCR, SYS_OBJECT_ID, SYS_NAME = "1.3.6.1.2.1.1.1.0", "1.3.6.1.2.1.1.2.0", "1.3.6.1.2.1.1.5.0"


@dataclass(frozen=True, slots=True)
class Identity:
    address: str
    sys_name: str
    sys_descr: str
    sys_object_id: str


def hosts_of(cidr: str) -> list[str]:
    """Host addresses of a network (a /32 is itself); ValueError when too big or malformed."""
    net = ipaddress.ip_network(cidr, strict=False)
    if net.num_addresses > MAX_HOSTS:
        raise ValueError(f"{cidr} has {net.num_addresses} addresses; the limit is {MAX_HOSTS}")
    hosts = list(net.hosts()) if net.num_addresses > 2 else list(net)
    return [str(h) for h in hosts]


def device_name(identity: Identity, taken: set[str]) -> str:
    """sysName made safe (fallback: the address), unique against ``taken``."""
    base = re.sub(r"[^A-Za-z0-9_.-]+", "-", identity.sys_name.strip()).strip("-.") or identity.address
    name, n = base, 2
    while name in taken:
        name = f"{base}-{identity.address}" if n == 2 else f"{base}-{n}"
        n += 1
    return name


async def sweep(addresses: list[str], *, count: int = 1, wait: float = 1.0) -> list[str]:
    """Addresses that answer ICMP echo."""
    from icmplib import async_multiping

    hosts = await async_multiping(addresses, count=count, interval=0.05, timeout=wait,
                                  concurrent_tasks=512, privileged=os.geteuid() == 0)  # fmt: skip
    return [h.address for h in hosts if h.is_alive]


async def identify_all(
    addresses: list[str], port: int, creds: Credentials, *, wait: float = 1.0, retries: int = 1,
    concurrency: int = 64,
) -> AsyncIterator[tuple[str, Identity | None]]:  # fmt: skip
    """Yield (address, identity or None) as each answers or gives up."""
    engines = Engines()
    sem = asyncio.Semaphore(concurrency)

    async def one(address: str) -> tuple[str, Identity | None]:
        async with sem:
            t = make_transport(engines, address, port, creds, timeout=wait, retries=retries)
            try:
                got = {oid: value for oid, _, value in await t.get([SYS_NAME, SYS_DESCR, SYS_OBJECT_ID])}
            except SnmpError:
                return address, None
        if not got:
            return address, None
        text = {k: format_text("", v) for k, v in got.items()}
        return address, Identity(address, text.get(SYS_NAME, ""), text.get(SYS_DESCR, ""),
                                 text.get(SYS_OBJECT_ID, ""))  # fmt: skip

    try:
        for fut in asyncio.as_completed([one(a) for a in addresses]):
            yield await fut
    finally:
        await engines.close()

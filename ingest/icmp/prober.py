"""Probe named targets and turn the outcomes into PingResult records.

Shared by the service (inventory devices) and ``netvigil ping`` (command-line
targets). Host names are resolved here, concurrently; a name that does not
resolve is a result with an error, like an address the kernel refuses.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from collections.abc import Sequence

from ingest.icmp.engine import IcmpEngine
from ingest.icmp.stats import summarize
from netvigil.records import PingResult

__all__ = ["ping_targets", "resolve"]

RESOLVE_TIMEOUT = 2.0


async def resolve(host: str) -> tuple[str | None, str | None]:
    """(IPv4 address, error): literal addresses as they are, names through the resolver."""
    try:
        ipaddress.ip_address(host)
        return host, None
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(
            loop.getaddrinfo(host, None, family=socket.AF_INET, type=socket.SOCK_RAW), RESOLVE_TIMEOUT
        )
    except (OSError, TimeoutError) as exc:
        return None, f"cannot resolve {host!r}: {exc or 'timeout'}"
    if not infos:
        return None, f"cannot resolve {host!r}"
    return str(infos[0][4][0]), None


async def ping_targets(
    engine: IcmpEngine,
    targets: Sequence[tuple[str, str]],
    *,
    count: int,
    interval: float,
    reply_timeout: float,
) -> list[PingResult]:
    """One PingResult per ``(name, host)`` target, in the order given."""
    resolved = await asyncio.gather(*(resolve(host) for _, host in targets))
    addresses = [addr for addr, _ in resolved if addr is not None]
    outcomes = await engine.probe(addresses, count, interval, reply_timeout)
    ts = time.time()
    results: list[PingResult] = []
    for (name, host), (addr, error) in zip(targets, resolved, strict=True):
        if addr is None:
            results.append(summarize(name, host, 0, [], error=error, ts=ts))
            continue
        outcome = outcomes[addr]
        results.append(summarize(name, host, outcome.sent, outcome.rtts, error=outcome.error, ts=ts))
    return results

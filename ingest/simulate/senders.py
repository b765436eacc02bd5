"""Trap and syslog traffic from the simulated devices, sent by the real tools.

Traps and informs go out through net-snmp's ``snmptrap``/``snmpinform`` with
``--clientaddr`` set to the device's loopback address, so the trap receiver
sees them coming from the device (and matches it to the inventory). Syslog
goes out through util-linux ``logger`` (RFC 3164 and 5424, UDP and TCP); since
``logger`` cannot choose its source address, device-sourced vendor lines
(Cisco ``%LINK-3-UPDOWN``, Juniper, Linux) are sent from a UDP socket bound to
the device's address instead.

Every sender returns False on failure and logs why (without the community);
the scenario counts failures, it never stops on them.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from dataclasses import dataclass

__all__ = ["TRAP_OIDS", "Sent", "logger_line", "send_trap", "send_vendor_syslog", "vendor_line"]

log = logging.getLogger(__name__)

TRAP_OIDS = {
    "coldStart": "1.3.6.1.6.3.1.1.5.1",
    "warmStart": "1.3.6.1.6.3.1.1.5.2",
    "linkDown": "1.3.6.1.6.3.1.1.5.3",
    "linkUp": "1.3.6.1.6.3.1.1.5.4",
    "authenticationFailure": "1.3.6.1.6.3.1.1.5.5",
}
IF_INDEX, IF_ADMIN, IF_OPER, IF_DESCR = (f"1.3.6.1.2.1.2.2.1.{c}" for c in (1, 7, 8, 2))
_ENV = dict(os.environ, MIBS="")  # Debian ships no IF-MIB: numeric OIDs, no MIB noise


@dataclass
class Sent:
    """Counts of what the scenario sent (and failed to send), for its summary."""

    traps: int = 0
    informs: int = 0
    syslog: int = 0
    failures: int = 0


async def _run(argv: list[str], what: str, limit_s: float = 10.0) -> bool:
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=_ENV
        )
    except OSError as exc:
        log.warning("%s: cannot run %s: %s", what, argv[0], exc)
        return False
    try:
        _out, err = await asyncio.wait_for(proc.communicate(), limit_s)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        log.warning("%s: %s timed out", what, argv[0])
        return False
    if proc.returncode != 0:
        log.warning("%s: %s failed: %s", what, argv[0], err.decode(errors="replace").strip()[:200])
        return False
    return True


async def send_trap(
    name: str,
    *,
    source: str,
    target: tuple[str, int],
    community: str = "public",
    if_index: int | None = None,
    up: bool | None = None,
    inform: bool = False,
) -> bool:
    """A v2c trap (or inform) ``name`` from ``source``; link traps carry ifIndex/admin/oper."""
    varbinds: list[str] = []
    if if_index is not None:
        oper = "1" if up else "2"
        varbinds = [
            f"{IF_INDEX}.{if_index}",
            "i",
            str(if_index),
            f"{IF_ADMIN}.{if_index}",
            "i",
            "1",
            f"{IF_OPER}.{if_index}",
            "i",
            oper,
            f"{IF_DESCR}.{if_index}",
            "s",
            f"port{if_index}",
        ]
    tool = "snmpinform" if inform else "snmptrap"
    argv = [tool, "-v", "2c", "-c", community, f"--clientaddr={source}"]
    if inform:
        argv += ["-r", "1", "-t", "2"]
    argv += [f"{target[0]}:{target[1]}", "", TRAP_OIDS[name], *varbinds]
    return await _run(argv, f"{name} {'inform' if inform else 'trap'} from {source}")


async def logger_line(
    message: str,
    *,
    target: tuple[str, int],
    tcp: bool = False,
    rfc5424: bool = True,
    tag: str = "netvigil-sim",
    priority: str = "user.notice",
    sd: tuple[str, dict[str, str]] | None = None,
) -> bool:
    """One message through util-linux ``logger`` to the receiver."""
    argv = ["logger", "-T" if tcp else "-d", "-n", target[0], "-P", str(target[1]), "-t", tag, "-p", priority]
    argv.append("--rfc5424" if rfc5424 else "--rfc3164")
    if sd is not None and rfc5424:
        argv += ["--sd-id", sd[0]]
        for k, v in sd[1].items():
            argv += ["--sd-param", f'{k}="{v}"']
    argv += ["--", message]
    return await _run(argv, "logger")


def vendor_line(vendor: str, hostname: str, text: str, *, seq: int = 1, severity: int = 5) -> bytes:
    """A syslog line as the vendor would write it (Cisco, Juniper or Linux)."""
    stamp = time.strftime("%b %d %H:%M:%S", time.gmtime())
    stamp = stamp[:4] + stamp[4:6].replace("0", " ", 1) + stamp[6:]  # "Nov  5", as RFC 3164 pads
    if vendor == "cisco":
        return f"<{23 * 8 + severity}>{seq}: {stamp}.000 UTC: {text}".encode()
    if vendor == "juniper":
        return f"<{3 * 8 + severity}>{stamp} {hostname} {text}".encode()
    return f"<{3 * 8 + severity}>{stamp} {hostname} {text}".encode()


def send_vendor_syslog(line: bytes, *, source: str, target: tuple[str, int]) -> bool:
    """One UDP datagram from ``source`` (a loopback address), as the device would send it."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind((source, 0))
            sock.sendto(line, target)
    except OSError as exc:
        log.warning("syslog from %s not sent: %s", source, exc)
        return False
    return True

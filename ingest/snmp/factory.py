"""Build the right transport for a device's credentials (v1/v2c own engine, v3 pysnmp)."""

from __future__ import annotations

from typing import Any

from ingest.snmp.transport import SnmpError, Transport, UdpEngine, V2cTransport
from netvigil.inventory import Credentials

__all__ = ["Engines", "make_transport"]


class Engines:
    """The process-wide engines: one UDP socket for v1/v2c, one pysnmp SnmpEngine for v3 (lazily)."""

    def __init__(self) -> None:
        self.udp = UdpEngine()
        self._v3: Any = None

    @property
    def v3(self) -> Any:
        if self._v3 is None:
            from pysnmp.hlapi.v3arch.asyncio import SnmpEngine

            self._v3 = SnmpEngine()
        return self._v3

    async def close(self) -> None:
        await self.udp.close()
        if self._v3 is not None:
            self._v3.close_dispatcher()
            self._v3 = None


def make_transport(
    engines: Engines,
    host: str,
    port: int,
    creds: Credentials,
    *,
    timeout: float,
    retries: int,
    v3_only: bool = False,
    max_repetitions: int = 50,
) -> Transport:
    if creds.version == "v3":
        from ingest.snmp.v3 import V3Transport

        return V3Transport(engines.v3, host, port, creds, timeout=timeout, retries=retries,
                           max_repetitions=max_repetitions)  # fmt: skip
    if creds.version in ("v1", "v2c"):
        if v3_only:
            raise SnmpError(f"SNMP {creds.version} refused: collector.v3_only is set")
        return V2cTransport(
            engines.udp, host, port, creds.community or "", version=0 if creds.version == "v1" else 1,
            timeout=timeout, retries=retries, max_repetitions=max_repetitions,
        )  # fmt: skip
    raise SnmpError(f"device has no SNMP credentials (version {creds.version})")

"""SNMPv3 transport through pysnmp 7's asyncio HLAPI (USM auth/priv, engine discovery).

v3 needs HMACs, ciphers and engine-id discovery that pysnmp already does well;
the volume of v3 polling is small next to v2c, so its speed matters less. MIB
lookup is off (``lookupMib=False``): values come back as base SMI types and
are converted to the ``(oid, type_name, value)`` tuples of :mod:`ingest.snmp.ber`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pysnmp.hlapi.v3arch import asyncio as hl

from ingest.snmp.ber import EXCEPTION_TYPES, VarBind
from ingest.snmp.transport import SnmpError, SnmpTimeout
from netvigil.inventory import Credentials

__all__ = ["AUTH", "PRIV", "V3Transport", "convert_value", "usm_user"]

AUTH = {
    "MD5": hl.usmHMACMD5AuthProtocol,
    "SHA": hl.usmHMACSHAAuthProtocol,
    "SHA224": hl.usmHMAC128SHA224AuthProtocol,
    "SHA256": hl.usmHMAC192SHA256AuthProtocol,
    "SHA384": hl.usmHMAC256SHA384AuthProtocol,
    "SHA512": hl.usmHMAC384SHA512AuthProtocol,
}
# net-snmp's AES192/AES256 extend the key as in draft-blumenthal (its "C" variants are Cisco's).
PRIV = {
    "DES": hl.usmDESPrivProtocol,
    "AES": hl.usmAesCfb128Protocol,
    "AES128": hl.usmAesCfb128Protocol,
    "AES192": hl.usmAesBlumenthalCfb192Protocol,
    "AES256": hl.usmAesBlumenthalCfb256Protocol,
}
_TYPES = {
    "Integer32": "INTEGER",
    "Integer": "INTEGER",
    "OctetString": "OCTET STRING",
    "Null": "NULL",
    "ObjectIdentifier": "OID",
    "IpAddress": "IpAddress",
    "Counter32": "Counter32",
    "Gauge32": "Gauge32",
    "Unsigned32": "Gauge32",
    "TimeTicks": "TimeTicks",
    "Opaque": "Opaque",
    "Counter64": "Counter64",
    "NoSuchObject": "noSuchObject",
    "NoSuchInstance": "noSuchInstance",
    "EndOfMibView": "endOfMibView",
}


def convert_value(value: Any) -> tuple[str, Any]:
    """pysnmp value -> (type name, Python value) as ber.py decodes them."""
    for cls in type(value).__mro__:
        name = _TYPES.get(cls.__name__)
        if name is None:
            continue
        if name in EXCEPTION_TYPES or name == "NULL":
            return name, None
        if name in ("OCTET STRING", "Opaque"):
            return name, bytes(value.asOctets())
        if name == "OID":
            return name, str(value)
        if name == "IpAddress":
            return name, ".".join(str(b) for b in value.asOctets())
        return name, int(value)
    raise SnmpError(f"unexpected value type {type(value).__name__}")


def usm_user(creds: Credentials) -> hl.UsmUserData:
    level = creds.level or "noAuthNoPriv"
    auth = AUTH[(creds.auth_proto or "SHA").upper()] if level != "noAuthNoPriv" else hl.usmNoAuthProtocol
    priv = PRIV[(creds.priv_proto or "AES").upper()] if level == "authPriv" else hl.usmNoPrivProtocol
    engine = bytes.fromhex(creds.engine_id.removeprefix("0x")) if creds.engine_id else None
    return hl.UsmUserData(
        creds.user or "",
        authKey=creds.auth_key if level != "noAuthNoPriv" else None,
        privKey=creds.priv_key if level == "authPriv" else None,
        authProtocol=auth,
        privProtocol=priv,
        securityEngineId=engine,
    )


class V3Transport:
    """One device over v3. ``engine`` is a process-wide ``SnmpEngine`` (it caches discovered engines)."""

    def __init__(
        self,
        engine: hl.SnmpEngine,
        host: str,
        port: int,
        creds: Credentials,
        *,
        timeout: float = 2.0,
        retries: int = 1,
        max_repetitions: int = 50,
    ) -> None:
        self.engine, self.host, self.port = engine, host, port
        self._user = usm_user(creds)
        self._context = hl.ContextData(contextName=creds.context or "")
        self.timeout, self.retries, self.max_repetitions = timeout, retries, max_repetitions
        self._target: hl.UdpTransportTarget | None = None

    def __repr__(self) -> str:
        return f"V3Transport({self.host}:{self.port})"

    async def _tgt(self) -> hl.UdpTransportTarget:
        if self._target is None:
            self._target = await hl.UdpTransportTarget.create(
                (self.host, self.port), timeout=self.timeout, retries=self.retries
            )
        return self._target

    @staticmethod
    def _check(err_ind: Any, err_status: Any, err_index: Any) -> None:
        if err_ind:
            text = str(err_ind)
            if "timeout" in text.lower() or "no snmp response" in text.lower():
                raise SnmpTimeout(text)
            raise SnmpError(text)
        if err_status and int(err_status):
            raise SnmpError(f"agent error {err_status.prettyPrint()} at index {err_index}")

    async def get(self, oids: Sequence[str]) -> list[VarBind]:
        out: list[VarBind] = []
        for i in range(0, len(oids), 30):
            objs = [hl.ObjectType(hl.ObjectIdentity(o)) for o in oids[i : i + 30]]
            ei, es, ex, vbs = await hl.get_cmd(self.engine, self._user, await self._tgt(), self._context, *objs,
                                               lookupMib=False)  # fmt: skip
            self._check(ei, es, ex)
            for name, value in vbs:
                type_name, py = convert_value(value)
                if type_name not in EXCEPTION_TYPES:
                    out.append((str(name), type_name, py))
        return out

    async def walk(self, oid: str) -> list[VarBind]:
        out: list[VarBind] = []
        seen: set[str] = set()
        prefix = oid + "."
        async for ei, es, ex, vbs in hl.bulk_walk_cmd(
            self.engine, self._user, await self._tgt(), self._context, 0, self.max_repetitions,
            hl.ObjectType(hl.ObjectIdentity(oid)), lookupMib=False, lexicographicMode=False,
        ):  # fmt: skip
            self._check(ei, es, ex)
            for name, value in vbs:
                key = str(name)
                if not key.startswith(prefix) or key in seen:  # retries can repeat varbinds
                    continue
                seen.add(key)
                type_name, py = convert_value(value)
                if type_name not in EXCEPTION_TYPES:
                    out.append((key, type_name, py))
        return out

    async def close(self) -> None:
        return None

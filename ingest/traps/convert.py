"""Pure conversions: v1 Trap-PDU to v2 form, varbind formatting, Trap records.

Every notification is published in SNMPv2 form (RFC 3584 section 3.1) so that
consumers see one shape whatever version the device spoke: ``trap_oid`` is
snmpTrapOID.0 and ``uptime`` is sysUpTime.0. The community is never put in a
record (RFC 3584 would append snmpTrapCommunity.0; it is a secret here).
"""

from __future__ import annotations

import time
from typing import Any, Literal

from ingest.snmp.ber import EXCEPTION_TYPES, Pdu
from ingest.traps.oids import (
    SNMP_TRAP_ADDRESS,
    SNMP_TRAP_ENTERPRISE,
    SNMP_TRAP_OID,
    SNMP_TRAPS,
    SYS_UPTIME,
    OidNames,
)
from netvigil.records import Trap, VarBind

__all__ = ["RawVarBind", "build_trap", "format_value", "v1_to_v2"]

Version = Literal["v1", "v2c", "v3"]
RawVarBind = tuple[str, str, Any]  # (oid, BER type name, Python value), as ingest.snmp.ber decodes


def v1_to_v2(pdu: Pdu) -> list[RawVarBind]:
    """The v2 varbind list of a v1 Trap-PDU (RFC 3584 3.1, without the community).

    sysUpTime.0 and snmpTrapOID.0 first; generic traps 0-5 become
    ``snmpTraps.(generic+1)``, enterpriseSpecific ones ``enterprise.0.specific``;
    snmpTrapAddress.0 and snmpTrapEnterprise.0 are appended.
    """
    generic = pdu.generic_trap or 0
    enterprise = pdu.enterprise or "0.0"
    if 0 <= generic <= 5:
        trap_oid = f"{SNMP_TRAPS}.{generic + 1}"
    else:
        trap_oid = f"{enterprise}.0.{pdu.specific_trap or 0}"
    out: list[RawVarBind] = [
        (SYS_UPTIME, "TimeTicks", pdu.time_stamp or 0),
        (SNMP_TRAP_OID, "OID", trap_oid),
        *pdu.varbinds,
    ]
    present = {oid for oid, _, _ in pdu.varbinds}
    if SNMP_TRAP_ADDRESS not in present:
        out.append((SNMP_TRAP_ADDRESS, "IpAddress", pdu.agent_addr or "0.0.0.0"))  # noqa: S104 - a value
    if SNMP_TRAP_ENTERPRISE not in present:
        out.append((SNMP_TRAP_ENTERPRISE, "OID", enterprise))
    return out


def _printable(raw: bytes) -> str | None:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if all(c.isprintable() or c in "\t\r\n" for c in text):
        return text
    return None


def format_value(type_name: str, value: Any) -> str:
    """A varbind value as text: strings as UTF-8 when printable, else ``0x`` hex."""
    if type_name in EXCEPTION_TYPES or value is None:
        return type_name if type_name in EXCEPTION_TYPES else ""
    if isinstance(value, bytes | bytearray):
        text = _printable(bytes(value))
        return text if text is not None else "0x" + bytes(value).hex()
    return str(value)


def build_trap(
    varbinds: list[RawVarBind],
    *,
    names: OidNames,
    source: str,
    version: Version,
    device: str | None = None,
    security_name: str | None = None,
    inform: bool = False,
    ts: float | None = None,
) -> Trap:
    """One Trap record from a v2-form varbind list.

    sysUpTime.0 and snmpTrapOID.0 become fields (wherever they sit in the list;
    a notification without snmpTrapOID.0 is malformed: ValueError).
    """
    uptime: int | None = None
    trap_oid: str | None = None
    kept: list[VarBind] = []
    for oid, type_name, value in varbinds:
        if oid == SYS_UPTIME and uptime is None and isinstance(value, int):
            uptime = value
        elif oid == SNMP_TRAP_OID and trap_oid is None and type_name == "OID":
            trap_oid = str(value)
        else:
            kept.append(VarBind(oid, names.name(oid), type_name, format_value(type_name, value)))
    if not trap_oid:
        raise ValueError("notification without snmpTrapOID.0")
    return Trap(
        ts=time.time() if ts is None else ts,
        source=source,
        device=device,
        version=version,
        security_name=security_name,
        inform=inform,
        trap_oid=trap_oid,
        trap_name=names.name(trap_oid),
        uptime=uptime,
        varbinds=kept,
    )

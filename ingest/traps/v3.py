"""SNMPv3 notifications through pysnmp's engine, fed from the receiver's own socket.

Why this shape: USM (keys, digests, privacy, engine discovery for informs) is
exactly what pysnmp does well and is not worth re-writing; v1/v2c are not,
and stay on the fast BER path. So there is one UDP socket (the receiver's);
v3 datagrams are handed to pysnmp through a transport object that never opens
a socket of its own but answers (Reports, inform Responses) through ours.

pysnmp drops a v3 message it cannot authenticate without telling anyone. The
bridge processes each datagram synchronously, sees whether a notification came
out, and if not reads which USM statistic moved (unknown user or engine id,
wrong digest, decryption error, ...) to count the refusal with its reason.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from pyasn1.type import univ
from pysnmp.carrier.asyncio.dgram import udp
from pysnmp.entity import config, engine
from pysnmp.proto import rfc1902, rfc1905, rfc3411
from pysnmp.proto.api import v2c

from ingest.traps.auth import V3User
from ingest.traps.convert import RawVarBind

__all__ = ["Notification", "V3Bridge", "pyasn1_varbind"]

log = logging.getLogger(__name__)

_AUTH = {
    None: config.USM_AUTH_NONE,
    "MD5": config.USM_AUTH_HMAC96_MD5,
    "SHA": config.USM_AUTH_HMAC96_SHA,
    "SHA224": config.USM_AUTH_HMAC128_SHA224,
    "SHA256": config.USM_AUTH_HMAC192_SHA256,
    "SHA384": config.USM_AUTH_HMAC256_SHA384,
    "SHA512": config.USM_AUTH_HMAC384_SHA512,
}
_PRIV = {
    None: config.USM_PRIV_NONE,
    "DES": config.USM_PRIV_CBC56_DES,
    "AES": config.USM_PRIV_CFB128_AES,
    "AES128": config.USM_PRIV_CFB128_AES,
    "AES192": config.USM_PRIV_CFB192_AES,
    "AES256": config.USM_PRIV_CFB256_AES,
}
# USM statistic -> reason a v3 message was refused (None: a protocol exchange, not a refusal).
_USM_STATS: dict[str, str | None] = {
    "usmStatsUnknownUserNames": "unknown_user",
    "usmStatsWrongDigests": "wrong_digest",
    "usmStatsDecryptionErrors": "decryption_error",
    "usmStatsUnsupportedSecLevels": "unsupported_level",
    "usmStatsUnknownEngineIDs": None,  # discovery probe (an inform sender learning our engine id)
    "usmStatsNotInTimeWindows": None,  # time synchronisation
}

# (varbinds, source "ip:port", security name, respond-or-None)
Notification = tuple[list[RawVarBind], str, str, "Callable[[], None] | None"]


def pyasn1_varbind(oid: Any, value: Any) -> RawVarBind:
    """A pysnmp varbind in the (oid, BER type name, value) form of ingest.snmp.ber."""
    name = str(oid)
    if isinstance(value, univ.ObjectIdentifier):
        return name, "OID", str(value)
    if isinstance(value, rfc1902.IpAddress):
        return name, "IpAddress", ".".join(map(str, value.asNumbers()))
    if isinstance(value, rfc1902.Opaque):
        return name, "Opaque", bytes(value.asOctets())
    if isinstance(value, rfc1902.OctetString):
        return name, "OCTET STRING", bytes(value.asOctets())
    for cls, type_name in (
        (rfc1902.Counter32, "Counter32"),
        (rfc1902.Counter64, "Counter64"),
        (rfc1902.TimeTicks, "TimeTicks"),
        (rfc1902.Gauge32, "Gauge32"),
        (rfc1902.Unsigned32, "Gauge32"),
        (rfc1902.Integer32, "INTEGER"),
    ):
        if isinstance(value, cls):
            return name, type_name, int(value)
    for cls, type_name in (
        (rfc1905.NoSuchObject, "noSuchObject"),
        (rfc1905.NoSuchInstance, "noSuchInstance"),
        (rfc1905.EndOfMibView, "endOfMibView"),
    ):
        if isinstance(value, cls):
            return name, type_name, None
    if isinstance(value, univ.Integer):
        return name, "INTEGER", int(value)
    if isinstance(value, univ.OctetString):
        return name, "OCTET STRING", bytes(value.asOctets())
    return name, "NULL", None


class V3Bridge:
    """pysnmp engine with the configured users, processing datagrams we give it."""

    def __init__(self, users: list[V3User], on_notification: Callable[[Notification], None]) -> None:
        self._on_notification = on_notification
        self.engine = engine.SnmpEngine()
        for user in users:
            kwargs: dict[str, Any] = {
                "authProtocol": _AUTH[user.auth_proto],
                "authKey": user.auth_key,
                "privProtocol": _PRIV[user.priv_proto],
                "privKey": user.priv_key,
            }
            # Traps are keyed by the sender's engine id; informs by ours (the
            # sender localises its keys to the engine id it discovers here).
            config.add_v3_user(
                self.engine, user.user, securityEngineId=v2c.OctetString(user.engine_id), **kwargs
            )
            config.add_v3_user(self.engine, user.user, **kwargs)
        self._transport = udp.UdpAsyncioTransport(loop=asyncio.get_running_loop())
        config.add_transport(self.engine, udp.DOMAIN_NAME, self._transport)
        self.engine.message_dispatcher.register_context_engine_id(
            b"",
            (v2c.SNMPv2TrapPDU.tagSet, v2c.InformRequestPDU.tagSet),
            self._process_pdu,
        )
        mib = self.engine.get_mib_builder()
        self._stats = {name: mib.import_symbols("__SNMP-USER-BASED-SM-MIB", name)[0] for name in _USM_STATS}
        self._delivered = False
        self.engine_id: bytes = bytes(self.engine.snmpEngineID.asOctets())

    def attach(self, transport: asyncio.DatagramTransport) -> None:
        """Answer (Reports, inform Responses) through the receiver's socket."""
        self._transport.connection_made(transport)

    def close(self) -> None:
        self._transport.transport = None  # the socket is the receiver's: do not close it here
        self.engine.close_dispatcher()

    def process(self, data: bytes, addr: tuple[str, int]) -> str | None:
        """Feed one v3 datagram; None when a notification came out, else why not.

        Returns ``refused:<reason>`` or ``protocol:<kind>`` (discovery, time sync).
        """
        before = {name: int(obj.syntax) for name, obj in self._stats.items()}
        self._delivered = False
        callback = self._transport._callback_function
        if callback is None:
            return "refused:not_ready"
        try:
            callback(self._transport, udp.UdpTransportAddress(addr), data)
        except Exception as exc:  # pysnmp must never stop the receiver
            log.debug("pysnmp rejected a v3 datagram from %s: %r", addr[0], exc, exc_info=True)
            return "malformed"
        if self._delivered:
            return None
        for name, obj in self._stats.items():
            if int(obj.syntax) != before[name]:
                reason = _USM_STATS[name]
                if reason is None:
                    return f"protocol:{'discovery' if 'EngineID' in name else 'time_sync'}"
                return f"refused:{reason}"
        return "refused:undelivered"

    def _process_pdu(
        self,
        snmp_engine: Any,
        mp_model: Any,
        security_model: Any,
        security_name: Any,
        security_level: Any,
        context_engine_id: Any,
        context_name: Any,
        pdu_version: Any,
        pdu: Any,
        max_size: Any,
        state_reference: Any,
    ) -> None:
        self._delivered = True
        _, address = snmp_engine.message_dispatcher.get_transport_info(state_reference)
        source = f"{address[0]}:{address[1]}"
        varbinds = [pyasn1_varbind(o, v) for o, v in v2c.apiPDU.get_varbinds(pdu)]
        respond: Callable[[], None] | None = None
        if pdu.tagSet in rfc3411.CONFIRMED_CLASS_PDUS:
            response = v2c.apiPDU.get_response(pdu)
            v2c.apiPDU.set_error_status(response, 0)
            v2c.apiPDU.set_error_index(response, 0)
            v2c.apiPDU.set_varbinds(response, v2c.apiPDU.get_varbinds(pdu))

            def respond() -> None:
                snmp_engine.message_dispatcher.return_response_pdu(
                    snmp_engine,
                    mp_model,
                    security_model,
                    security_name,
                    security_level,
                    context_engine_id,
                    context_name,
                    pdu_version,
                    response,
                    max_size,
                    state_reference,
                    {},
                )

        self._on_notification((varbinds, source, str(security_name), respond))

"""One syslog datagram or frame -> one :class:`SyslogMessage`, never an exception.

A pure function (no I/O, no clock: the receive time is an argument), so the
whole dialect zoo is tested against recorded vendor lines with golden files.

Order of attempts: ``<PRI>1 `` means RFC 5424; otherwise Cisco's
``%FAC-SEV-MNEMONIC`` tag, Fortinet-style key=value, then BSD/RFC 3164 (which
also recognises Juniper's ``ERRMSG_TAG:``). Anything left is a ``raw`` message
that keeps its whole text, plus facility and severity when the PRI was valid.

Bytes are decoded as UTF-8; invalid sequences become U+FFFD in ``message``
while ``raw`` keeps them as ``\\xNN`` escapes so the original bytes can be
recovered.
"""

from __future__ import annotations

from typing import Literal

from ingest.syslog.legacy import Format, Legacy, parse_bsd, parse_cisco, parse_kv
from ingest.syslog.rfc5424 import parse_5424
from netvigil.records import SyslogMessage

__all__ = ["MAX_MESSAGE", "decode", "parse", "split_pri"]

MAX_MESSAGE = 65536  # bytes kept of one message; the rest is cut and marked
_TRIM = "\r\n\x00"


def decode(data: bytes) -> tuple[str, str]:
    """(text for parsing, raw text); they differ only for invalid UTF-8."""
    try:
        text = data.decode()
    except UnicodeDecodeError:
        return data.decode(errors="replace"), data.decode(errors="backslashreplace")
    return text, text


def split_pri(text: str) -> tuple[int | None, str]:
    """``<PRI>`` -> (pri, rest); (None, text) when absent or out of range (0..191)."""
    if not text.startswith("<"):
        return None, text
    end = text.find(">", 1, 5)
    if end < 2:
        return None, text
    digits = text[1:end]
    if not digits.isdigit() or (len(digits) > 1 and digits[0] == "0"):
        return None, text
    pri = int(digits)
    if pri > 191:
        return None, text
    return pri, text[end + 1 :]


def parse(
    data: bytes,
    *,
    received: float,
    source: str,
    transport: Literal["udp", "tcp"] = "udp",
    device: str | None = None,
) -> SyslogMessage:
    """Parse one message; ``source`` is the sender's address, ``received`` the epoch now."""
    truncated = len(data) > MAX_MESSAGE
    if truncated:
        data = data[:MAX_MESSAGE]
    text, raw = decode(data)
    if text is raw:
        text = raw = text.rstrip(_TRIM)
    else:
        text, raw = text.rstrip(_TRIM), raw.rstrip(_TRIM)
    pri, body = split_pri(text)
    facility = None if pri is None else pri >> 3
    severity = None if pri is None else pri & 7
    fmt: Format = "raw"
    sd: dict[str, dict[str, str]] = {}
    ts = host = app = procid = msgid = None
    message = body
    r = parse_5424(body[2:]) if pri is not None and body.startswith("1 ") else None
    if r is not None:
        fmt = "juniper" if any("@2636" in k for k in r.structured_data) else "rfc5424"
        ts, host, app, procid, msgid, sd, message = r
    else:
        leg: Legacy | None = None
        if "%" in body:
            leg = parse_cisco(body, received)
        if leg is None and "=" in body:
            leg = parse_kv(body)
        if leg is None:
            leg = parse_bsd(body, received)
        if leg is not None:
            fmt, ts, host, app, procid, msgid, sd, message, text_sev = leg
            if severity is None:
                severity = text_sev
    if truncated:
        sd.setdefault("netvigil", {})["truncated"] = str(MAX_MESSAGE)
    return SyslogMessage(
        ts=received,
        source=source,
        device=device,
        transport=transport,
        format=fmt,
        facility=facility,
        severity=severity,
        timestamp=ts,
        hostname=host,
        app=app,
        procid=procid,
        msgid=msgid,
        structured_data=sd,
        message=message,
        raw=raw,
    )

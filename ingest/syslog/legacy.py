"""BSD syslog (RFC 3164) and the vendor dialects built on it.

RFC 3164 describes what was seen on the wire rather than a grammar, so each
dialect gets a pattern of its own, tried cheapest first:

- Cisco IOS/NX-OS/ASA: ``[seq:] [host:] [*|.]stamp [TZ]: %FAC-SEV-MNEMONIC: text``.
  ``*`` or ``.`` before the stamp means the clock is not synchronised.
- Fortinet and other ``key=value`` senders: ``date=... time=... devname=...``.
- Plain BSD/rsyslog: ``stamp [host] tag[pid]: text``, the host being absent in
  lines written to a local socket (``logger`` without ``-n``, journald relays).
- Juniper: a BSD line whose text starts with an ``ERRMSG_TAG:`` (``UI_COMMIT:``).

Every function returns None when its dialect does not match, so the caller
can fall through to the next one and finally keep the line raw.
"""

from __future__ import annotations

import re
from typing import Literal, NamedTuple

from ingest.syslog.timestamps import TS_ANY, iso_to_epoch, match_to_epoch

__all__ = ["Format", "Legacy", "parse_bsd", "parse_cisco", "parse_kv"]

Format = Literal["rfc5424", "rfc3164", "cisco", "juniper", "raw"]  # SyslogMessage.format


class Legacy(NamedTuple):
    format: Format
    timestamp: float | None
    hostname: str | None
    app: str | None
    procid: str | None
    msgid: str | None
    structured_data: dict[str, dict[str, str]]
    message: str
    severity: int | None = None  # from the text (Cisco), used when there is no PRI


_BSD = re.compile(
    rf"(?:{TS_ANY}):? "
    r"(?:(?P<host>[^\s\[\]:]+) )?"
    r"(?P<tag>[^\s\[\]:]{1,64})(?:\[(?P<pid>[^\]\s]{0,128})\])?: ?(?P<msg>.*)",
    re.S,
)
_BSD_NOTAG = re.compile(rf"(?:{TS_ANY}):? (?P<host>[^\s:]+)(?: (?P<msg>.*))?\Z", re.S)
_JUNIPER_TAG = re.compile(r"([A-Z][A-Z0-9]*_[A-Z0-9_]+): ?")

_CISCO_TAG = re.compile(
    r"(?:^|(?<=[\s:]))%(?P<fac>[A-Z][A-Z0-9_]*(?:-[A-Z][A-Z0-9_]*)*)-(?P<sev>[0-7])-(?P<mn>[A-Z0-9_]+)\s?:\s?"
)
_CISCO_SEQ = re.compile(r"(\d+): ?")
_CISCO_TS = re.compile(rf"(?P<unsync>[*.])?{TS_ANY}(?: (?P<tz>[A-Z]{{1,5}}))?:? ?")
_XR_NODE = re.compile(r"(?:RP|RSP|LC|\d+)/\d+/")  # IOS XR node id: RP/0/RSP0/CPU0
_CISCO_ENTERPRISE = "cisco@9"

_KV = re.compile(r'([A-Za-z_][\w.-]*)=("(?:[^"\\]|\\.)*"|\S*)')
_FORTINET = "fortinet@12356"


def parse_bsd(body: str, received: float) -> Legacy | None:
    """``stamp [host] tag[pid]: text`` (Juniper when the text starts with a tag)."""
    m = _BSD.match(body)
    if m is None:
        n = _BSD_NOTAG.match(body)
        if n is None:
            return None
        ts = match_to_epoch(n, received)
        if ts is None:
            return None
        return Legacy("rfc3164", ts, n.group("host"), None, None, None, {}, n.group("msg") or "")
    ts = match_to_epoch(m, received)
    if ts is None:
        return None
    host, tag, pid, msg = m.group("host", "tag", "pid", "msg")
    j = _JUNIPER_TAG.match(msg)
    if j is not None:
        return Legacy("juniper", ts, host, tag, pid, j.group(1), {}, msg[j.end() :])
    return Legacy("rfc3164", ts, host, tag, pid, None, {}, msg)


def parse_cisco(body: str, received: float) -> Legacy | None:
    """A line carrying ``%FAC-SEV-MNEMONIC:``; the prefix holds seq, host and stamp in any order."""
    m = _CISCO_TAG.search(body, 0, 200)
    if m is None:
        return None
    prefix = body[: m.start()]
    sd: dict[str, str] = {}
    ts: float | None = None
    host: str | None = None
    app: str | None = None
    procid: str | None = None
    pos = 0
    n = len(prefix)
    while pos < n:
        if prefix[pos] in " :":
            pos += 1
            continue
        seq = _CISCO_SEQ.match(prefix, pos)
        if seq is not None and "seq" not in sd:
            sd["seq"] = seq.group(1)
            pos = seq.end()
            continue
        tsm = _CISCO_TS.match(prefix, pos)
        if tsm is not None:  # a relay may prepend its own stamp: the device's, nearest the tag, wins
            ts = match_to_epoch(tsm, received, tsm.group("tz"))
            if tsm.group("unsync"):
                sd["clock"] = "unsynchronized"
            pos = tsm.end()
            continue
        end = prefix.find(" ", pos)
        end = n if end < 0 else end
        token = prefix[pos:end].rstrip(":")
        pos = end
        if "[" in token and token.endswith("]"):  # IOS XR process: ifmgr[123]
            app, _, pid = token[:-1].partition("[")
            procid = pid or None
        elif _XR_NODE.match(token):
            sd["node"] = token
        elif token and host is None:
            host = token
        elif token:
            sd["node"] = token
    fac, sev, mnemonic = m.group("fac"), int(m.group("sev")), m.group("mn")
    sd["facility"] = fac
    return Legacy(
        "cisco",
        ts,
        host,
        app or fac,
        procid,
        f"{fac}-{sev}-{mnemonic}",
        {_CISCO_ENTERPRISE: sd},
        body[m.end() :],
        sev,
    )


def parse_kv(body: str) -> Legacy | None:
    """Fortinet-style ``key=value`` lines (``date= time= devname= logid=``)."""
    if not (body.startswith(("date=", "logver=", "timestamp=")) or " devname=" in body):
        return None
    pairs = {k: (v[1:-1].replace('\\"', '"') if v.startswith('"') else v) for k, v in _KV.findall(body)}
    if "devname" not in pairs and "logid" not in pairs:
        return None
    ts: float | None = None
    if "eventtime" in pairs and pairs["eventtime"].isdigit():
        raw = int(pairs["eventtime"])  # seconds, or ns since FortiOS 6.2
        ts = raw / 1e9 if raw > 10**12 else float(raw)
    elif "date" in pairs and "time" in pairs:
        tz = pairs.get("tz", "")
        off = tz[:3] + ":" + tz[3:] if len(tz) == 5 and tz[0] in "+-" else "Z"
        ts = iso_to_epoch(f"{pairs['date']}T{pairs['time']}{off}")
    msg = pairs.get("msg") or pairs.get("logdesc") or body  # traffic logs have no text: keep the line
    return Legacy(
        "rfc3164",
        ts,
        pairs.get("devname"),
        pairs.get("type"),
        None,
        pairs.get("logid"),
        {_FORTINET: pairs},
        msg,
    )

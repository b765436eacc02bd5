"""RFC 5424 header and STRUCTURED-DATA parsing.

The header is split with one regex (the fast path); STRUCTURED-DATA needs a
small scanner because PARAM-VALUEs may contain escaped ``\\"``, ``\\\\`` and
``\\]`` and spaces. NILVALUE (``-``) becomes None; a UTF-8 BOM at the start of
MSG is removed (RFC 5424 section 6.4 says it marks MSG as UTF-8).
"""

from __future__ import annotations

import re
from typing import NamedTuple

from ingest.syslog.timestamps import iso_to_epoch

__all__ = ["Rfc5424", "parse_5424", "parse_sd"]

# After "<PRI>1 ": TIMESTAMP HOSTNAME APP-NAME PROCID MSGID, then SD and MSG.
_HEADER = re.compile(r"(\S+) (\S+) (\S+) (\S+) (\S+)(?: |\Z)")
_BOM = "\ufeff"


class Rfc5424(NamedTuple):
    timestamp: float | None
    hostname: str | None
    app: str | None
    procid: str | None
    msgid: str | None
    structured_data: dict[str, dict[str, str]]
    message: str


def _nil(value: str) -> str | None:
    return None if value == "-" else value


def parse_sd(text: str, pos: int = 0) -> tuple[dict[str, dict[str, str]], int] | None:
    """Parse SD-ELEMENTs starting at ``pos``; return (data, end) or None if malformed.

    Repeated SD-IDs are merged; a repeated PARAM-NAME keeps every value joined
    by a newline (RFC 5424 allows repetition; a dict cannot hold it otherwise).
    """
    out: dict[str, dict[str, str]] = {}
    n = len(text)
    while pos < n and text[pos] == "[":
        end_id = pos + 1
        while end_id < n and text[end_id] not in " ]":
            end_id += 1
        sd_id = text[pos + 1 : end_id]
        if not sd_id or end_id >= n or '"' in sd_id or "=" in sd_id:
            return None
        params = out.setdefault(sd_id, {})
        pos = end_id
        while True:
            if pos >= n:
                return None
            if text[pos] == "]":
                pos += 1
                break
            if text[pos] != " ":
                return None
            eq = text.find('="', pos + 1)
            if eq < 0:
                return None
            name = text[pos + 1 : eq]
            if not name or any(c in name for c in ' ]"'):
                return None
            value, pos = _sd_value(text, eq + 2)
            if pos < 0:
                return None
            params[name] = f"{params[name]}\n{value}" if name in params else value
    return out, pos


def _sd_value(text: str, pos: int) -> tuple[str, int]:
    """Scan a PARAM-VALUE after its opening quote; return (value, index after closing quote)."""
    close = text.find('"', pos)
    if close < 0:
        return "", -1
    chunk = text[pos:close]
    if "\\" not in chunk:  # fast path: no escapes at all
        return chunk, close + 1
    parts: list[str] = []
    i = pos
    n = len(text)
    while i < n:
        c = text[i]
        if c == "\\" and i + 1 < n:
            nxt = text[i + 1]
            # Only \" \\ \] are escapes; any other backslash is kept as is.
            parts.append(nxt if nxt in '"\\]' else c + nxt)
            i += 2
            continue
        if c == '"':
            return "".join(parts), i + 1
        parts.append(c)
        i += 1
    return "", -1


def parse_5424(body: str) -> Rfc5424 | None:
    """Parse what follows ``<PRI>1 ``; None when it is not valid RFC 5424."""
    m = _HEADER.match(body)
    if m is None:
        return None
    ts_s, host, app, procid, msgid = m.groups()
    if ts_s == "-":
        ts: float | None = None
    else:
        ts = iso_to_epoch(ts_s)
        if ts is None:
            return None
    rest = body[m.end() :]
    if rest.startswith("-"):
        sd: dict[str, dict[str, str]] = {}
        pos = 1
    elif rest.startswith("["):
        parsed = parse_sd(rest)
        if parsed is None:
            return None
        sd, pos = parsed
    elif not rest:
        sd, pos = {}, 0
    else:
        return None
    if pos < len(rest):
        if rest[pos] != " ":
            return None
        pos += 1
    msg = rest[pos:]
    if msg.startswith(_BOM):
        msg = msg[1:]
    return Rfc5424(ts, _nil(host), _nil(app), _nil(procid), _nil(msgid), sd, msg)

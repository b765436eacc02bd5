"""Syslog timestamps to epoch seconds, including RFC 3164's missing year.

Why a module of its own: every format carries a different clock notation
(RFC 3339 in RFC 5424; ``Mmm dd hh:mm:ss`` in RFC 3164, often with a year,
fractions or a zone name bolted on by vendors; ``YYYY Mmm dd`` on NX-OS), and
all of them must become one float so downstream windows can compare them.

RFC 3164 stamps carry neither year nor zone. The zone is taken as UTC (the
usual practice for network gear, and what the receiver documents); the year is
inferred from the receive time: the year that puts the stamp nearest to the
moment of reception, allowing a month of clock skew into the future (a
``Dec 31 23:59:59`` line received on 1 January belongs to the previous year).
"""

from __future__ import annotations

import re
from datetime import date

__all__ = ["TS_ANY", "iso_to_epoch", "match_to_epoch", "month_day_to_epoch"]

MONTHS = {
    m: i
    for i, m in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1
    )
}
_MON = "Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec"
_EPOCH_ORD = date(1970, 1, 1).toordinal()
_FUTURE_SKEW = 31 * 86400.0

# Zone names vendors print after the time; anything else is taken as UTC.
_ZONES = {"UTC": 0, "GMT": 0, "Z": 0, "CET": 3600, "CEST": 7200, "EST": -18000, "EDT": -14400}

# One pattern for every stamp we accept at the head of a 3164-style header.
# Groups: ts (the whole stamp): iso (RFC 3339), or [nyear (NX-OS)] mon day [year] hh:mi:ss[.frac] [tyear].
TS_ANY = (
    r"(?P<ts>(?P<iso>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?(?:Z|[+-]\d\d:?\d\d)?)"
    rf"|(?:(?P<nyear>\d{{4}}) )?(?P<mon>{_MON}) {{1,2}}(?P<day>\d{{1,2}})(?: (?P<year>\d{{4}}))?"
    r" (?P<hh>\d\d):(?P<mi>\d\d):(?P<ss>\d\d)(?:\.(?P<frac>\d{1,9}))?(?: (?P<tyear>\d{4})(?= ))?)"
)
_ISO = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?(?:(Z)|([+-])(\d\d):?(\d\d))?\Z"
)


def _civil(y: int, mo: int, d: int) -> float | None:
    try:
        return float((date(y, mo, d).toordinal() - _EPOCH_ORD) * 86400)
    except ValueError:
        return None


def iso_to_epoch(text: str) -> float | None:
    """RFC 3339 (the RFC 5424 TIMESTAMP) -> epoch; None when malformed. No zone: UTC."""
    m = _ISO.match(text)
    if m is None:
        return None
    y, mo, d, hh, mi, ss, frac, _z, sign, oh, om = m.groups()
    day = _civil(int(y), int(mo), int(d))
    if day is None or int(hh) > 23 or int(mi) > 59 or int(ss) > 60:
        return None
    t = day + int(hh) * 3600 + int(mi) * 60 + int(ss)
    if frac:
        t += int(frac) / 10 ** len(frac)
    if sign:
        off = int(oh) * 3600 + int(om) * 60
        t -= off if sign == "+" else -off
    return t


def month_day_to_epoch(
    mon: int, day: int, hh: int, mi: int, ss: int, frac: str | None, year: int | None, received: float
) -> float | None:
    """A month/day stamp, with the year inferred from ``received`` when absent."""
    if hh > 23 or mi > 59 or ss > 60:
        return None
    secs = hh * 3600 + mi * 60 + ss + (int(frac) / 10 ** len(frac) if frac else 0.0)
    if year is not None:
        base = _civil(year, mon, day)
        return None if base is None else base + secs
    now_year = 1970 + int(received // 31556952)  # close; corrected below
    # Latest year not more than the allowed skew ahead; back 4 years because Feb 29 needs a leap year.
    for y in range(now_year + 1, now_year - 5, -1):
        base = _civil(y, mon, day)
        if base is not None and base + secs <= received + _FUTURE_SKEW:
            return base + secs
    return None


# Stamps repeat (one per second per sender at most): cache text -> epoch. The receive
# day is part of the key because the inferred year depends on it. Cleared when full.
_CACHE: dict[tuple[str, str | None, int], float | None] = {}
_CACHE_MAX = 8192


def match_to_epoch(m: re.Match[str], received: float, tz: str | None = None) -> float | None:
    """Epoch for a match of :data:`TS_ANY`; ``tz`` is a zone name printed after the time."""
    key = (m.group("ts"), tz, int(received // 86400))
    try:
        return _CACHE[key]
    except KeyError:
        pass
    if len(_CACHE) >= _CACHE_MAX:
        _CACHE.clear()
    t = _CACHE[key] = _match_to_epoch(m, received, tz)
    return t


def _match_to_epoch(m: re.Match[str], received: float, tz: str | None) -> float | None:
    iso = m.group("iso")
    if iso is not None:
        return iso_to_epoch(iso)
    year_s = m.group("year") or m.group("nyear") or m.group("tyear")
    t = month_day_to_epoch(
        MONTHS[m.group("mon")],
        int(m.group("day")),
        int(m.group("hh")),
        int(m.group("mi")),
        int(m.group("ss")),
        m.group("frac"),
        int(year_s) if year_s else None,
        received,
    )
    if t is not None and tz:
        t -= _ZONES.get(tz, 0)
    return t

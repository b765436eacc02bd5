"""Which inventory device sent a message: by sender address, then by the hostname it claims.

The address wins because it cannot be forged by the message text (on UDP it
can be spoofed, but no more easily than the hostname). The hostname is the
fallback for relayed messages (an rsyslog relay sends everyone's lines from
its own address), matched to a device name, its short form, or an address.

The inventory is reloaded from PostgreSQL periodically; a database outage
keeps the last known index and is logged, never fatal.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable

from netvigil.inventory import AddressIndex, Device
from netvigil.settings import Settings

__all__ = ["DeviceMatcher", "refresh", "reload_forever"]

log = logging.getLogger(__name__)


class DeviceMatcher:
    def __init__(self, devices: Iterable[Device] = ()) -> None:
        self._index = AddressIndex()
        self._names: dict[str, str] = {}
        self._by_source: dict[str, str | None] = {}
        self.missed = False  # an unknown sender was seen since the last reload
        self.update(devices)

    def update(self, devices: Iterable[Device]) -> None:
        devices = list(devices)
        self._index.update(devices)
        names: dict[str, str] = {}
        for d in devices:
            names[d.name.lower()] = d.name
            names.setdefault(d.address.lower(), d.name)
        self._names = names
        self._by_source = {}
        self.missed = False
        self.size = len(devices)

    def match(self, source: str, hostname: str | None) -> str | None:
        """Device name for a sender address (cached) or, failing that, a hostname."""
        try:
            found = self._by_source[source]
        except KeyError:
            found = self._by_source[source] = self._index.match(source)
            if found is None:
                self.missed = True
            if len(self._by_source) > 100_000:  # a spoofing flood must not grow memory forever
                self._by_source.clear()
        if found is not None or not hostname:
            return found
        h = hostname.lower()
        return self._names.get(h) or self._names.get(h.split(".", 1)[0])


def _load(settings: Settings) -> list[Device]:
    """Names and addresses only, through the read-only role: a receiver never needs credentials."""
    from netvigil.db import connect

    with connect(settings, readonly=True) as conn:
        rows = conn.execute("SELECT name, address FROM devices").fetchall()
    return [Device(name=name, address=address) for name, address in rows]


async def refresh(settings: Settings, matcher: DeviceMatcher) -> bool:
    """Reload ``matcher`` once; False (logged) when the database is unavailable."""
    try:
        devices = await asyncio.to_thread(_load, settings)
    except Exception as exc:  # a DB outage must not stop the receiver
        log.warning("inventory reload failed, keeping %d known devices: %s", matcher.size, exc)
        return False
    matcher.update(devices)
    log.debug("inventory reloaded: %d devices", len(devices))
    return True


async def reload_forever(
    settings: Settings, matcher: DeviceMatcher, stop: asyncio.Event, every: float = 60.0, soon: float = 5.0
) -> None:
    """Refresh ``matcher`` every ``every`` seconds, or after ``soon`` when an unknown sender appeared.

    A device added to the inventory is then matched within seconds of its
    first message, without hammering the database: at most one reload per
    ``soon`` seconds whatever the traffic.
    """
    loop = asyncio.get_running_loop()
    last = loop.time()
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=min(soon, every))
        now = loop.time()
        if not stop.is_set() and (now - last >= every or (matcher.missed and now - last >= soon)):
            await refresh(settings, matcher)
            last = loop.time()

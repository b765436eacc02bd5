"""Alert changes to Redis: pub/sub for live views, a hash of the active alerts.

Channel ``netvigil:alerts`` carries every changed :class:`Alert` as JSON; hash
``netvigil:alerts:active`` maps key -> JSON of every alert not resolved.
Redis being down is survived: the failure is counted and logged once per
outage, and when Redis answers again the hash is rebuilt from the engine's
state (the pub/sub messages missed meanwhile are gone by design: live views
re-read the hash on reconnect).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

import msgspec
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from netvigil.records import Alert
from streams.monitoring import REDIS_ERRORS

__all__ = ["ACTIVE_HASH", "CHANNEL", "LiveAlerts"]

log = logging.getLogger(__name__)

CHANNEL = "netvigil:alerts"
ACTIVE_HASH = "netvigil:alerts:active"
_enc = msgspec.json.Encoder()


class LiveAlerts:
    def __init__(self, url: str) -> None:
        self._redis = aioredis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self.healthy = True
        self.needs_resync = True
        self._resolved_meanwhile: set[str] = set()

    async def close(self) -> None:
        await self._redis.aclose()

    async def publish(self, alerts: Sequence[Alert], active: Iterable[Alert]) -> bool:
        """Publish changes; on the first success after an outage, rebuild the hash."""
        try:
            if self.needs_resync:
                await self._resync(list(active))
            if alerts:
                pipe = self._redis.pipeline(transaction=False)
                for a in alerts:
                    body = _enc.encode(a)
                    if a.state == "resolved":
                        pipe.hdel(ACTIVE_HASH, a.key)
                    else:
                        pipe.hset(ACTIVE_HASH, a.key, body)
                    pipe.publish(CHANNEL, body)
                await pipe.execute()
        except (RedisError, OSError) as exc:
            REDIS_ERRORS.inc()
            if self.healthy:
                log.error("redis unavailable, live alert state paused: %s", exc)
            self.healthy = False
            self.needs_resync = True
            self._resolved_meanwhile.update(a.key for a in alerts if a.state == "resolved")
            return False
        if not self.healthy:
            log.info("redis back, live alert state rebuilt")
        self.healthy = True
        return True

    async def _resync(self, active: list[Alert]) -> None:
        """Rewrite this worker's active alerts; drop those that resolved while Redis was away.

        Only keys this worker knows about are touched: other workers and the
        anomaly tier own the rest of the hash.
        """
        keep = {a.key for a in active}
        pipe = self._redis.pipeline(transaction=False)
        gone = [k for k in self._resolved_meanwhile if k not in keep]
        if gone:
            pipe.hdel(ACTIVE_HASH, *gone)
        for a in active:
            pipe.hset(ACTIVE_HASH, a.key, _enc.encode(a))
        await pipe.execute()
        self._resolved_meanwhile.clear()
        self.needs_resync = False

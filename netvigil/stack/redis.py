"""A project-owned Redis server (Debian's redis-server) on its own port and directory.

Redis holds only live state that the pipeline can rebuild (latest values,
device status, active alerts), so append-only persistence with fsync every
second is enough: a crash loses at most a second of live state, never data.
"""

from __future__ import annotations

import shutil
import time

import redis

from netvigil.stack.base import Service, StackError, apt_install

__all__ = ["RedisService"]


class RedisService(Service):
    name = "redis"
    start_timeout = 30.0

    @property
    def port(self) -> int:
        return self.settings.stack.redis_port

    def install(self) -> None:
        apt_install(["redis-server"], ["redis-server"])
        self.home.mkdir(parents=True, exist_ok=True)
        (self.home / "redis.conf").write_text(
            f"bind {self.host}\n"
            f"port {self.port}\n"
            "protected-mode yes\n"
            f"dir {self.home}\n"
            "daemonize no\n"
            f"logfile {self.logfile}\n"
            "appendonly yes\n"
            "appendfsync everysec\n"
            'save ""\n'
            "maxmemory-policy noeviction\n"
        )

    def _launch(self) -> int:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        return self.spawn([binary, str(self.home / "redis.conf")])

    def _client(self) -> redis.Redis:
        return redis.Redis(host=self.host, port=self.port, socket_timeout=2, socket_connect_timeout=2)

    def healthy(self) -> bool:
        try:
            return bool(self._client().ping())
        except redis.RedisError:
            return False

    def check(self) -> None:
        token = f"check-{time.time_ns()}"
        try:
            client = redis.Redis.from_url(self.settings.redis.url, socket_timeout=3)
            if not client.ping():
                raise StackError("redis: PING not answered")
            client.set("netvigil:stack-check", token, ex=60)
            if client.get("netvigil:stack-check") != token.encode():
                raise StackError("redis: wrote a key but read back something else")
        except redis.RedisError as exc:
            raise StackError(f"redis: {exc}") from None

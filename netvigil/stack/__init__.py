"""Local services started by `netvigil stack` (development, tests, demo; not production)."""

from __future__ import annotations

from netvigil.settings import Settings
from netvigil.stack.base import Service, ServiceStatus, StackError

__all__ = ["SERVICE_NAMES", "Service", "ServiceStatus", "StackError", "services"]

SERVICE_NAMES = ("postgres", "redis", "kafka")


def services(settings: Settings, names: tuple[str, ...] = SERVICE_NAMES) -> list[Service]:
    """The services in start order (stop in reverse)."""
    from netvigil.stack.kafka import KafkaService
    from netvigil.stack.postgres import PostgresService
    from netvigil.stack.redis import RedisService

    table: dict[str, type[Service]] = {
        "postgres": PostgresService,
        "redis": RedisService,
        "kafka": KafkaService,
    }
    unknown = [n for n in names if n not in table]
    if unknown:
        raise StackError(f"unknown service {', '.join(unknown)}; known: {', '.join(table)}")
    return [table[n](settings) for n in SERVICE_NAMES if n in names]

"""Kafka and PostgreSQL unreachable: the receiver still listens, counts and buffers; nothing crashes."""

from __future__ import annotations

import asyncio
import socket

import msgspec

from ingest.syslog.service import receiver
from netvigil.settings import Settings, load_settings


def _dead_settings() -> Settings:
    s = load_settings()
    c = msgspec.structs.replace(s.collector, syslog_udp_port=0, syslog_tcp_port=0, metrics_port=0)
    k = msgspec.structs.replace(s.kafka, bootstrap="127.0.0.1:9")  # discard port: nothing listens
    p = msgspec.structs.replace(s.postgres, readonly_dsn="postgresql://nobody:x@127.0.0.1:9/none")
    return msgspec.structs.replace(s, collector=c, kafka=k, postgres=p)


async def test_receiver_survives_kafka_and_database_outage() -> None:
    stop = asyncio.Event()
    async with receiver(_dead_settings(), stop) as rx:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.sendto(b"<13>Nov 25 00:00:00 h app: while kafka is down", ("127.0.0.1", rx.udp_port))
        for _ in range(50):
            if rx.stats.errors["kafka_connect"] and rx.stats.pending:
                break
            await asyncio.sleep(0.1)
        assert rx.stats.received["udp"] == 1
        assert rx.stats.pending == 1 and rx.stats.published == 0
        assert rx.stats.errors["kafka_connect"] >= 1
    assert rx.stats.errors["unsent_at_stop"] == 1  # counted, not silently lost

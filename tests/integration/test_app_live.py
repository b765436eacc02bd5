"""Live mode reads the worker's latest-value hashes from the real test Redis."""

from __future__ import annotations

import time
import uuid

import redis

from app_streamlit.live import KEY, latest
from netvigil.settings import Settings


def test_latest_from_redis(pg_stack: Settings) -> None:
    device = f"applive-{uuid.uuid4().hex[:8]}"
    client = redis.Redis.from_url(pg_stack.redis.url)
    key = KEY.format(device=device)
    now = time.time()
    try:
        # The layout streams.live.LiveState writes: "metric|instance" -> repr(value), "_ts" -> epoch.
        client.hset(key, mapping={"cpu_user_pct|": repr(12.5), "if_in_bps|2": repr(1.5e6), "_ts": repr(now)})
        frame = latest(client, device)
        assert dict(zip(frame["metric"] + "|" + frame["instance"], frame["value"], strict=True)) == {
            "cpu_user_pct|": 12.5,
            "if_in_bps|2": 1.5e6,
        }
        assert abs(frame["ts"].iloc[0].timestamp() - now) < 1e-3
        assert latest(client, device + "-none").empty
    finally:
        client.delete(key)
        client.close()


def test_redis_down_is_an_empty_frame() -> None:
    dead = redis.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.5)
    assert latest(dead, "any").empty

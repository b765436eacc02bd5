"""Redis live state: latest values, device status, alerts; survives Redis being down and rebuilds."""

from __future__ import annotations

import asyncio
import shutil
import socket
import uuid

import msgspec
import redis.asyncio as aioredis

from netvigil.records import Alert, Metric, MetricBatch
from netvigil.settings import Settings
from netvigil.stack.redis import RedisService
from streams.live import LiveState


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def alert(key: str, state: str) -> Alert:
    return Alert(
        key=key,
        rule="cpu",
        device="r1",
        severity="major",
        state=state,
        summary="cpu high",
        started=1.0,
        updated=2.0,
    )  # type: ignore[arg-type]


async def test_live_state_writes_latest_status_and_alerts(stack: Settings) -> None:
    prefix = f"test:{uuid.uuid4().hex[:8]}:"
    live = LiveState(stack, prefix=prefix)
    client = aioredis.Redis.from_url(stack.redis.url)
    sub = client.pubsub()
    await sub.subscribe(f"{prefix}alerts")
    try:
        await live.set_latest(
            MetricBatch(device="r1", ts=100.0, metrics=[Metric("if_in_bps", "1", 8.5, "bit/s")])
        )
        await live.set_device_status("r1", "up", 100.0)
        await live.publish_alert(alert("cpu/r1", "open"))
        assert await client.hget(f"{prefix}latest:r1", "if_in_bps|1") == b"8.5"
        assert msgspec.json.decode(await client.hget(f"{prefix}devices", "r1"))["status"] == "up"
        assert await client.hexists(f"{prefix}alerts:active", "cpu/r1")
        await live.publish_alert(alert("cpu/r1", "resolved"))
        assert not await client.hexists(f"{prefix}alerts:active", "cpu/r1")
        states = []
        for _ in range(20):
            msg = await sub.get_message(ignore_subscribe_messages=True, timeout=0.5)
            if msg:
                states.append(msgspec.json.decode(msg["data"])["state"])
            if len(states) == 2:
                break
        assert states == ["open", "resolved"]
    finally:
        await sub.aclose()
        await client.delete(f"{prefix}latest:r1", f"{prefix}devices", f"{prefix}alerts:active")
        await client.aclose()
        await live.close()


async def test_redis_down_is_survived_and_live_state_rebuilt_when_it_returns(stack: Settings) -> None:
    port = free_port()
    s = msgspec.structs.replace(
        stack,
        stack=msgspec.structs.replace(
            stack.stack, home=str(stack.stack_home() / f"redis-live-{uuid.uuid4().hex[:8]}"), redis_port=port
        ),
        redis=msgspec.structs.replace(stack.redis, url=f"redis://127.0.0.1:{port}/0"),
    )
    live = LiveState(s, max_backoff=0.2)
    # Redis is not running: nothing raises, errors are counted
    await live.set_latest(MetricBatch(device="r2", ts=1.0, metrics=[Metric("cpu_load_pct", "", 42.0, "%")]))
    await live.set_device_status("r2", "down", 1.0)
    await live.publish_alert(alert("down/r2", "open"))
    assert live.errors >= 1 and not live.available
    svc = RedisService(s)
    await asyncio.to_thread(svc.start)
    try:
        await asyncio.sleep(0.3)  # past the back-off
        await live.set_device_status("r3", "up", 2.0)  # any call reconnects and rebuilds everything
        assert live.available
        client = aioredis.Redis.from_url(s.redis.url)
        try:
            assert await client.hget("netvigil:latest:r2", "cpu_load_pct|") == b"42.0"
            assert set(await client.hkeys("netvigil:devices")) == {b"r2", b"r3"}
            assert await client.hexists("netvigil:alerts:active", "down/r2")
        finally:
            await client.aclose()
    finally:
        await live.close()
        await asyncio.to_thread(svc.stop)
        shutil.rmtree(s.stack.home, ignore_errors=True)

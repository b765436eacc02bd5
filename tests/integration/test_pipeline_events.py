"""Pings, traps and syslog persisted once; undecodable input dead-lettered with the reason."""

from __future__ import annotations

import asyncio
import time
import uuid

import psycopg
from aiokafka import AIOKafkaConsumer

from netvigil.bus import Publisher
from netvigil.db import connect
from netvigil.kafka_admin import ensure_topics_async
from netvigil.records import DeadLetter, DevicePoll, PingResult, SyslogMessage, Trap, VarBind
from netvigil.settings import Settings
from netvigil.topics import decode, encode
from streams.pipeline import Pipeline
from streams.rows import msg_hash
from streams.testing import drop_topics, isolated


async def test_events_written_once_and_bad_input_dead_lettered(stack: Settings) -> None:
    s = isolated(stack, "events")
    await ensure_topics_async(s)
    dev = f"ev-{uuid.uuid4().hex[:8]}"
    now = time.time()
    ping = PingResult(device=dev, address="127.0.0.1", ts=now, sent=3, received=0, loss_pct=100.0)
    trap = Trap(
        ts=now, source="127.0.0.1:999", device=dev, version="v2c", trap_oid="1.3.6.1.6.3.1.1.5.3",
        trap_name="linkDown", varbinds=[VarBind("1.3.6.1.2.1.2.2.1.1.2", "ifIndex", "Integer", "2")],
    )  # fmt: skip
    syslog = SyslogMessage(ts=now, source="127.0.0.1", device=dev, severity=3, message="link down\x00")
    async with Publisher(s) as pub:
        await pub.send("ping", ping)
        for _ in range(2):  # the same message delivered twice is stored once
            await pub.send_raw("trap", encode(trap), trap.source.encode())
        await pub.send("syslog", syslog)
        await pub.send_raw("poll", b'{"v": 1, "device": ""}', b"x")  # invalid: empty device
        await pub.send_raw("poll", b"\xff not json", b"x")
        bad_clock = DevicePoll(device=dev, address="127.0.0.1", ts=now + 10 * 365 * 86400)
        await pub.send_raw("poll", encode(bad_clock), dev.encode())  # would fail every transaction
        await pub.flush()
    pipe = Pipeline(s)
    await pipe.start()
    stop = False
    task = asyncio.create_task(pipe.run(lambda: stop))
    try:
        for _ in range(100):
            with connect(s) as conn:
                n = conn.execute("SELECT count(*) FROM syslog_messages WHERE device = %s", (dev,)).fetchone()
            if n and n[0]:
                break
            await asyncio.sleep(0.1)
    finally:
        stop = True
        await task
        await pipe.stop()
    with connect(s) as conn:
        pings = conn.execute("SELECT loss_pct FROM ping_results WHERE device = %s", (dev,)).fetchall()
        traps = conn.execute(
            "SELECT msg_hash, trap_name, varbinds FROM traps WHERE device = %s", (dev,)
        ).fetchall()
        logs = conn.execute(
            "SELECT severity, message FROM syslog_messages WHERE device = %s", (dev,)
        ).fetchall()
        status = conn.execute(
            "SELECT m.value FROM metric_samples m JOIN series x ON x.id = m.series_id"
            " WHERE x.device = %s AND x.metric = 'ping_loss_pct'",
            (dev,),
        ).fetchall()
    assert pings == [(100.0,)]
    assert len(traps) == 1 and traps[0][1] == "linkDown" and bytes(traps[0][0]) == msg_hash(encode(trap))
    assert traps[0][2][0]["name"] == "ifIndex"
    assert logs == [(3, "link down")]
    assert status == [(100.0,)]

    consumer = AIOKafkaConsumer(
        s.topic("deadletter"), bootstrap_servers=s.kafka.bootstrap, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        got = await consumer.getmany(timeout_ms=5000)
        letters = [decode("deadletter", m.value) for msgs in got.values() for m in msgs]
    finally:
        await consumer.stop()
        await drop_topics(s)
    assert len(letters) == 3
    assert all(d.origin == "poll" for d in letters)
    assert any("not JSON" in d.reason for d in letters)
    assert any("outside 2000-01-01" in d.reason for d in letters)


async def test_batch_the_database_keeps_refusing_is_dead_lettered_not_retried_forever(
    stack: Settings,
) -> None:
    s = isolated(stack, "refuse")
    await ensure_topics_async(s)
    dev = f"rf-{uuid.uuid4().hex[:8]}"
    async with Publisher(s) as pub:
        for i in range(2):
            await pub.send("poll", DevicePoll(device=dev, address="127.0.0.1", ts=time.time() - 60 + i))
        await pub.flush()
    pipe = Pipeline(s, max_backoff=0.1)

    async def refuse(ws: object) -> dict[str, int]:
        raise psycopg.errors.DataError("value out of range (simulated)")

    pipe.sink.write = refuse  # type: ignore[method-assign,assignment]
    await pipe.start()
    stop = False
    task = asyncio.create_task(pipe.run(lambda: stop))
    consumer = AIOKafkaConsumer(
        s.topic("deadletter"), bootstrap_servers=s.kafka.bootstrap, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        letters: list[DeadLetter] = []
        async with asyncio.timeout(30):
            while len(letters) < 2:
                got = await consumer.getmany(timeout_ms=500)
                letters += [decode("deadletter", m.value) for msgs in got.values() for m in msgs]
        assert all("database refused the batch" in d.reason and d.origin == "poll" for d in letters)
        await asyncio.sleep(0.5)
        assert not task.done()  # moved on, still consuming
    finally:
        stop = True
        await task
        await pipe.stop()
        await consumer.stop()
        await drop_topics(s)

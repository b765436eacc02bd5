"""Kafka -> pipeline -> PostgreSQL: true bits per second through a 32-bit wrap and a reboot.

Runs the pipeline in-process against the test stack's Kafka and PostgreSQL,
on topics with a prefix of its own (so no other test's polls are consumed).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable

import pytest

from netvigil.bus import Publisher
from netvigil.db import connect
from netvigil.kafka_admin import ensure_topics_async
from netvigil.records import DevicePoll, Prop, Sample
from netvigil.settings import Settings
from streams.pipeline import Pipeline
from streams.testing import drop_topics, isolated

M32 = 1 << 32


def poll(device: str, ts: float, uptime: int, inb: int, outb: int) -> DevicePoll:
    return DevicePoll(
        device=device,
        address="127.0.0.1",
        ts=ts,
        sys_uptime=uptime,
        modules=["system", "interfaces"],
        samples=[
            Sample("ifInOctets", "1", inb, "counter32"),
            Sample("ifOutOctets", "1", outb, "counter32"),
            Sample("ifHighSpeed", "1", 100, "gauge"),
            Sample("ifOperStatus", "1", 1, "integer"),
        ],
        props=[Prop("ifName", "1", "eth0"), Prop("sysName", "", device)],
    )


async def run_until(pipe: Pipeline, done: Callable[[], bool], limit_s: float = 30.0) -> None:
    stop = False
    task = asyncio.create_task(pipe.run(lambda: stop))
    try:
        async with asyncio.timeout(limit_s):
            while not done():  # noqa: ASYNC110 - polls PostgreSQL, no event to wait on
                await asyncio.sleep(0.1)
    finally:
        stop = True
        await task


@pytest.mark.timeout(90)
async def test_wrap_and_reboot_give_true_rates_without_spike(stack: Settings) -> None:
    s = isolated(stack, "rates")
    await ensure_topics_async(s)
    device = f"pl-{uuid.uuid4().hex[:8]}"
    t0 = 1_760_000_000.0
    rate = 1_000_000  # bytes/s = 8 Mbit/s on a 100 Mbit/s interface
    start = M32 - 25 * rate  # wraps between the 2nd and 3rd poll
    polls = []
    uptime = 10_000
    value = start
    for i in range(8):
        if i == 5:  # agent reboot: uptime and counters restart
            uptime, value = 500, 1234
        polls.append(poll(device, t0 + 10 * i, uptime, value % M32, 0))
        uptime += 1000
        value += 10 * rate
    async with Publisher(s) as pub:
        for p in polls:
            await pub.send("poll", p)
        await pub.flush()
    pipe = Pipeline(s)
    await pipe.start()
    try:
        # 8 polls: rates for intervals 1-4 and 6-7 (none for the first poll and the reboot)
        await run_until(pipe, lambda: pipe.samples_written >= 8 + 6 * 4 - 0 and _bps_rows(s, device) >= 6)
    finally:
        await pipe.stop()
        await drop_topics(s)
    with connect(s) as conn:
        rows = conn.execute(
            "SELECT extract(epoch FROM m.ts)::float8, m.value, m.flag FROM metric_samples m"
            " JOIN series s ON s.id = m.series_id WHERE s.device = %s AND s.metric = 'if_in_bps' ORDER BY m.ts",
            (device,),
        ).fetchall()
        dev_rows = conn.execute(
            "SELECT count(*) FROM stream_rate_state WHERE device = %s", (device,)
        ).fetchone()
    got = {round(ts - t0): v for ts, v, _ in rows}
    assert sorted(got) == [10, 20, 30, 40, 60, 70]  # none at 0 (first) nor 50 (reboot)
    for v in got.values():
        assert v == pytest.approx(rate * 8)  # through the wrap (t=30) and after the reboot: no spike
    assert all(flag is None for *_, flag in rows)
    assert dev_rows == (1,)


def _bps_rows(s: Settings, device: str) -> int:
    with connect(s) as conn:
        row = conn.execute(
            "SELECT count(*) FROM metric_samples m JOIN series s ON s.id = m.series_id"
            " WHERE s.device = %s AND s.metric = 'if_in_bps'",
            (device,),
        ).fetchone()
    return int(row[0]) if row else 0

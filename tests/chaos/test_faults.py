"""kill -9 of a collector, the worker, PostgreSQL, Redis and Kafka under steady load.

Each test runs its own devices (a unique name prefix) through the private
stack of tests/chaos/conftest.py while one component is killed with SIGKILL
(its whole process group) and brought back. What is asserted, exactly:

* every poll the producer saw acknowledged is in the ``poll`` topic;
* ``metric_samples`` holds exactly the rows those polls imply
  (:func:`chaos_load.expected_rows`), each (series, ts) once;
* the worker was never restarted for a service fault: it recovered by itself
  (same PID before and after), and so did the live state in Redis.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable

import pytest
import redis
from chaos_load import Chaos, Load, check_collector, expected_rows, topic_polls, wait_rows
from scale_stack import kill9, service_pid, wait_for

from netvigil.stack import services

pytestmark = pytest.mark.timeout(300)

DEVICES = 20
ROUNDS = 24  # 12 s of load at 0.5 s a round


def prefix(tag: str) -> str:
    return f"{tag}{uuid.uuid4().hex[:5]}-"


async def check_exact(c: Chaos, pfx: str, load: Load | None, limit_s: float = 120.0) -> int:
    polls = await topic_polls(c.settings, pfx)
    if load is not None:
        in_topic = {(d, p.ts) for d, seq in polls.items() for p in seq}
        missing = load.acked - in_topic
        assert not missing, f"{len(missing)} acknowledged polls are not in Kafka"
    expected = expected_rows(polls)
    assert expected > 0
    total, distinct = await wait_rows(c.settings, pfx, expected, limit_s)
    assert (total, distinct) == (expected, expected), c.log_tail()
    return expected


async def under_load(c: Chaos, tag: str, fault: Callable[[], None], back: Callable[[], None],
                     down_s: float = 3.0) -> tuple[str, Load]:  # fmt: skip
    """Steady load; at 1/3 of it ``fault()``, ``down_s`` later ``back()`` (in a thread)."""
    pfx = prefix(tag)
    load = Load(c.settings, [f"{pfx}{i}" for i in range(DEVICES)], ROUNDS)
    task = asyncio.create_task(load.run())
    await asyncio.sleep(ROUNDS * load.period / 3)
    fault()
    await asyncio.sleep(down_s)
    await asyncio.to_thread(back)
    await task
    return pfx, load


def restart_service(c: Chaos, name: str) -> Callable[[], None]:
    def back() -> None:
        svc = services(c.settings, (name,))[0]
        assert wait_for(lambda: (svc.start(), True)[1], 120, interval=2.0), f"{name} did not come back"

    return back


def kill_service(c: Chaos, name: str) -> Callable[[], None]:
    def fault() -> None:
        pid = service_pid(c.settings, name)
        assert pid, f"{name} is not running"
        kill9(pid)
        c.restarts.append(name)

    return fault


def worker_pid(c: Chaos) -> int:
    assert c.worker is not None and c.worker.poll() is None, c.log_tail()
    return c.worker.pid


async def test_worker_kill_9(chaos: Chaos) -> None:
    worker_pid(chaos)

    def fault() -> None:
        assert chaos.worker is not None
        kill9(chaos.worker.pid)
        chaos.worker.wait(10)

    started = time.time()
    pfx, load = await under_load(chaos, "kw", fault, chaos.start_worker)
    await check_exact(chaos, pfx, load)
    worker_pid(chaos)
    await check_collector(chaos, started)


@pytest.mark.parametrize("service", ["postgres", "redis", "kafka"])
async def test_service_kill_9_worker_recovers_by_itself(chaos: Chaos, service: str) -> None:
    before = worker_pid(chaos)
    started = time.time()
    down = 8.0 if service == "kafka" else 4.0
    pfx, load = await under_load(
        chaos, f"k{service[:2]}", kill_service(chaos, service), restart_service(chaos, service), down
    )
    assert load.acked, "nothing was acknowledged"
    if service != "kafka":
        assert load.failed == 0  # only a Kafka outage may refuse polls
    await check_exact(chaos, pfx, load, limit_s=180.0)
    assert worker_pid(chaos) == before, "the worker died instead of recovering"
    if service == "redis":
        r = redis.Redis.from_url(chaos.settings.redis.url)
        assert wait_for(lambda: r.exists(f"netvigil:latest:{pfx}0") == 1, 30), "live state not rebuilt"
    await check_collector(chaos, started + ROUNDS * 0.5 / 3 + down)


async def test_collector_kill_9(chaos: Chaos) -> None:
    """`netvigil collect snmp` (polling a real snmpd every second) killed and restarted.

    Every poll it got into Kafka is stored exactly once, and polling resumes.
    """
    assert chaos.collector is not None and chaos.collector.poll() is None
    await asyncio.sleep(3.0)
    kill9(chaos.collector.pid)
    chaos.collector.wait(10)
    killed_at = time.time()
    await asyncio.sleep(2.0)
    chaos.start_collector()
    await check_collector(chaos, killed_at)

"""The local Kafka broker, started for real through KafkaService (no mocks, no skips).

The module fixture starts the broker (jars from Maven Central on a fresh
machine) and leaves it running afterwards if it was running before, so a
session-wide stack fixture can share it. A broker that cannot start fails
every test here with the one-line StackError, which names the log to read.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from netvigil.kafka_admin import broker_count, ensure_topics, run_sync, wait_for_broker
from netvigil.settings import Settings, load_settings
from netvigil.stack.kafka import KafkaService

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def settings() -> Settings:
    return load_settings()


@pytest.fixture(scope="module")
def kafka(settings: Settings) -> Iterator[KafkaService]:
    svc = KafkaService(settings)
    was_running = svc.running()
    svc.start()
    yield svc
    if was_running and not svc.running():
        svc.start()  # leave the stack as we found it


def _our_java_pids(svc: KafkaService) -> list[int]:
    """Java processes whose command line names this service's config: ours, whatever the pidfile says."""
    marker = str(svc.config_file).encode()
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes()
            state = (proc / "stat").read_text().split(")")[-1].split()[0]
        except OSError:
            continue
        if state != "Z" and b"java" in cmdline and marker in cmdline:
            pids.append(int(proc.name))
    return pids


def test_broker_is_healthy_and_logs_to_a_file(kafka: KafkaService) -> None:
    assert kafka.running()
    assert kafka.healthy()
    assert kafka.status().healthy
    # log4j2 really writes: a broker that logs nowhere cannot be debugged. The file rolls over at
    # 20 MB (server.log.1, ...), and a long run can roll it after the start line was written.
    logs = [kafka.broker_log, *kafka.broker_log.parent.glob(kafka.broker_log.name + ".*")]
    assert any("Kafka Server started" in p.read_text(errors="replace") for p in logs)


def test_check_round_trip(kafka: KafkaService) -> None:
    kafka.check()
    kafka.check()  # a second payload is read back, not the first one again


async def test_wait_for_broker(kafka: KafkaService) -> None:
    await wait_for_broker(kafka.bootstrap, timeout=10)
    assert await broker_count(kafka.bootstrap) == 1


async def test_wait_for_broker_times_out_on_a_closed_port() -> None:
    with pytest.raises(TimeoutError, match="did not answer"):
        await wait_for_broker("127.0.0.1:1", timeout=1.5)


def test_ensure_topics_is_idempotent(kafka: KafkaService, settings: Settings) -> None:
    tag = uuid.uuid4().hex[:8]
    specs = {f"netvigil.test-{tag}-a": 3, f"netvigil.test-{tag}-b": 1}
    assert ensure_topics(settings, specs) == sorted(specs)
    assert ensure_topics(settings, specs) == []
    partitions = run_sync(_partition_counts(settings, list(specs)))
    assert partitions == specs


def test_ensure_project_topics(kafka: KafkaService, settings: Settings) -> None:
    from netvigil.topics import topic_specs

    ensure_topics(settings)  # may create them, or find them from an earlier run
    assert ensure_topics(settings) == []
    counts = run_sync(_partition_counts(settings, list(topic_specs(settings))))
    assert counts == topic_specs(settings)


async def test_ensure_topics_inside_a_running_loop(kafka: KafkaService, settings: Settings) -> None:
    # The sync wrapper must work where pytest-asyncio or a notebook already runs a loop.
    name = f"netvigil.test-{uuid.uuid4().hex[:8]}"
    assert ensure_topics(settings, {name: 2}) == [name]


async def _partition_counts(settings: Settings, names: list[str]) -> dict[str, int]:
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka.bootstrap)
    await admin.start()
    try:
        return {t["topic"]: len(t["partitions"]) for t in await admin.describe_topics(names)}
    finally:
        await admin.close()


def test_stop_leaves_no_java_process(kafka: KafkaService) -> None:
    """Last in the module: stops the broker, then (fixture) restarts it if it was up before."""
    assert _our_java_pids(kafka), "the running broker should be visible in /proc"
    assert kafka.stop() is True
    assert not kafka.running()
    assert _our_java_pids(kafka) == []
    assert not kafka.healthy()
    assert kafka.stop() is False  # stopping twice is harmless
    # A warm start (jars cached, data formatted) works and keeps the data.
    kafka.start()
    kafka.check()
    kafka.stop()
    assert _our_java_pids(kafka) == []

"""Test-wide setup: an isolated local stack for integration tests.

The suite never touches the demo's services or data: it runs its own
PostgreSQL, Redis and Kafka under ``.local/test`` on their own ports, with a
``test.`` topic prefix. A service that cannot start fails the tests that need
it; nothing is skipped.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

# Set before anything loads settings. NV_TEST_PORT_SHIFT moves every port (and the stack
# directory) so two checkouts on one machine can run their suites side by side.
_SHIFT = int(os.environ.get("NV_TEST_PORT_SHIFT", "0"))


def _p(port: int) -> str:
    return str(port + _SHIFT)


TEST_ENV = {
    "NETVIGIL_STACK__HOME": ".local/test" if not _SHIFT else f".local/test{_SHIFT}",
    "NETVIGIL_STACK__KAFKA_PORT": _p(29092),
    "NETVIGIL_STACK__KAFKA_CONTROLLER_PORT": _p(29093),
    "NETVIGIL_STACK__POSTGRES_PORT": _p(25432),
    "NETVIGIL_STACK__REDIS_PORT": _p(26379),
    "NETVIGIL_KAFKA__BOOTSTRAP": f"127.0.0.1:{_p(29092)}",
    "NETVIGIL_KAFKA__TOPIC_PREFIX": "test.",
    "NETVIGIL_KAFKA__PARTITIONS": "3",
    "NETVIGIL_POSTGRES__DSN": f"postgresql://netvigil:netvigil@127.0.0.1:{_p(25432)}/netvigil_test",
    "NETVIGIL_POSTGRES__READONLY_DSN": f"postgresql://netvigil_ro:netvigil_ro@127.0.0.1:{_p(25432)}/netvigil_test",
    "NETVIGIL_REDIS__URL": f"redis://127.0.0.1:{_p(26379)}/0",
    "NETVIGIL_STREAMS__WEB_PORT": _p(26066),
    "NETVIGIL_STREAMS__METRICS_PORT": _p(29402),
    "NETVIGIL_COLLECTOR__METRICS_PORT": _p(29401),
    "NETVIGIL_COLLECTOR__TRAP_PORT": _p(21162),
    "NETVIGIL_COLLECTOR__SYSLOG_UDP_PORT": _p(21514),
    "NETVIGIL_COLLECTOR__SYSLOG_TCP_PORT": _p(21514),
    "NETVIGIL_APP__PORT": _p(28501),
}
for _k, _v in TEST_ENV.items():
    os.environ[_k] = _v
os.environ.pop("NETVIGIL_CONFIG", None)

from netvigil.settings import Settings, load_settings  # noqa: E402
from streams.notify.receiver import LocalReceiver  # noqa: E402


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests under tests/integration are integration tests, the rest unit tests."""
    for item in items:
        if "/integration/" in str(item.fspath):
            item.add_marker(pytest.mark.integration)
        elif not any(m.name == "integration" for m in item.iter_markers()):
            item.add_marker(pytest.mark.unit)


@pytest.fixture(scope="session")
def settings() -> Settings:
    return load_settings()


@pytest.fixture(scope="session")
def stack(settings: Settings) -> Iterator[Settings]:
    """PostgreSQL (migrated), Redis and Kafka (topics created), started once per run.

    They are left running at the end (the next run reuses them, warm); `make
    test` stops them afterwards with `netvigil stack down`.
    """
    from netvigil.db import migrate
    from netvigil.kafka_admin import ensure_topics
    from netvigil.stack import services

    for svc in services(settings):
        svc.start()  # raises StackError: the test fails, it is not skipped
    migrate(settings)
    ensure_topics(settings)
    yield settings


@pytest.fixture(scope="session")
def pg_stack(settings: Settings) -> Iterator[Settings]:
    """Only PostgreSQL (migrated) and Redis, for tests that need no Kafka."""
    from netvigil.db import migrate
    from netvigil.stack import services

    for svc in services(settings, ("postgres", "redis")):
        svc.start()
    migrate(settings)
    yield settings


@pytest.fixture
def hook() -> Iterator[LocalReceiver]:
    """A local HTTP receiver standing in for webhook, Slack, Teams and SMS endpoints."""
    rec = LocalReceiver().start()
    try:
        yield rec
    finally:
        rec.stop()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """`make test` stops the test stack at the end (NV_TEST_STOP_STACK=1)."""
    if os.environ.get("NV_TEST_STOP_STACK") != "1":
        return
    if hasattr(session.config, "workerinput"):
        return
    from netvigil.stack import services

    for svc in reversed(services(load_settings())):
        svc.stop()

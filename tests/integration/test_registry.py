"""Registry semantics and the watcher, against the real test PostgreSQL and Redis."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Iterator

import psycopg
import pytest

from models import registry
from models.registry_watch import Deployed, RegistryWatcher, notify
from netvigil.db import connect
from netvigil.settings import Settings


@pytest.fixture()
def family(pg_stack: Settings) -> Iterator[str]:
    name = f"regt_{uuid.uuid4().hex[:8]}"
    yield name
    with connect(pg_stack) as conn:
        conn.execute("DELETE FROM model_registry WHERE family LIKE %s", (name + "%",))
        conn.execute("DELETE FROM app_audit WHERE detail->>'family' LIKE %s", (name + "%",))
        conn.commit()


@pytest.fixture()
def conn(pg_stack: Settings) -> Iterator[psycopg.Connection]:
    with connect(pg_stack, autocommit=True) as c:
        yield c


def _reg(conn: psycopg.Connection, family: str, n: int = 1) -> int:
    return registry.register(
        conn,
        family,
        "isolation_forest",
        {"width": n},
        {"nab_standard": 50.0 + n},
        b"\x00blob%d" % n,
        "tester",
    )


def test_versions_increment_per_family(conn: psycopg.Connection, family: str) -> None:
    assert [_reg(conn, family, i) for i in range(3)] == [1, 2, 3]
    assert _reg(conn, family + "_other") == 1
    rows = registry.list_versions(conn, family)
    assert [r.version for r in rows] == [3, 2, 1]
    assert all(r.stage == "candidate" and r.artefact is None for r in rows)
    assert rows[0].artefact_bytes == len(b"\x00blob2") and rows[0].params == {"width": 2}
    full = registry.get(conn, family, 2)
    assert full.artefact == b"\x00blob1" and full.metrics == {"nab_standard": 51.0}


def test_concurrent_registrations_get_distinct_versions(pg_stack: Settings, family: str) -> None:
    got: list[int] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(6)

    def one() -> None:
        try:
            with connect(pg_stack) as c:
                barrier.wait()
                got.append(_reg(c, family))
                c.commit()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=one) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sorted(got) == [1, 2, 3, 4, 5, 6]


def test_promote_archives_previous_and_audits(conn: psycopg.Connection, family: str) -> None:
    v1, v2 = _reg(conn, family, 1), _reg(conn, family, 2)
    assert registry.production(conn, family) is None
    assert registry.promote(conn, family, v1, "alice") is None
    assert registry.promote(conn, family, v2, "bob") == v1
    prod = registry.production(conn, family)
    assert prod is not None and prod.version == v2 and prod.artefact == b"\x00blob2"
    assert prod.promoted_at is not None
    stages = {r.version: r.stage for r in registry.list_versions(conn, family)}
    assert stages == {v1: "archived", v2: "production"}
    assert registry.promote(conn, family, v2, "bob") is None  # already production: no change
    audit = conn.execute(
        "SELECT actor, detail FROM app_audit WHERE action = 'promote' AND detail->>'family' = %s ORDER BY id",
        (family,),
    ).fetchall()
    assert audit == [
        ("alice", {"family": family, "version": v1, "previous": []}),
        ("bob", {"family": family, "version": v2, "previous": [v1]}),
    ]
    assert registry.production_versions(conn)[family] == v2
    with pytest.raises(registry.RegistryError):
        registry.promote(conn, family, 99, "mallory")


def test_promote_inside_callers_transaction_rolls_back_with_it(pg_stack: Settings, family: str) -> None:
    with connect(pg_stack) as c:
        v = _reg(c, family)
        c.commit()
        c.execute("SELECT 1")  # the caller's transaction is open: promote is a savepoint in it
        registry.promote(c, family, v, "alice")
        c.rollback()
        assert registry.production(c, family) is None


def test_watcher_poll_and_callback(pg_stack: Settings, conn: psycopg.Connection, family: str) -> None:
    seen: list[tuple[str, Deployed | None]] = []
    w = RegistryWatcher(pg_stack, [family], use_redis=False, on_change=lambda f, d: seen.append((f, d)))
    assert w.poll() == [] and w.current(family) is None and w.version(family) == 0
    v1 = _reg(conn, family, 1)
    registry.promote(conn, family, v1, "t")
    assert w.poll() == [family]
    version, params, artefact = w.current(family)  # type: ignore[misc]
    assert (version, params, artefact) == (1, {"width": 1}, b"\x00blob1")
    assert w.poll() == []  # unchanged: params/artefact not fetched again
    conn.execute("UPDATE model_registry SET stage = 'archived' WHERE family = %s", (family,))
    assert w.poll() == [family] and w.current(family) is None
    assert [(f, d.version if d else None) for f, d in seen] == [(family, 1), (family, None)]
    w.close()


def _wait_for(pred: object, timeout: float) -> float:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if pred():  # type: ignore[operator]
            return time.monotonic() - t0
        time.sleep(0.05)
    raise AssertionError(f"not seen within {timeout} s")


def test_thread_watcher_sees_promotion_within_poll_interval(
    pg_stack: Settings, conn: psycopg.Connection, family: str
) -> None:
    w = RegistryWatcher(pg_stack, [family], interval=1.0, use_redis=False)
    w.start()
    try:
        registry.promote(conn, family, _reg(conn, family), "t")
        waited = _wait_for(lambda: w.version(family) == 1, timeout=3.0)
        assert waited < 2.0
    finally:
        w.stop()


def test_redis_announcement_wakes_a_slow_poller(
    pg_stack: Settings, conn: psycopg.Connection, family: str
) -> None:
    w = RegistryWatcher(pg_stack, [family], interval=60.0, use_redis=True)
    w.start()
    try:
        time.sleep(0.3)  # let the thread subscribe
        registry.promote(conn, family, _reg(conn, family), "t")
        assert notify(pg_stack, family, 1)
        _wait_for(lambda: w.version(family) == 1, timeout=5.0)
        assert w.stats["wakeups"] >= 1
    finally:
        w.stop()


async def test_async_watcher_runs_callbacks_on_the_loop(
    pg_stack: Settings, conn: psycopg.Connection, family: str
) -> None:
    loop_thread = threading.get_ident()
    calls: list[tuple[int, int]] = []
    w = RegistryWatcher(
        pg_stack,
        [family],
        interval=0.5,
        on_change=lambda f, d: calls.append((d.version if d else 0, threading.get_ident())),
    )
    stop = asyncio.Event()
    task = asyncio.create_task(w.run(stop))
    await asyncio.sleep(0.3)
    registry.promote(conn, family, _reg(conn, family), "t")
    notify(pg_stack, family, 1)
    for _ in range(60):
        if calls:
            break
        await asyncio.sleep(0.05)
    stop.set()
    await asyncio.wait_for(task, 5)
    assert calls == [(1, loop_thread)]


def test_watcher_survives_a_database_outage(pg_stack: Settings) -> None:
    import msgspec

    bad = msgspec.structs.replace(
        pg_stack,
        postgres=msgspec.structs.replace(
            pg_stack.postgres, dsn="postgresql://netvigil:netvigil@127.0.0.1:1/nope"
        ),
    )
    w = RegistryWatcher(bad, use_redis=False)
    assert w.poll() == [] and w.stats["errors"] == 1

"""Hot model reload: promoting a new registry version changes the running stage, no restart.

A stage scores a series; a new ``online`` version (a different threshold) is
registered and promoted while it runs; the next stored scores carry the new
version and the bank runs the new threshold with its learned state kept.
"""

from __future__ import annotations

import asyncio
import math
import time
import uuid

from models import registry
from models.registry_watch import notify
from netvigil.db import connect
from netvigil.settings import Settings
from streams.anomaly.config import AnomalyConfig
from streams.anomaly.stage import AnomalyStage
from streams.anomaly.testing import group, series_ids


def versions(settings: Settings, sid: int) -> list[int]:
    with connect(settings) as conn:
        rows = conn.execute(
            "SELECT DISTINCT model_version FROM anomaly_scores WHERE series_id = %s ORDER BY 1", (sid,)
        ).fetchall()
    return [int(r[0]) for r in rows]


async def test_promoting_a_version_changes_the_next_scores(pg_stack: Settings) -> None:
    u = uuid.uuid4().hex[:8]
    family = f"online-{u}"
    device = f"mr-{u}-srv"
    ids = series_ids(pg_stack, device, [("cpu_user_pct", "")])
    with connect(pg_stack) as conn:
        v1 = registry.register(
            conn, family, "context", {"detector": "default", "overrides": {}}, {}, None, "test"
        )
        registry.promote(conn, family, v1, "test")
    cfg = AnomalyConfig(registry_family=family, store_every_s=0, flush_interval=0.1, registry_interval=30.0)
    stage = AnomalyStage(pg_stack, cfg, publish_kafka=False)
    await stage.start()
    t = time.time() - 3600
    try:
        for i in range(20):
            await stage.process([group(device, t + 60 * i, [("cpu_user_pct", "", 20 + math.sin(i))], ids)])
        await stage.flush()
        assert versions(pg_stack, ids[0]) == [v1]
        bank = stage.banks["cpu"]
        n_before = len(bank)
        with connect(pg_stack) as conn:
            params = {"detector": "default", "overrides": {"threshold": 0.42}}
            v2 = registry.register(conn, family, "context", params, {}, None, "test")
            registry.promote(conn, family, v2, "test")
        notify(pg_stack, family, v2)  # wakes the watcher well before its 30 s poll
        async with asyncio.timeout(10):
            while stage.watcher.version(family) != v2:  # noqa: ASYNC110 - the watcher offers no event
                await asyncio.sleep(0.05)
        for i in range(20, 25):
            await stage.process([group(device, t + 60 * i, [("cpu_user_pct", "", 20 + math.sin(i))], ids)])
        await stage.flush()
        assert versions(pg_stack, ids[0]) == [v1, v2]
        assert stage.banks["cpu"] is bank, "same bank object: learned state kept"
        assert bank.threshold == 0.42 and len(bank) == n_before
    finally:
        await stage.stop()

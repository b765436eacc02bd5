"""SQL injection attempts through every filter and search box are just text.

Each query function gets hostile strings in every text parameter; it must
return normally (usually nothing), and the tables must be intact afterwards.
The writes get the same strings as note text and matcher values.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from app_streamlit import actions
from app_streamlit.data import alerts, devices, events, overview, topology
from app_streamlit.seed import purge, seed_all
from netvigil.db import connect
from netvigil.settings import Settings

NOW = datetime.now(UTC).replace(second=0, microsecond=0)
PAYLOADS = [
    "'; DROP TABLE devices; --",
    "x' OR '1'='1",
    "%' OR 1=1 --",
    '"); DELETE FROM alerts; --',
    "\\'; TRUNCATE series; --",
    "a=b'); DROP TABLE alerts; --",
    "=1+1; SELECT pg_sleep(5)",
    "' UNION SELECT community, v3_auth_key, 1, 1, 1, 1 FROM device_credentials --",
    "💥\x7f%_\\",
]
# table -> the column naming what this test seeded (other engineers write the same tables meanwhile)
TABLES = {
    "devices": "name",
    "series": "device",
    "alerts": "key",
    "alert_events": "key",
    "silences": "created_by",
    "traps": "device",
    "syslog_messages": "device",
    "model_registry": "family",
    "device_credentials": "device",
}


@pytest.fixture(scope="module")
def seeded(pg_stack: Settings) -> Iterator[tuple[Settings, str, list[str]]]:
    prefix = f"appi{uuid.uuid4().hex[:6]}_"
    with connect(pg_stack) as conn:
        _fleet, keys = seed_all(conn, prefix, NOW, n_devices=3)
        conn.commit()
    yield pg_stack, prefix, keys
    with connect(pg_stack) as conn:
        purge(conn, prefix)
        conn.execute("DELETE FROM app_audit WHERE actor = %s", (prefix + "op",))
        conn.commit()


def _counts(settings: Settings, prefix: str) -> dict[str, int]:
    """Rows of this test's prefix per table; a dropped or truncated table shows as missing or 0."""
    like = prefix.replace("_", "\\_") + "%"
    with connect(settings) as conn:
        out = {}
        for table, column in TABLES.items():
            assert conn.execute("SELECT to_regclass(%s)", (table,)).fetchone() != (None,), f"{table} is gone"
            row = conn.execute(f"SELECT count(*) FROM {table} WHERE {column} LIKE %s", (like,)).fetchone()
            out[table] = int(row[0])  # type: ignore[index]
        return out


@pytest.mark.parametrize("payload", PAYLOADS)
def test_read_filters_are_parameters(seeded: tuple[Settings, str, list[str]], payload: str) -> None:
    settings, prefix, _ = seeded
    before = _counts(settings, prefix)
    start, end = NOW - timedelta(days=1), NOW + timedelta(minutes=1)
    with connect(settings, readonly=True, autocommit=True) as ro:
        assert devices.inventory(ro, payload).empty
        assert devices.inventory(ro, prefix, status=[payload]).empty
        assert devices.device_info(ro, payload).empty
        assert devices.series_data(ro, payload, [payload], start, end, instances=[payload]).empty
        assert devices.anomalies(ro, payload, [payload], start, end).empty
        assert devices.forecasts(ro, payload, [payload], start).empty
        assert devices.interfaces(ro, payload).empty
        assert alerts.alert_list(ro, [payload], [payload], payload, payload).empty
        assert alerts.alert_list(ro, [], [], prefix, payload).empty
        assert alerts.alert_timeline(ro, payload).empty
        assert events.search_events(ro, start, end, "all", payload, None, payload).empty
        assert events.search_events(ro, start, end, "syslog", prefix, 7, payload).empty
        _nodes, edges = topology.topology(ro, payload)
        assert edges.empty
        overview.hot_spots(ro, NOW)
    assert _counts(settings, prefix) == before


@pytest.mark.parametrize("payload", PAYLOADS[:4])
def test_write_values_are_parameters(seeded: tuple[Settings, str, list[str]], payload: str) -> None:
    settings, prefix, keys = seeded
    user = prefix + "op"
    assert actions.add_note(settings, user, "operator", keys[0], payload)
    assert not actions.acknowledge(settings, user, "operator", payload, payload)
    assert not actions.promote(settings, user, "admin", payload, 1)
    sid = actions.create_silence(
        settings, user, "operator", {"device": prefix + payload}, NOW, NOW + timedelta(hours=1), payload
    )
    with connect(settings) as conn:
        note = conn.execute(
            "SELECT detail->>'text' FROM alert_events WHERE key = %s AND kind = 'note' ORDER BY id DESC LIMIT 1",
            (keys[0],),
        ).fetchone()
        silence = conn.execute(
            "SELECT matcher->>'device', comment FROM silences WHERE id = %s", (sid,)
        ).fetchone()
    assert note == (payload.strip(),)
    assert silence == (prefix + payload, payload)
    assert _counts(settings, prefix)["devices"] > 0

"""Migration 0009: the event text search is answered by pg_trgm GIN indexes.

Fills one day with enough syslog lines and traps that a sequential scan is
the expensive choice, then checks the planner picks the trigram index for a
rare word on every searched expression (EXPLAIN of the page's own query),
and that the search returns the same rows with index scans switched off.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from app_streamlit.data import events
from app_streamlit.data.common import like_pattern
from netvigil.db import connect, migrations_dir
from netvigil.settings import Settings

NOW = datetime.now(UTC).replace(second=0, microsecond=0)
ROWS = 100000
INDEXES = {
    "traps": {"traps_trap_name_trgm", "traps_trap_oid_trgm", "traps_varbinds_trgm"},
    "syslog_messages": {"syslog_message_trgm", "syslog_app_trgm"},
}


@pytest.fixture(scope="module")
def filled(pg_stack: Settings) -> Iterator[tuple[Settings, str]]:
    prefix = f"trgm{uuid.uuid4().hex[:6]}_"
    with connect(pg_stack) as conn:
        conn.execute(
            "INSERT INTO syslog_messages (ts, msg_hash, source, device, transport, format, severity, app, message)"
            " SELECT %(now)s - i * interval '30 milliseconds', sha256((%(p)s || i)::bytea), '10.9.9.9', %(p)s || 'dev',"
            " 'udp', 'rfc5424', 6, 'cron', 'session opened for user backup number ' || i"
            " FROM generate_series(1, %(n)s) i",
            {"now": NOW - timedelta(hours=1), "p": prefix, "n": ROWS},
        )
        conn.execute(
            "INSERT INTO traps (ts, msg_hash, source, device, version, trap_oid, trap_name, varbinds)"
            " SELECT %(now)s - i * interval '30 milliseconds', sha256((%(p)s || i)::bytea), '10.9.9.9', %(p)s || 'dev',"
            " 'v2c', '1.3.6.1.6.3.1.1.5.4', 'linkUp',"
            " jsonb_build_array(jsonb_build_object('oid', '1.3.6.1.2.1.2.2.1.1', 'value', i))"
            " FROM generate_series(1, %(n)s) i",
            {"now": NOW - timedelta(hours=1), "p": prefix, "n": ROWS},
        )
        # One rare needle per searched expression: (app, message).
        for i, (app, message) in enumerate(
            [("kernel", "kernel: zqxjneedle parity error"), ("zqxjappd", "x")]
        ):
            conn.execute(
                "INSERT INTO syslog_messages (ts, msg_hash, source, device, transport, format, severity, app, message)"
                " VALUES (%s, sha256(%s::bytea), '10.9.9.9', %s, 'udp', 'rfc5424', 3, %s, %s)",
                (NOW - timedelta(minutes=30 + i), f"{prefix}needle{i}", f"{prefix}dev", app, message),
            )
        conn.execute(
            "INSERT INTO traps (ts, msg_hash, source, device, version, trap_oid, trap_name, varbinds) VALUES"
            " (%(t)s, sha256((%(p)s || 'trap1')::bytea), '10.9.9.9', %(p)s || 'dev', 'v2c', '1.3.6.1.4.1.9.9.zqxj',"
            "  'zqxjTrapName', '[]'),"
            " (%(t)s, sha256((%(p)s || 'trap2')::bytea), '10.9.9.9', %(p)s || 'dev', 'v2c', '1.3.6.1.6.3.1.1.5.3',"
            '  \'linkDown\', \'[{"oid": "1.3.6.1.2.1.2.2.1.2", "value": "zqxjport7"}]\')',
            {"t": NOW - timedelta(minutes=40), "p": prefix},
        )
        conn.commit()
        conn.autocommit = True
        conn.execute("ANALYZE syslog_messages")
        conn.execute("ANALYZE traps")
    yield pg_stack, prefix
    with connect(pg_stack) as conn:
        conn.execute("DELETE FROM syslog_messages WHERE device = %s", (f"{prefix}dev",))
        conn.execute("DELETE FROM traps WHERE device = %s", (f"{prefix}dev",))
        conn.commit()


def _params(text: str, start: datetime, end: datetime) -> dict[str, Any]:
    return {
        "want_traps": True,
        "want_syslog": True,
        "device": "",
        "device_pat": like_pattern(""),
        "max_sev": None,
        "text": text,
        "text_pat": like_pattern(text),
        "start": start,
        "end": end,
        "limit": 2000,
    }


def _plan(conn: psycopg.Connection, text: str) -> str:
    """EXPLAIN of the events page's query, values inlined as psycopg would bind them for one run."""
    cur = psycopg.ClientCursor(conn)
    query = "EXPLAIN " + events._QUERY  # the page's exact query is the point
    rows = cur.execute(query, _params(text, NOW - timedelta(days=1), NOW)).fetchall()
    return "\n".join(r[0] for r in rows)


def test_trigram_indexes_exist_on_the_parents(filled: tuple[Settings, str]) -> None:
    with connect(filled[0]) as conn:
        for table, wanted in INDEXES.items():
            names = {
                r[0] for r in conn.execute("SELECT indexname FROM pg_indexes WHERE tablename = %s", (table,))
            }
            assert wanted <= names, f"{table}: missing {wanted - names}"


@pytest.mark.parametrize("forced", [False, True], ids=["planner-choice", "seqscan-off"])
def test_rare_word_uses_the_trigram_indexes(filled: tuple[Settings, str], forced: bool) -> None:
    """Forced: the index matches the query's expressions at all. Not forced: the planner also prefers it."""
    with connect(filled[0], readonly=True, autocommit=True) as ro:
        if forced:
            ro.execute("SET enable_seqscan = off")
        plan = _plan(ro, "zqxj")
    # Every ILIKE branch of both halves is an index condition, not a filter over all rows.
    for expr in ("message ~~*", "app ~~*", "trap_name ~~*", "trap_oid ~~*", "(varbinds)::text ~~*"):
        assert f"Index Cond: ({expr}" in plan, f"{expr} not answered by an index:\n{plan}"
    # Only an empty partition (the day before, no rows) may be read sequentially.
    seq = [line for line in plan.splitlines() if "Seq Scan" in line and "cost=0.00..0.0" not in line]
    assert not seq, plan


@pytest.mark.parametrize(
    "text", ["zqxj", "ZQXJNEEDLE", "zqxjport7", "session opened for user backup number 1999"]
)
def test_same_rows_with_and_without_the_index(filled: tuple[Settings, str], text: str) -> None:
    settings, prefix = filled
    start, end = NOW - timedelta(days=2), NOW + timedelta(minutes=1)
    with connect(settings, readonly=True, autocommit=True) as ro:
        with_index = events.search_events(ro, start, end, device=prefix, text=text)
        ro.execute("SET enable_bitmapscan = off")
        ro.execute("SET enable_indexscan = off")
        without = events.search_events(ro, start, end, device=prefix, text=text)
    assert len(with_index) > 0
    key = ["ts", "kind", "message"]
    assert (
        with_index.sort_values(key)[key]
        .reset_index(drop=True)
        .equals(without.sort_values(key)[key].reset_index(drop=True))
    )


def test_without_pg_trgm_the_migration_skips_with_a_notice(pg_stack: Settings) -> None:
    """The guard: 0009 on a server without the extension (its name swapped for one that exists nowhere)."""
    body = (migrations_dir() / "0009_event_search_trgm.sql").read_text()
    body = body.replace("name = 'pg_trgm'", "name = 'pg_trgm_absent'")
    notices: list[str] = []
    with connect(pg_stack) as conn:
        conn.add_notice_handler(lambda d: notices.append(d.message_primary or ""))
        conn.execute("SET LOCAL client_min_messages = notice")
        conn.execute(body.encode())
        conn.rollback()
    assert any("pg_trgm is not available" in n for n in notices), notices

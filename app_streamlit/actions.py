"""The app's only writes: acknowledge, note, false positive, silence, promote.

Each checks the role here (server side, whatever the page showed), runs in one
transaction on the read-write DSN, and leaves an ``app_audit`` row naming who
did it, plus an ``alert_events`` row when it concerns an alert, so the
alert's timeline shows it.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from app_streamlit.auth import require
from netvigil.db import connect
from netvigil.settings import Settings

__all__ = ["acknowledge", "add_note", "create_silence", "mark_false_positive", "promote"]

log = logging.getLogger(__name__)
Conn = psycopg.Connection[Any]


def _audit(conn: Conn, actor: str, action: str, detail: dict[str, Any]) -> None:
    conn.execute(
        "INSERT INTO app_audit (actor, action, detail) VALUES (%s, %s, %s)", (actor, action, Jsonb(detail))
    )


def _event(
    conn: Conn,
    key: str,
    kind: str,
    actor: str,
    detail: dict[str, Any],
    states: tuple[str | None, str | None] = (None, None),
) -> None:
    conn.execute(
        "INSERT INTO alert_events (key, ts, kind, actor, from_state, to_state, detail)"
        " VALUES (%s, clock_timestamp(), %s, %s, %s, %s, %s)",
        (key, kind, actor, states[0], states[1], Jsonb(detail)),
    )


def acknowledge(settings: Settings, user: str, role: str, key: str, comment: str = "") -> bool:
    """Open -> acknowledged. False when the alert is not open (already acked, resolved, unknown)."""
    require(role, "acknowledge")
    with connect(settings) as conn, conn.transaction():
        row = conn.execute(
            "UPDATE alerts SET state = 'acknowledged', acknowledged_by = %s, acknowledged_at = now(),"
            " updated = now() WHERE key = %s AND state = 'open' RETURNING key",
            (user, key),
        ).fetchone()
        if row is None:
            return False
        _event(conn, key, "ack", user, {"comment": comment}, ("open", "acknowledged"))
        _audit(conn, user, "acknowledge", {"alert": key, "comment": comment})
    log.info("alert %s acknowledged by %s", key, user)
    return True


def add_note(settings: Settings, user: str, role: str, key: str, text: str) -> bool:
    require(role, "note")
    text = text.strip()
    if not text:
        return False
    with connect(settings) as conn, conn.transaction():
        if conn.execute("SELECT 1 FROM alerts WHERE key = %s", (key,)).fetchone() is None:
            return False
        _event(conn, key, "note", user, {"text": text})
        _audit(conn, user, "note", {"alert": key, "text": text})
    return True


def mark_false_positive(settings: Settings, user: str, role: str, key: str, reason: str = "") -> bool:
    """Flag for the model team; the alert's state is left to the stream's rules."""
    require(role, "false_positive")
    with connect(settings) as conn, conn.transaction():
        row = conn.execute(
            "UPDATE alerts SET false_positive = true, updated = now() WHERE key = %s RETURNING key", (key,)
        ).fetchone()
        if row is None:
            return False
        _event(conn, key, "false_positive", user, {"reason": reason})
        _audit(conn, user, "false_positive", {"alert": key, "reason": reason})
    return True


def create_silence(
    settings: Settings,
    user: str,
    role: str,
    matcher: dict[str, Any],
    starts_at: datetime,
    ends_at: datetime,
    comment: str = "",
    alert_key: str | None = None,
) -> int:
    """A maintenance window: alerts matching ``matcher`` ({device, rule, tags}) are suppressed by the stream."""
    require(role, "silence")
    if ends_at <= starts_at:
        raise ValueError("a silence must end after it starts")
    if not any(matcher.get(k) for k in ("device", "rule", "tags")):
        raise ValueError("a silence needs a device, a rule or tags to match")
    with connect(settings) as conn, conn.transaction():
        row = conn.execute(
            "INSERT INTO silences (matcher, starts_at, ends_at, created_by, comment)"
            " VALUES (%s, %s, %s, %s, %s) RETURNING id",
            (Jsonb(matcher), starts_at, ends_at, user, comment),
        ).fetchone()
        assert row is not None  # INSERT ... RETURNING always returns the row
        silence_id = int(row[0])
        detail = {
            "silence": silence_id,
            "matcher": matcher,
            "starts_at": starts_at.isoformat(),
            "ends_at": ends_at.isoformat(),
            "comment": comment,
        }
        if alert_key:
            _event(conn, alert_key, "silence", user, detail)
        _audit(conn, user, "silence", detail | {"alert": alert_key})
    return silence_id


def promote(settings: Settings, user: str, role: str, family: str, version: int) -> bool:
    """Make ``version`` the family's production model (the previous one is archived) and tell the workers.

    The registry's own ``promote`` does the change and its ``app_audit`` row in
    one transaction; ``notify`` wakes the workers' registry watchers at once.
    """
    require(role, "promote")
    from models.registry import RegistryError
    from models.registry import promote as registry_promote
    from models.registry_watch import notify

    with connect(settings) as conn:
        try:
            registry_promote(conn, family, version, user)
        except RegistryError:
            return False
        conn.commit()
    notify(settings, family, version)
    log.info("model %s v%s promoted by %s", family, version, user)
    return True

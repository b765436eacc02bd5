"""The server-side session store: table ``app_sessions`` (migration 0008), read-write role only.

PostgreSQL rather than Redis: the app cannot show anything without
PostgreSQL anyway, so the store adds no new way to fail; rows survive an app
or Redis restart; the read-only role the pages use is refused the table, so
no page query can ever reach a session. Every function here raises
``StoreUnavailable`` (never a raw driver error) when the database cannot be
reached; callers turn that into "log in again", never a crash.

Tokens and codes are only ever handled as arguments and return values:
nothing here logs them, and only their SHA-256 is written.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import psycopg

from app_streamlit.tokens import (
    HANDOFF_TTL,
    Policy,
    SessionRow,
    check,
    credential_stamp,
    new_token,
    token_hash,
    well_formed,
)
from netvigil.settings import Settings

__all__ = [
    "StoreUnavailable",
    "by_id",
    "claim",
    "lookup",
    "pending",
    "revoke",
    "start",
    "touch",
]

log = logging.getLogger(__name__)
CONNECT_TIMEOUT_S = 3

_COLUMNS = "id, username, role, stamp, last_seen, expires_at"


class StoreUnavailable(RuntimeError):
    """The session table cannot be reached (database down, migration 0008 missing)."""


@contextmanager
def _conn(settings: Settings) -> Iterator[psycopg.Connection[Any]]:
    try:
        with psycopg.connect(
            settings.postgres.dsn, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S
        ) as conn:
            yield conn
    except psycopg.Error as exc:
        # The type only: a connection error's text can carry the DSN.
        raise StoreUnavailable(type(exc).__name__) from None


def _row(values: tuple[Any, ...] | None) -> SessionRow | None:
    return SessionRow(*values) if values is not None else None


def start(settings: Settings, name: str, role: str, policy: Policy, now: datetime) -> tuple[int, str]:
    """A new session for a user who just logged in: (row id, one-time handoff code).

    The row has no token yet; the browser gets one by posting the code to
    CLAIM_PATH within HANDOFF_TTL. Expired rows are swept here, on login, so
    the table stays the size of the live sessions without a timer.
    """
    stamp = credential_stamp(settings.app.users, name)
    if stamp is None:
        raise ValueError("unknown user")
    code = new_token()
    with _conn(settings) as conn:
        conn.execute(
            "DELETE FROM app_sessions WHERE expires_at <= %s OR last_seen <= %s"
            " OR (token_hash IS NULL AND handoff_expires <= %s)",
            (now, now - policy.idle, now),
        )
        row = conn.execute(
            "INSERT INTO app_sessions (handoff_hash, handoff_expires, username, role, stamp,"
            " created_at, last_seen, expires_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
            (token_hash(code), now + HANDOFF_TTL, name, role, stamp, now, now, now + policy.max_age),
        ).fetchone()
    assert row is not None
    return int(row[0]), code


def claim(
    settings: Settings, code: str, users: Mapping[str, Mapping[str, str]], policy: Policy, now: datetime
) -> tuple[str, SessionRow] | None:
    """Trade a handoff code for the session token, once: (token, row), or None.

    The UPDATE both checks and spends the code, so two concurrent claims of
    one code cannot both win.
    """
    if not well_formed(code):
        return None
    token = new_token()
    with _conn(settings) as conn:
        row = _row(
            conn.execute(
                f"UPDATE app_sessions SET token_hash = %s, handoff_hash = NULL, handoff_expires = NULL,"
                f" last_seen = %s WHERE handoff_hash = %s AND handoff_expires > %s RETURNING {_COLUMNS}",
                (token_hash(token), now, token_hash(code), now),
            ).fetchone()
        )
        if row is None:
            return None
        if check(row, users, now, policy) is not None:
            conn.execute("DELETE FROM app_sessions WHERE id = %s", (row.id,))
            return None
    return token, row


def pending(settings: Settings, sid: int, now: datetime) -> bool:
    """The login's handoff code is still waiting for the browser to claim it."""
    with _conn(settings) as conn:
        row = conn.execute(
            "SELECT 1 FROM app_sessions WHERE id = %s AND token_hash IS NULL AND handoff_expires > %s",
            (sid, now),
        ).fetchone()
    return row is not None


def lookup(settings: Settings, token: str) -> SessionRow | None:
    """The session a cookie token names (None for junk, unknown or revoked tokens)."""
    if not well_formed(token):
        return None
    with _conn(settings) as conn:
        return _row(
            conn.execute(
                f"SELECT {_COLUMNS} FROM app_sessions WHERE token_hash = %s",
                (token_hash(token),),
            ).fetchone()
        )


def by_id(settings: Settings, sid: int) -> SessionRow | None:
    with _conn(settings) as conn:
        return _row(
            conn.execute(
                f"SELECT {_COLUMNS} FROM app_sessions WHERE id = %s",
                (sid,),
            ).fetchone()
        )


def touch(settings: Settings, sid: int, now: datetime) -> None:
    """Record use (the idle clock restarts); called at most once a minute per tab."""
    with _conn(settings) as conn:
        conn.execute("UPDATE app_sessions SET last_seen = greatest(last_seen, %s) WHERE id = %s", (now, sid))


def revoke(settings: Settings, *, sid: int | None = None, token: str | None = None) -> int:
    """End a session for good (logout): by row id, by cookie token, or both. Rows deleted."""
    ids = [sid] if sid is not None else []
    hashes = [token_hash(token)] if token is not None and well_formed(token) else []
    if not ids and not hashes:
        return 0
    with _conn(settings) as conn:
        cur = conn.execute(
            "DELETE FROM app_sessions WHERE id = ANY(%s) OR token_hash = ANY(%s)", (ids, hashes)
        )
        return cur.rowcount

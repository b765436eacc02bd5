"""The pure session-token logic (app_streamlit/tokens.py): shapes, hashes, expiry, stamps, origin."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app_streamlit.tokens import (
    Policy,
    SessionRow,
    check,
    credential_stamp,
    new_token,
    same_origin,
    token_hash,
    well_formed,
)
from netvigil.settings import AppSettings

NOW = datetime(2026, 12, 7, 6, 0, tzinfo=UTC)
POLICY = Policy.from_hours(12, 168)
USERS = {"ann": {"password_hash": "$2b$04$abc", "role": "operator"}}


def _row(**over: object) -> SessionRow:
    base: dict[str, object] = {
        "id": 1,
        "username": "ann",
        "role": "operator",
        "stamp": credential_stamp(USERS, "ann"),
        "last_seen": NOW - timedelta(minutes=5),
        "expires_at": NOW + timedelta(days=6),
    }
    base.update(over)
    return SessionRow(**base)  # type: ignore[arg-type]


def test_tokens_are_random_well_formed_and_hashed() -> None:
    tokens = {new_token() for _ in range(200)}
    assert len(tokens) == 200
    assert all(well_formed(t) and len(t) == 43 for t in tokens)
    t = next(iter(tokens))
    assert token_hash(t) == token_hash(t) and len(token_hash(t)) == 32
    assert token_hash(t) != token_hash(t[:-1] + ("A" if t[-1] != "A" else "B"))
    assert t.encode() not in token_hash(t)


@pytest.mark.parametrize(
    "junk", [None, "", "abc", "x" * 42, "x" * 44, "a.b" + "x" * 40, "é" * 43, 12345, b"x" * 43]
)
def test_junk_cookies_are_not_tokens(junk: object) -> None:
    assert not well_formed(junk)


def test_stamp_follows_role_and_password_and_user() -> None:
    stamp = credential_stamp(USERS, "ann")
    assert stamp is not None and stamp == credential_stamp(dict(USERS), "ann")
    assert credential_stamp(USERS, "bob") is None
    assert credential_stamp({"ann": {**USERS["ann"], "role": "admin"}}, "ann") != stamp
    assert credential_stamp({"ann": {**USERS["ann"], "password_hash": "$2b$04$new"}}, "ann") != stamp


def test_a_fresh_session_is_good() -> None:
    assert check(_row(), USERS, NOW, POLICY) is None


@pytest.mark.parametrize(
    ("row", "users", "reason"),
    [
        (_row(expires_at=NOW), USERS, "expired"),
        (_row(last_seen=NOW - timedelta(hours=12)), USERS, "idle too long"),
        (_row(), {}, "user removed"),
        (_row(), {"ann": {**USERS["ann"], "role": "viewer"}}, "role or password changed"),
        (_row(), {"ann": {**USERS["ann"], "password_hash": "$2b$04$new"}}, "role or password changed"),
        (_row(stamp="0" * 32), USERS, "role or password changed"),
    ],
    ids=["absolute", "idle", "removed", "role", "password", "forged-stamp"],
)
def test_sessions_end(row: SessionRow, users: dict[str, dict[str, str]], reason: str) -> None:
    assert check(row, users, NOW, POLICY) == reason


def test_idle_limit_is_the_setting() -> None:
    row = _row(last_seen=NOW - timedelta(hours=3))
    assert check(row, USERS, NOW, Policy.from_hours(4, 168)) is None
    assert check(row, USERS, NOW, Policy.from_hours(2, 168)) == "idle too long"


def test_policy_defaults_and_refusals() -> None:
    app = AppSettings()
    assert (app.session_idle_hours, app.session_max_hours, app.session_cookie_secure) == (12.0, 168.0, False)
    with pytest.raises(ValueError, match="positive"):
        Policy.from_hours(0, 1)


@pytest.mark.parametrize(
    ("headers", "host", "ok"),
    [
        ({"origin": "http://nv.example:8501", "sec-fetch-site": "same-origin"}, "nv.example:8501", True),
        ({"origin": "https://NV.example"}, "nv.example", True),
        ({"origin": "https://evil.example", "sec-fetch-site": "cross-site"}, "nv.example", False),
        ({"origin": "https://evil.example"}, "nv.example", False),
        ({"origin": "http://nv.example:8501", "sec-fetch-site": "same-site"}, "nv.example:8501", False),
        ({"origin": "null"}, "nv.example", False),
        ({}, "nv.example", False),
        ({"origin": "http://nv.example"}, None, False),
    ],
)
def test_same_origin(headers: dict[str, str], host: str | None, ok: bool) -> None:
    assert same_origin(headers, host) is ok

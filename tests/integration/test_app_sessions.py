"""The session store (migration 0008) and the cookie routes against the real test PostgreSQL."""

from __future__ import annotations

import uuid
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import msgspec
import psycopg
import pytest
from starlette.applications import Starlette

from app_streamlit import session_routes, sessions
from app_streamlit.tokens import CLAIM_PATH, COOKIE_NAME, HANDOFF_TTL, LOGOUT_PATH, Policy, token_hash
from netvigil.db import connect
from netvigil.settings import Settings

with warnings.catch_warnings():  # Starlette 1.x nags about httpx vs httpx2; httpx is what is installed
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

POLICY = Policy.from_hours(12, 168)
ORIGIN = {"origin": "http://testserver"}


@pytest.fixture()
def env(pg_stack: Settings) -> Iterator[tuple[Settings, str]]:
    name = f"sess{uuid.uuid4().hex[:6]}"
    users = {name: {"password_hash": "$2b$04$notreal", "role": "operator"}}
    settings = msgspec.structs.replace(pg_stack, app=msgspec.structs.replace(pg_stack.app, users=users))
    yield settings, name
    with connect(pg_stack) as conn:
        conn.execute("DELETE FROM app_sessions WHERE username = %s", (name,))
        conn.commit()


def _now() -> datetime:
    return datetime.now(UTC)


def test_readonly_role_cannot_touch_sessions(pg_stack: Settings) -> None:
    with connect(pg_stack, readonly=True, autocommit=True) as ro:
        for statement in ("SELECT * FROM app_sessions", "DELETE FROM app_sessions"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                ro.execute(statement)


def test_handoff_is_spent_once_and_only_hashes_are_stored(env: tuple[Settings, str]) -> None:
    settings, name = env
    sid, code = sessions.start(settings, name, "operator", POLICY, _now())
    assert sessions.pending(settings, sid, _now())
    won = sessions.claim(settings, code, settings.app.users, POLICY, _now())
    assert won is not None
    token, row = won
    assert row.id == sid and row.username == name
    assert sessions.claim(settings, code, settings.app.users, POLICY, _now()) is None  # spent
    assert not sessions.pending(settings, sid, _now())
    found = sessions.lookup(settings, token)
    assert found is not None and found.id == sid and sessions.by_id(settings, sid) == found
    with connect(settings) as conn:
        stored = conn.execute("SELECT * FROM app_sessions WHERE id = %s", (sid,)).fetchone()
    assert stored is not None and token_hash(token) in stored
    assert not any(isinstance(v, str) and (token in v or code in v) for v in stored)
    assert sessions.revoke(settings, token=token) == 1
    assert sessions.lookup(settings, token) is None and sessions.by_id(settings, sid) is None


def test_late_or_stale_claims_fail(env: tuple[Settings, str]) -> None:
    settings, name = env
    _sid, code = sessions.start(settings, name, "operator", POLICY, _now())
    late = _now() + HANDOFF_TTL + timedelta(seconds=1)
    assert sessions.claim(settings, code, settings.app.users, POLICY, late) is None
    _sid, code = sessions.start(settings, name, "operator", POLICY, _now())
    changed = {name: {**settings.app.users[name], "role": "viewer"}}
    assert sessions.claim(settings, code, changed, POLICY, _now()) is None  # role changed meanwhile
    assert sessions.claim(settings, "x" * 43, settings.app.users, POLICY, _now()) is None


def test_login_sweeps_dead_sessions(env: tuple[Settings, str]) -> None:
    settings, name = env
    old = _now() - timedelta(hours=13)
    sid, code = sessions.start(settings, name, "operator", POLICY, old)
    assert sessions.claim(settings, code, settings.app.users, POLICY, old) is not None
    sessions.start(settings, name, "operator", POLICY, _now())
    assert sessions.by_id(settings, sid) is None


def test_store_down_is_one_exception_without_the_dsn(env: tuple[Settings, str]) -> None:
    settings, name = env
    down = msgspec.structs.replace(
        settings,
        postgres=msgspec.structs.replace(settings.postgres, dsn="postgresql://nv:s3cret@127.0.0.1:9/nv"),
    )
    for call in (
        lambda: sessions.start(down, name, "operator", POLICY, _now()),
        lambda: sessions.lookup(down, "x" * 43),
        lambda: sessions.revoke(down, sid=1),
    ):
        with pytest.raises(sessions.StoreUnavailable) as info:
            call()
        assert "s3cret" not in str(info.value)


@pytest.fixture()
def client(env: tuple[Settings, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setattr(session_routes, "_settings", lambda: env[0])
    with TestClient(Starlette(routes=session_routes.routes())) as c:
        yield c


def test_claim_sets_an_httponly_strict_cookie_once(env: tuple[Settings, str], client: TestClient) -> None:
    settings, name = env
    _sid, code = sessions.start(settings, name, "operator", POLICY, _now())
    assert client.post(CLAIM_PATH, content=code).status_code == 403  # no Origin: not from our page
    cross = {"origin": "https://evil.example", "sec-fetch-site": "cross-site"}
    assert client.post(CLAIM_PATH, content=code, headers=cross).status_code == 403
    assert client.get(CLAIM_PATH).status_code == 405
    reply = client.post(CLAIM_PATH, content=code, headers=ORIGIN)
    assert reply.status_code == 204 and reply.headers["cache-control"] == "no-store"
    cookie = reply.headers["set-cookie"]
    attrs = {a.strip().split("=")[0].lower() for a in cookie.split(";")}
    assert {"httponly", "path", "max-age", "samesite"} <= attrs and "secure" not in attrs
    assert "samesite=strict" in cookie.lower() and f"max-age={168 * 3600}" in cookie.lower()
    token = client.cookies[COOKIE_NAME]
    assert sessions.lookup(settings, token) is not None
    assert client.post(CLAIM_PATH, content=code, headers=ORIGIN).status_code == 410  # spent
    assert client.post(CLAIM_PATH, content="x" * 400, headers=ORIGIN).status_code == 413

    # Logout: refused cross-site (no forced logout from another site), then the row and cookie go.
    assert client.post(LOGOUT_PATH, headers=cross).status_code == 403
    assert sessions.lookup(settings, token) is not None
    out = client.post(LOGOUT_PATH, headers=ORIGIN)
    assert out.status_code == 204 and 'nv_session=""' in out.headers["set-cookie"]
    assert sessions.lookup(settings, token) is None and COOKIE_NAME not in client.cookies


def test_cookie_is_secure_behind_tls_proxy(
    env: tuple[Settings, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, name = env
    secure = msgspec.structs.replace(
        settings, app=msgspec.structs.replace(settings.app, session_cookie_secure=True)
    )
    monkeypatch.setattr(session_routes, "_settings", lambda: secure)
    with TestClient(Starlette(routes=session_routes.routes())) as c:
        _sid, code = sessions.start(secure, name, "operator", POLICY, _now())
        reply = c.post(CLAIM_PATH, content=code, headers=ORIGIN)
    assert reply.status_code == 204 and "secure" in reply.headers["set-cookie"].lower()

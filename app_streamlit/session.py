"""Per-process resources (settings, read-only pool, Redis) and the logged-in user.

Streamlit reruns a page script on every interaction; the pool and clients
are cached once per server process, the user lives in the browser session.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import redis
import streamlit as st
from psycopg_pool import ConnectionPool, PoolTimeout

from app_streamlit import login_state
from app_streamlit.auth import can
from netvigil.settings import Settings, load_settings, mask_url

__all__ = [
    "current_role",
    "current_user",
    "guard",
    "read_conn",
    "redis_client",
    "require_login",
    "settings",
]

STATEMENT_TIMEOUT_MS = 15000
POOL_WAIT_S = 5.0
log = logging.getLogger(__name__)


@st.cache_resource(show_spinner=False)
def settings() -> Settings:
    return load_settings()


@st.cache_resource(show_spinner=False)
def _pool(dsn: str) -> ConnectionPool[psycopg.Connection[Any]]:
    return ConnectionPool(
        dsn,
        min_size=1,
        max_size=4,
        open=True,
        kwargs={"autocommit": True, "options": f"-c statement_timeout={STATEMENT_TIMEOUT_MS}"},
        name="netvigil-app-ro",
    )


@contextmanager
def read_conn() -> Iterator[psycopg.Connection[Any]]:
    """A pooled connection as the read-only role (it cannot read device credentials).

    A database outage stops the page with one line saying so (the DSN masked),
    never a traceback; the next rerun tries again.
    """
    guard()
    try:
        with _pool(settings().postgres.readonly_dsn).connection(timeout=POOL_WAIT_S) as conn:
            yield conn
    except (psycopg.OperationalError, PoolTimeout) as exc:
        log.warning("database unavailable: %s", type(exc).__name__)
        st.error(
            f"Database unavailable ({mask_url(settings().postgres.readonly_dsn)}): {type(exc).__name__}. "
            "Retrying on the next refresh."
        )
        st.stop()


@st.cache_resource(show_spinner=False)
def redis_client() -> redis.Redis:
    return redis.Redis.from_url(settings().redis.url, socket_timeout=2, socket_connect_timeout=2)


def guard() -> None:
    """Stop showing data once the login has ended (logout in another tab, expiry, role change).

    A live fragment (``st.fragment(run_every=...)``) reruns only itself, not
    main.py, so the session check there would never run on a page left open.
    Every read goes through here: the session row is re-read at most once a
    minute, and a rerun of the whole app then shows the login form.
    """
    if current_user() is None:
        return
    login_state.establish(settings())
    if current_user() is None:
        st.rerun()


def current_user() -> str | None:
    user = st.session_state.get("user")
    return user if isinstance(user, str) else None


def current_role() -> str | None:
    role = st.session_state.get("role")
    return role if isinstance(role, str) else None


def require_login() -> tuple[str, str]:
    """(user, role), or stop the page with a refusal when nobody is logged in."""
    user, role = current_user(), current_role()
    if user is None or role is None or not can(role, "view"):
        st.error("Please log in to see this page.")
        st.stop()
    assert user is not None and role is not None  # st.stop() does not return
    return user, role

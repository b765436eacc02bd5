"""Keeping a login across reloads and tabs: the Streamlit side of the session cookie.

A reload or a new tab is a new Streamlit session with an empty
``st.session_state``; what survives is the HttpOnly cookie, which the browser
sends when the page's WebSocket opens (``st.context.cookies``). ``establish``
turns a good cookie back into the logged-in user, and re-reads an open tab's
session row every ``RECHECK`` so that a logout elsewhere, an expiry or a role
change reaches it.

A page script cannot set a cookie (it answers over the WebSocket, not HTTP),
so at login it puts a one-time handoff code into a tiny script that POSTs it
to ``CLAIM_PATH``; that route answers with the cookie (session_routes.py).
Logout deletes the row first (that alone ends the session everywhere) and
then has the browser POST ``LOGOUT_PATH`` to drop the cookie.

If the session table cannot be reached the user is simply not remembered
(log in again); nothing here raises into a page.
"""

from __future__ import annotations

import contextlib
import json
import logging
from datetime import UTC, datetime

import streamlit as st

from app_streamlit import sessions
from app_streamlit.tokens import (
    CLAIM_PATH,
    COOKIE_NAME,
    LOGOUT_PATH,
    RECHECK,
    Policy,
    check,
    token_hash,
    well_formed,
)
from netvigil.settings import Settings

__all__ = ["NOTICE", "begin", "end", "establish", "render_scripts"]

log = logging.getLogger(__name__)

_USER, _ROLE, _SID, _CHECKED = "user", "role", "sid", "sid_checked"
_HANDOFF, _CLEAR, _REFUSED = "handoff", "clear_cookie", "cookie_refused"
NOTICE = "login_notice"
# fetch with a few retries: a slow server or a dropped connection right after
# login must not silently leave the browser without its cookie.
_POST = """<script>(() => {{
  const key = {key}; window.__nvPosted = window.__nvPosted || {{}};
  if (window.__nvPosted[key]) return; window.__nvPosted[key] = true;
  const send = (left) => fetch({path}, {{method: "POST", body: {body}, credentials: "same-origin",
      cache: "no-store", headers: {{"Content-Type": "text/plain"}}}})
    .then((r) => {{ if (r.status >= 500 && left > 0) setTimeout(() => send(left - 1), 1000); }})
    .catch(() => {{ if (left > 0) setTimeout(() => send(left - 1), 1000); }});
  send(3);
}})();</script>"""


def _now() -> datetime:
    return datetime.now(UTC)


def _policy(settings: Settings) -> Policy:
    return Policy.from_hours(settings.app.session_idle_hours, settings.app.session_max_hours)


def _forget() -> None:
    for key in (_USER, _ROLE, _SID, _CHECKED, _HANDOFF):
        st.session_state.pop(key, None)


def establish(settings: Settings) -> None:
    """Make ``st.session_state`` agree with the server-side session, before any page runs."""
    now = _now()
    sid = st.session_state.get(_SID)
    if isinstance(st.session_state.get(_USER), str):
        checked = st.session_state.get(_CHECKED)
        if not isinstance(sid, int) or (isinstance(checked, datetime) and now - checked < RECHECK):
            return
        _recheck(settings, sid, now)
        return
    token = st.context.cookies.get(COOKIE_NAME)
    if not well_formed(token):
        return
    assert isinstance(token, str)
    if st.session_state.get(_REFUSED) == token_hash(token):
        return  # this tab's cookie was refused once already: no query on every keystroke of the login form
    try:
        row = sessions.lookup(settings, token)
        reason = (
            "unknown or logged out" if row is None else check(row, settings.app.users, now, _policy(settings))
        )
        if row is not None and reason is None:
            sessions.touch(settings, row.id, now)
    except sessions.StoreUnavailable as exc:
        log.warning("session store unavailable, not restoring the login: %s", exc)
        return
    if row is None or reason is not None:
        log.info("session cookie refused: %s", reason)
        if row is not None:
            _revoke_quietly(settings, row.id)
        st.session_state[_REFUSED] = token_hash(token)
        st.session_state.setdefault(NOTICE, "Your session has ended. Please log in again.")
        return
    st.session_state.update({_USER: row.username, _ROLE: row.role, _SID: row.id, _CHECKED: now})
    log.info("session restored for user %s (session %d)", row.username, row.id)


def _recheck(settings: Settings, sid: int, now: datetime) -> None:
    """An open tab's periodic look at its row; a store outage keeps the tab as it is until next time."""
    try:
        row = sessions.by_id(settings, sid)
        reason = "logged out" if row is None else check(row, settings.app.users, now, _policy(settings))
        if row is not None and reason is None:
            sessions.touch(settings, sid, now)
    except sessions.StoreUnavailable as exc:
        log.warning("session store unavailable, session %d not rechecked: %s", sid, exc)
        return
    if reason is not None:
        log.info("session %d of user %s ended: %s", sid, st.session_state.get(_USER), reason)
        if row is not None:
            _revoke_quietly(settings, sid)
        _forget()
        st.session_state[NOTICE] = "Your session has ended. Please log in again."
        return
    assert row is not None
    st.session_state[_ROLE] = row.role
    st.session_state[_CHECKED] = now


def _revoke_quietly(settings: Settings, sid: int) -> None:
    with contextlib.suppress(sessions.StoreUnavailable):  # refused anyway; swept at a later login
        sessions.revoke(settings, sid=sid)


def begin(settings: Settings, user: str, role: str) -> bool:
    """After a successful password check: log this tab in and start the remembered session.

    False when the session could not be stored: the tab is logged in all the
    same, but a reload will ask for the password again.
    """
    st.session_state.update({_USER: user, _ROLE: role})
    st.session_state.pop(_CLEAR, None)
    st.session_state.pop(NOTICE, None)
    now = _now()
    try:
        sid, code = sessions.start(settings, user, role, _policy(settings), now)
    except (sessions.StoreUnavailable, ValueError) as exc:
        log.warning("session store unavailable, login of %s not remembered: %s", user, exc)
        return False
    st.session_state.update({_SID: sid, _CHECKED: now, _HANDOFF: code})
    return True


def end(settings: Settings) -> None:
    """Logout: the row goes first (the session is over everywhere), then the cookie."""
    sid = st.session_state.get(_SID)
    user = st.session_state.get(_USER)
    if isinstance(sid, int):
        try:
            sessions.revoke(settings, sid=sid)
        except sessions.StoreUnavailable as exc:
            log.warning("session store unavailable at logout of session %d: %s", sid, exc)
    log.info("user %s logged out", user)
    _forget()
    st.session_state[_CLEAR] = True
    st.session_state[NOTICE] = "You are logged out."


def render_scripts(settings: Settings) -> None:
    """The invisible script of this run, if any: claim the login's cookie, or drop it after logout."""
    code = st.session_state.get(_HANDOFF)
    sid = st.session_state.get(_SID)
    if isinstance(code, str) and isinstance(sid, int) and well_formed(code):
        try:
            waiting = sessions.pending(settings, sid, _now())
        except sessions.StoreUnavailable:
            waiting = False
        if waiting:
            _post(CLAIM_PATH, code)
            return
        st.session_state.pop(_HANDOFF, None)
    if st.session_state.get(_CLEAR):
        st.session_state.pop(_CLEAR, None)
        _post(LOGOUT_PATH, "")


def _post(path: str, body: str) -> None:
    key = body or f"logout-{_now().timestamp()}"
    st.html(
        _POST.format(key=json.dumps(key), path=json.dumps(path), body=json.dumps(body)),
        unsafe_allow_javascript=True,
        width="content",
    )

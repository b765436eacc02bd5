"""The two HTTP routes that set and clear the session cookie, mounted on Streamlit's own server.

Streamlit (1.67) has no API to set a cookie from a page script: pages talk
to the browser over a WebSocket, and ``st.context.cookies`` only reads the
cookies the browser sent when that WebSocket opened. Its supported extension
point is ``st.App(routes=...)`` (Starlette routes served by the same
server, see ``server.py``), and a route's response can carry a real
``Set-Cookie`` header: HttpOnly, which page JavaScript could never set.

- ``POST CLAIM_PATH`` (body: the one-time handoff code the login page put
  in the page): spends the code and answers with the session cookie.
- ``POST LOGOUT_PATH``: revokes the session the cookie names, server-side,
  and expires the cookie.

Both refuse requests that do not come from a page of this app (Origin
check, see ``tokens.same_origin``), answer ``Cache-Control: no-store``, and
log the user name and outcome, never a token or code.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from functools import lru_cache

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from app_streamlit import sessions
from app_streamlit.tokens import CLAIM_PATH, COOKIE_NAME, LOGOUT_PATH, Policy, same_origin
from netvigil.settings import Settings, load_settings

__all__ = ["claim_endpoint", "logout_endpoint", "routes"]

log = logging.getLogger(__name__)
MAX_BODY = 256


@lru_cache(maxsize=1)
def _settings() -> Settings:
    return load_settings()


def _policy(settings: Settings) -> Policy:
    return Policy.from_hours(settings.app.session_idle_hours, settings.app.session_max_hours)


def _secure(request: Request, settings: Settings) -> bool:
    return request.url.scheme == "https" or settings.app.session_cookie_secure


def _reply(status: int) -> Response:
    return Response(status_code=status, headers={"Cache-Control": "no-store"})


async def claim_endpoint(request: Request) -> Response:
    if not same_origin(request.headers, request.headers.get("host")):
        return _reply(403)
    body = await request.body()
    if len(body) > MAX_BODY:
        return _reply(413)
    settings = _settings()
    policy = _policy(settings)
    code = body.decode("ascii", "replace").strip()
    try:
        won = await run_in_threadpool(
            sessions.claim, settings, code, settings.app.users, policy, datetime.now(UTC)
        )
    except sessions.StoreUnavailable as exc:
        log.warning("session store unavailable on claim: %s", exc)
        return _reply(503)
    if won is None:
        log.warning("session claim refused (unknown, used or expired code)")
        return _reply(410)
    token, row = won
    response = _reply(204)
    response.set_cookie(
        COOKIE_NAME,
        token,
        max_age=int(policy.max_age.total_seconds()),
        path="/",
        secure=_secure(request, settings),
        httponly=True,
        samesite="strict",
    )
    log.info("session cookie issued for user %s (session %d)", row.username, row.id)
    return response


async def logout_endpoint(request: Request) -> Response:
    if not same_origin(request.headers, request.headers.get("host")):
        return _reply(403)
    settings = _settings()
    token = request.cookies.get(COOKIE_NAME)
    response = _reply(204)
    if token:
        try:
            ended = await run_in_threadpool(sessions.revoke, settings, token=token)
        except sessions.StoreUnavailable as exc:
            log.warning("session store unavailable on logout: %s", exc)
            ended = 0
        log.info("logout: %d session(s) ended, cookie cleared", ended)
    response.delete_cookie(
        COOKIE_NAME, path="/", secure=_secure(request, settings), httponly=True, samesite="strict"
    )
    return response


def routes() -> list[BaseRoute]:
    return [
        Route(CLAIM_PATH, claim_endpoint, methods=["POST"]),
        Route(LOGOUT_PATH, logout_endpoint, methods=["POST"]),
    ]

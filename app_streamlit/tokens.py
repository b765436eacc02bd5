"""Login persistence, the pure part: tokens, their hashes, and when a session is still good.

Why it is built this way (the store is ``sessions.py``, the HTTP side ``session_routes.py``):

- The cookie carries an opaque random token (``secrets.token_urlsafe``, 256
  bits), not a signed user name: a server-side row can be revoked (logout,
  role change), a self-contained signed cookie cannot.
- Only the token's SHA-256 is stored. The token has full entropy, so a plain
  fast hash is enough (no salt or bcrypt needed: nothing to brute-force), and
  a leaked table or backup lets nobody log in.
- The cookie is set by an HTTP response (``Set-Cookie``: HttpOnly,
  SameSite=Strict, Path=/, Secure over https), never by page JavaScript, so
  no script in the page can read the token, and it never appears in a URL
  (history, Referer, proxy logs). The page only ever sees a one-time handoff
  code that is worthless after the exchange or after ``HANDOFF_TTL``.
- A session ends after ``idle`` without use and ``max_age`` after login, and
  no longer validates once the user's role or password hash in the config has
  changed or the user is gone (``stamp``).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

__all__ = [
    "CLAIM_PATH",
    "COOKIE_NAME",
    "HANDOFF_TTL",
    "LOGOUT_PATH",
    "RECHECK",
    "Policy",
    "SessionRow",
    "check",
    "credential_stamp",
    "new_token",
    "same_origin",
    "token_hash",
    "well_formed",
]

COOKIE_NAME = "nv_session"
CLAIM_PATH = "/api/netvigil/session"
LOGOUT_PATH = "/api/netvigil/logout"
HANDOFF_TTL = timedelta(seconds=60)
# An open tab re-reads its session row this often: a logout elsewhere or a
# role change reaches it within a minute, and last_seen is written at most
# once a minute per tab, not on every click.
RECHECK = timedelta(seconds=60)
_TOKEN_BYTES = 32
_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{43}")


def new_token() -> str:
    """A fresh opaque token (also used for handoff codes): 43 URL-safe characters."""
    return secrets.token_urlsafe(_TOKEN_BYTES)


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def well_formed(token: object) -> bool:
    """Only strings shaped like our tokens reach the database (junk cookies cost nothing)."""
    return isinstance(token, str) and _TOKEN_RE.fullmatch(token) is not None


def credential_stamp(users: Mapping[str, Mapping[str, str]], name: str) -> str | None:
    """A digest of the user's current role and password hash; None when the user is gone.

    Stored with the session at login and compared on every check, so editing
    the user's role or password in the config (or removing the user) ends
    their sessions without a list to maintain.
    """
    user = users.get(name)
    if user is None:
        return None
    material = "\0".join((name, user.get("role", "viewer"), user.get("password_hash", "")))
    return hashlib.sha256(material.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Policy:
    idle: timedelta
    max_age: timedelta

    @classmethod
    def from_hours(cls, idle_hours: float, max_hours: float) -> Policy:
        if idle_hours <= 0 or max_hours <= 0:
            raise ValueError("session_idle_hours and session_max_hours must be positive")
        return cls(timedelta(hours=idle_hours), timedelta(hours=max_hours))


@dataclass(frozen=True)
class SessionRow:
    id: int
    username: str
    role: str
    stamp: str
    last_seen: datetime
    expires_at: datetime


def check(
    row: SessionRow, users: Mapping[str, Mapping[str, str]], now: datetime, policy: Policy
) -> str | None:
    """Why the session is no longer good (for the log), or None when it is."""
    if now >= row.expires_at:
        return "expired"
    if now - row.last_seen >= policy.idle:
        return "idle too long"
    stamp = credential_stamp(users, row.username)
    if stamp is None:
        return "user removed"
    if not secrets.compare_digest(stamp, row.stamp):
        return "role or password changed"
    if users[row.username].get("role", "viewer") != row.role:  # covered by the stamp; belt and braces
        return "role changed"
    return None


def same_origin(headers: Mapping[str, str], host: str | None) -> bool:
    """A state-changing request came from a page of this app (CSRF guard for the cookie routes).

    Browsers send ``Origin`` on every POST made by fetch; it must name this
    host. ``Sec-Fetch-Site``, when sent, must say same-origin. A request with
    no Origin at all (curl, another server) is refused too: the routes are
    only meant for the app's own pages.
    """
    origin = headers.get("origin")
    if not origin or not host:
        return False
    site = headers.get("sec-fetch-site")
    if site is not None and site != "same-origin":
        return False
    return urlsplit(origin).netloc.lower() == host.lower()

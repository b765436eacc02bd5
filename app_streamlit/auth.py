"""Passwords and roles: who may look, who may act.

Users come from settings only (``app.users``: name -> {password_hash, role}).
Passwords are bcrypt hashes; the plain password never leaves this module.
Every write checks the role here, on the server, whatever the UI showed.
"""

from __future__ import annotations

from collections.abc import Mapping

import bcrypt

__all__ = [
    "ACTIONS",
    "ROLES",
    "AccessDenied",
    "authenticate",
    "can",
    "hash_password",
    "require",
    "verify_password",
]

ROLES: tuple[str, ...] = ("viewer", "operator", "admin")

# action -> lowest role allowed to do it
ACTIONS: dict[str, str] = {
    "view": "viewer",
    "acknowledge": "operator",
    "note": "operator",
    "false_positive": "operator",
    "silence": "operator",
    "promote": "admin",
}

# Compared against when the user is unknown, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = bcrypt.hashpw(b"not-a-password", bcrypt.gensalt(rounds=4))


class AccessDenied(PermissionError):
    """The user's role does not allow the action."""


def hash_password(password: str, rounds: int = 12) -> str:
    if not password:
        raise ValueError("empty password")
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=rounds)).decode()


def verify_password(password: str, password_hash: str) -> bool:
    try:
        return bcrypt.checkpw(password.encode(), password_hash.encode())
    except ValueError:  # malformed hash in config: refuse, never crash the login page
        return False


def authenticate(users: Mapping[str, Mapping[str, str]], name: str, password: str) -> str | None:
    """The user's role when name and password match, else None."""
    user = users.get(name)
    if user is None:
        verify_password(password, _DUMMY_HASH.decode())
        return None
    if not verify_password(password, user.get("password_hash", "")):
        return None
    role = user.get("role", "viewer")
    return role if role in ROLES else None


def can(role: str | None, action: str) -> bool:
    if role not in ROLES or action not in ACTIONS:
        return False
    return ROLES.index(role) >= ROLES.index(ACTIONS[action])


def require(role: str | None, action: str) -> None:
    if not can(role, action):
        raise AccessDenied(f"role {role or 'anonymous'} may not {action}")

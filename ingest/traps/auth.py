"""Who may send traps: v1/v2c communities and SNMPv3 users, from settings.

Kept apart from the receiver so the rules are unit-tested and so the secrets
live in one place; nothing here ever logs or formats a community or a key.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from netvigil.settings import CollectorSettings, TrapV3User

__all__ = ["AUTH_PROTOCOLS", "PRIV_PROTOCOLS", "TrapAuth", "V3User", "engine_id_bytes"]

AUTH_PROTOCOLS = ("MD5", "SHA", "SHA224", "SHA256", "SHA384", "SHA512")
PRIV_PROTOCOLS = ("DES", "AES", "AES128", "AES192", "AES256")


def engine_id_bytes(text: str) -> bytes:
    """``0x8000...`` or ``8000...`` (net-snmp's ``-e``) as bytes; ValueError when not 5-32 octets of hex."""
    raw = text.strip().lower().removeprefix("0x").replace(":", "")
    try:
        value = bytes.fromhex(raw)
    except ValueError:
        raise ValueError("engine id must be hexadecimal") from None
    if not 5 <= len(value) <= 32:
        raise ValueError(f"engine id must be 5 to 32 octets, not {len(value)}")
    return value


@dataclass(frozen=True, repr=False)
class V3User:
    """A validated v3 trap user. ``repr`` never shows the keys."""

    user: str
    engine_id: bytes
    auth_proto: str | None
    auth_key: str | None
    priv_proto: str | None
    priv_key: str | None

    @classmethod
    def from_settings(cls, cfg: TrapV3User) -> V3User:
        auth = cfg.auth_proto.upper() if cfg.auth_proto else None
        priv = cfg.priv_proto.upper() if cfg.priv_proto else None
        if auth is not None and auth not in AUTH_PROTOCOLS:
            raise ValueError(f"trap user {cfg.user}: unknown auth protocol {cfg.auth_proto!r}")
        if priv is not None and priv not in PRIV_PROTOCOLS:
            raise ValueError(f"trap user {cfg.user}: unknown privacy protocol {cfg.priv_proto!r}")
        if bool(auth) != bool(cfg.auth_key) or bool(priv) != bool(cfg.priv_key):
            raise ValueError(f"trap user {cfg.user}: a protocol needs its key and a key its protocol")
        if priv and not auth:
            raise ValueError(f"trap user {cfg.user}: privacy needs authentication")
        for key in (cfg.auth_key, cfg.priv_key):
            if key is not None and len(key) < 8:
                raise ValueError(f"trap user {cfg.user}: keys must be at least 8 characters")
        try:
            engine = engine_id_bytes(cfg.engine_id)
        except ValueError as exc:
            raise ValueError(f"trap user {cfg.user}: {exc}") from None
        return cls(cfg.user, engine, auth, cfg.auth_key, priv, cfg.priv_key)

    def __repr__(self) -> str:
        return (
            f"V3User(user={self.user!r}, engine_id={self.engine_id.hex()}, "
            f"auth={self.auth_proto}, priv={self.priv_proto})"
        )


class TrapAuth:
    """Accept or refuse a v1/v2c community; hold the v3 users for the pysnmp engine."""

    def __init__(self, communities: list[str], users: list[V3User], *, v3_only: bool = False) -> None:
        self._communities = [c.encode() for c in communities]
        self.users = users
        self.v3_only = v3_only

    @classmethod
    def from_settings(cls, cfg: CollectorSettings) -> TrapAuth:
        users = [V3User.from_settings(u) for u in cfg.trap_v3_users]
        return cls(list(cfg.trap_communities), users, v3_only=cfg.v3_only)

    def community_ok(self, community: bytes) -> bool:
        """Constant-time per candidate; a handful of communities at most."""
        ok = False
        for allowed in self._communities:
            ok |= hmac.compare_digest(allowed, community)
        return ok

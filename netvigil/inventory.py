"""The device inventory: what to poll, with which credentials, and how devices relate.

Credentials are kept apart from the device (snmp_exporter's ``auths`` vs
targets) in their own table, which the app's read-only role cannot read, and
their ``repr`` never shows a secret: printing a device, logging it or putting
it in an exception message is safe.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from typing import Any, Literal

import msgspec
import psycopg

__all__ = [
    "AUTH_PROTOCOLS",
    "PRIV_PROTOCOLS",
    "AddressIndex",
    "Credentials",
    "Device",
    "get_device",
    "load_devices",
    "remove_device",
    "upsert_device",
]

SECRET = "<secret>"  # noqa: S105 - the mask, not a secret
log = logging.getLogger(__name__)
AUTH_PROTOCOLS = ("MD5", "SHA", "SHA224", "SHA256", "SHA384", "SHA512")
PRIV_PROTOCOLS = ("DES", "AES", "AES192", "AES256")
SnmpVersion = Literal["v1", "v2c", "v3", "none"]
V3Level = Literal["noAuthNoPriv", "authNoPriv", "authPriv"]


class Credentials(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """SNMP credentials. ``repr``/``public()`` mask every secret."""

    version: SnmpVersion = "v2c"
    community: str | None = None
    user: str | None = None
    level: V3Level | None = None
    auth_proto: str | None = None
    auth_key: str | None = None
    priv_proto: str | None = None
    priv_key: str | None = None
    engine_id: str | None = None
    context: str | None = None

    def __post_init__(self) -> None:
        if self.auth_proto and self.auth_proto.upper() not in AUTH_PROTOCOLS:
            raise ValueError(f"unknown auth protocol {self.auth_proto!r}; one of {', '.join(AUTH_PROTOCOLS)}")
        if self.priv_proto and self.priv_proto.upper() not in PRIV_PROTOCOLS:
            raise ValueError(
                f"unknown privacy protocol {self.priv_proto!r}; one of {', '.join(PRIV_PROTOCOLS)}"
            )
        if self.version in ("v1", "v2c") and not self.community:
            raise ValueError(f"SNMP {self.version} needs a community")
        if self.version == "v3":
            if not self.user:
                raise ValueError("SNMP v3 needs a user")
            level = self.level or (
                "authPriv" if self.priv_key else "authNoPriv" if self.auth_key else "noAuthNoPriv"
            )
            self.level = level
            if level in ("authNoPriv", "authPriv") and not (self.auth_key and self.auth_proto):
                raise ValueError(f"SNMP v3 {level} needs an auth protocol and key")
            if level == "authPriv" and not (self.priv_key and self.priv_proto):
                raise ValueError("SNMP v3 authPriv needs a privacy protocol and key")
            for name in ("auth_key", "priv_key"):
                key = getattr(self, name)
                if key is not None and len(key) < 8:
                    raise ValueError(f"SNMP v3 {name.replace('_', ' ')} must be at least 8 characters")

    def public(self) -> dict[str, Any]:
        """Plain data with secrets replaced by ``<secret>``."""
        data: dict[str, Any] = msgspec.to_builtins(self)
        for name in ("community", "auth_key", "priv_key"):
            if data.get(name):
                data[name] = SECRET
        return {k: v for k, v in data.items() if v is not None}

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={v!r}" for k, v in self.public().items())
        return f"Credentials({inner})"

    __str__ = __repr__


class Device(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: str
    address: str
    port: int = 161
    credentials: Credentials = msgspec.field(default_factory=lambda: Credentials(version="none"))
    poll_interval: float = 60.0
    modules: list[str] = msgspec.field(default_factory=lambda: ["system", "interfaces", "host"])
    tags: dict[str, str] = msgspec.field(default_factory=dict)
    parent: str | None = None
    enabled: bool = True

    def public(self) -> dict[str, Any]:
        data: dict[str, Any] = msgspec.to_builtins(self)
        data["credentials"] = self.credentials.public()
        return data


_SELECT = """
SELECT d.name, d.address, d.port, d.snmp_version, d.poll_interval, d.modules, d.tags,
       d.parent, d.enabled, c.community, c.v3_user, c.v3_level, c.v3_auth_proto,
       c.v3_auth_key, c.v3_priv_proto, c.v3_priv_key, c.v3_engine_id, c.v3_context
FROM devices d LEFT JOIN device_credentials c ON c.device = d.name
"""


def _row_to_device(row: tuple[Any, ...]) -> Device:
    (
        name,
        address,
        port,
        version,
        interval,
        modules,
        tags,
        parent,
        enabled,
        community,
        user,
        level,
        auth_proto,
        auth_key,
        priv_proto,
        priv_key,
        engine_id,
        context,
    ) = row
    # Rows written by upsert_device were validated; a row written another way
    # (plain SQL, missing credentials) must not make the whole inventory
    # unreadable: its device loads without usable credentials (version "none").
    try:
        creds = msgspec.convert(
            {
                "version": version,
                "community": community,
                "user": user,
                "level": level,
                "auth_proto": auth_proto,
                "auth_key": auth_key,
                "priv_proto": priv_proto,
                "priv_key": priv_key,
                "engine_id": engine_id,
                "context": context,
            },
            Credentials,
        )
    except msgspec.ValidationError as exc:
        log.warning("device %s has unusable %s credentials (%s): not polled", name, version, exc)
        creds = Credentials(version="none")
    return Device(
        name=name,
        address=address,
        port=port,
        credentials=creds,
        poll_interval=interval,
        modules=list(modules),
        tags=dict(tags or {}),
        parent=parent,
        enabled=enabled,
    )


def load_devices(conn: psycopg.Connection, *, enabled_only: bool = False) -> list[Device]:
    query = _SELECT + (" WHERE d.enabled" if enabled_only else "") + " ORDER BY d.name"
    return [_row_to_device(r) for r in conn.execute(query).fetchall()]


def get_device(conn: psycopg.Connection, name: str) -> Device | None:
    row = conn.execute(_SELECT + " WHERE d.name = %s", (name,)).fetchone()
    return _row_to_device(row) if row else None


def upsert_device(conn: psycopg.Connection, device: Device) -> None:
    """Insert or update a device and its credentials in one transaction."""
    c = device.credentials
    with conn.transaction():
        conn.execute(
            """
            INSERT INTO devices (name, address, port, snmp_version, poll_interval, modules, tags, parent, enabled)
            VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)
            ON CONFLICT (name) DO UPDATE SET address = EXCLUDED.address, port = EXCLUDED.port,
                snmp_version = EXCLUDED.snmp_version, poll_interval = EXCLUDED.poll_interval,
                modules = EXCLUDED.modules, tags = EXCLUDED.tags, parent = EXCLUDED.parent,
                enabled = EXCLUDED.enabled, updated_at = now()
            """,
            (
                device.name,
                device.address,
                device.port,
                c.version,
                device.poll_interval,
                device.modules,
                json.dumps(device.tags),
                device.parent,
                device.enabled,
            ),
        )
        conn.execute(
            """
            INSERT INTO device_credentials (device, community, v3_user, v3_level, v3_auth_proto,
                v3_auth_key, v3_priv_proto, v3_priv_key, v3_engine_id, v3_context)
            VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
            ON CONFLICT (device) DO UPDATE SET community = EXCLUDED.community, v3_user = EXCLUDED.v3_user,
                v3_level = EXCLUDED.v3_level, v3_auth_proto = EXCLUDED.v3_auth_proto,
                v3_auth_key = EXCLUDED.v3_auth_key, v3_priv_proto = EXCLUDED.v3_priv_proto,
                v3_priv_key = EXCLUDED.v3_priv_key, v3_engine_id = EXCLUDED.v3_engine_id,
                v3_context = EXCLUDED.v3_context
            """,
            (
                device.name,
                c.community,
                c.user,
                c.level,
                c.auth_proto,
                c.auth_key,
                c.priv_proto,
                c.priv_key,
                c.engine_id,
                c.context,
            ),
        )


def remove_device(conn: psycopg.Connection, name: str) -> bool:
    with conn.transaction():
        cur = conn.execute("DELETE FROM devices WHERE name = %s", (name,))
    return cur.rowcount > 0


class AddressIndex:
    """Match a sender's address to an inventory device (traps, syslog, pings)."""

    def __init__(self, devices: Iterable[Device] = ()) -> None:
        self._by_address: dict[str, str] = {}
        self.update(devices)

    def update(self, devices: Iterable[Device]) -> None:
        self._by_address = {d.address: d.name for d in devices}

    def match(self, address: str) -> str | None:
        host = address.rsplit(":", 1)[0] if address.count(":") == 1 else address
        return self._by_address.get(host)

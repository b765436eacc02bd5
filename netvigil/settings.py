"""Effective settings: defaults, then a YAML config file, then environment variables.

Why this shape: the same code must point at the local stack this project starts
on loopback and at a production Kafka, TimescaleDB and Redis. Every address is
therefore a setting, never a constant. Unknown keys are errors (as in
snmp_exporter): a typo in a config file must stop start-up with one clear line
naming the key, not silently fall back to a default.

Sources, later wins:

1. the defaults below (the local stack's loopback ports);
2. the YAML file named by ``NETVIGIL_CONFIG``, else ``./netvigil.yaml`` if present;
3. environment variables ``NETVIGIL_<SECTION>__<KEY>``, e.g.
   ``NETVIGIL_KAFKA__BOOTSTRAP=kafka:9092``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import msgspec
import yaml

__all__ = [
    "AppSettings",
    "CollectorSettings",
    "ConfigError",
    "KafkaSettings",
    "PostgresSettings",
    "RedisSettings",
    "Settings",
    "StackSettings",
    "StreamSettings",
    "TrapV3User",
    "load_settings",
    "mask_url",
    "project_root",
]

SECRET = "<secret>"  # noqa: S105 - the mask, not a secret


class ConfigError(ValueError):
    """A configuration value is missing, unknown or of the wrong type."""


def project_root() -> Path:
    """The checkout this package runs from (where pyproject.toml is)."""
    here = Path(__file__).resolve().parent.parent
    return here


class KafkaSettings(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    bootstrap: str = "127.0.0.1:19092"
    topic_prefix: str = "netvigil."
    partitions: int = 6
    replication: int = 1


class PostgresSettings(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    dsn: str = "postgresql://netvigil:netvigil@127.0.0.1:15432/netvigil"
    # Read-only role used by the app for every query but the few writes it owns.
    readonly_dsn: str = "postgresql://netvigil_ro:netvigil_ro@127.0.0.1:15432/netvigil"
    raw_retention_days: int = 7
    rollup_1m_retention_days: int = 30
    rollup_1h_retention_days: int = 400
    event_retention_days: int = 90


class RedisSettings(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    url: str = "redis://127.0.0.1:16379/0"


class StackSettings(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """The local services `netvigil stack` starts. Not used in production."""

    home: str = ".local"  # relative to the project root unless absolute
    kafka_version: str = "4.0.1"
    kafka_port: int = 19092
    kafka_controller_port: int = 19093
    kafka_heap: str = "512m"
    postgres_port: int = 15432
    redis_port: int = 16379
    bind: str = "127.0.0.1"


class TrapV3User(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """One SNMPv3 user the trap receiver accepts; keys are secrets (masked)."""

    user: str
    engine_id: str  # hex, the sender's snmpEngineID (with or without 0x)
    auth_proto: str | None = None  # MD5 SHA SHA224 SHA256 SHA384 SHA512
    auth_key: str | None = None
    priv_proto: str | None = None  # DES AES AES192 AES256
    priv_key: str | None = None


class CollectorSettings(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    bind: str = "127.0.0.1"
    trap_port: int = 1162
    syslog_udp_port: int = 1514
    syslog_tcp_port: int = 1514
    snmp_timeout: float = 2.0
    snmp_retries: int = 1
    snmp_concurrency: int = 256
    poll_interval: float = 60.0
    ping_count: int = 3
    ping_interval: float = 0.2
    ping_timeout: float = 1.0
    ping_cycle: float = 10.0
    v3_only: bool = False
    metrics_port: int = 9401
    # "k/n": this SNMP poller polls the devices whose stable hash falls in shard k of n.
    shard: str = "0/1"
    # Trap receiver credentials: v1/v2c communities accepted, and v3 USM users
    # (each bound to the sending engine's id, as USM requires for traps).
    trap_communities: list[str] = msgspec.field(default_factory=lambda: ["public"])
    trap_v3_users: list[TrapV3User] = msgspec.field(default_factory=list)


class StreamSettings(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    app_id: str = "netvigil-worker"
    web_port: int = 6066
    metrics_port: int = 9402
    sink_batch_rows: int = 20000
    sink_flush_seconds: float = 1.0
    rules_file: str = "config/rules.yaml"
    notifications_file: str = "config/notifications.yaml"
    remediation_dir: str = "config/remediation"
    # Overrides of the anomaly stage's knobs (streams/anomaly/config.py), e.g. forecast_min_span_s.
    anomaly: dict[str, float | int | str] = msgspec.field(default_factory=dict)


class AppSettings(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    port: int = 8501
    bind: str = "127.0.0.1"
    # username -> {"password_hash": bcrypt hash, "role": viewer|operator|admin}
    users: dict[str, dict[str, str]] = msgspec.field(default_factory=dict)
    # A login survives reloads and new tabs through an HttpOnly cookie naming a
    # server-side session (app_streamlit/tokens.py): it ends after this long
    # without use, and in any case this long after the login.
    session_idle_hours: float = 12.0
    session_max_hours: float = 168.0
    # Mark the cookie Secure also when the app is reached over plain HTTP behind
    # a TLS-terminating proxy (it is always Secure when the request is https).
    session_cookie_secure: bool = False


class Settings(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    kafka: KafkaSettings = msgspec.field(default_factory=KafkaSettings)
    postgres: PostgresSettings = msgspec.field(default_factory=PostgresSettings)
    redis: RedisSettings = msgspec.field(default_factory=RedisSettings)
    stack: StackSettings = msgspec.field(default_factory=StackSettings)
    collector: CollectorSettings = msgspec.field(default_factory=CollectorSettings)
    streams: StreamSettings = msgspec.field(default_factory=StreamSettings)
    app: AppSettings = msgspec.field(default_factory=AppSettings)
    log_level: str = "INFO"

    def topic(self, name: str) -> str:
        """Full Kafka topic name for a logical topic (see netvigil.topics)."""
        return f"{self.kafka.topic_prefix}{name}"

    def stack_home(self) -> Path:
        home = Path(self.stack.home)
        return home if home.is_absolute() else project_root() / home

    def resolve_path(self, value: str) -> Path:
        p = Path(value)
        return p if p.is_absolute() else project_root() / p

    def masked(self) -> dict[str, Any]:
        """Settings as plain data with every secret replaced by ``<secret>``."""
        data: dict[str, Any] = msgspec.to_builtins(self)
        data["postgres"]["dsn"] = mask_url(self.postgres.dsn)
        data["postgres"]["readonly_dsn"] = mask_url(self.postgres.readonly_dsn)
        data["redis"]["url"] = mask_url(self.redis.url)
        data["collector"]["trap_communities"] = [SECRET for _ in self.collector.trap_communities]
        for user in data["collector"]["trap_v3_users"]:
            for key in ("auth_key", "priv_key"):
                if user.get(key):
                    user[key] = SECRET
        data["app"]["users"] = {
            name: {k: (SECRET if "password" in k else v) for k, v in user.items()}
            for name, user in self.app.users.items()
        }
        data["topics"] = {name: self.topic(name) for name in _topic_names()}
        return data


def _topic_names() -> list[str]:
    from netvigil.topics import TOPICS  # local import: topics imports records, not settings

    return list(TOPICS)


def mask_url(url: str) -> str:
    """Replace the password of a URL/DSN with ``<secret>``; other parts are not secret."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    user = parts.username or ""
    return urlunsplit((parts.scheme, f"{user}:{SECRET}@{host}", parts.path, parts.query, ""))


def _config_path(explicit: str | os.PathLike[str] | None) -> Path | None:
    if explicit:
        return Path(explicit)
    env = os.environ.get("NETVIGIL_CONFIG")
    if env:
        return Path(env)
    local = Path.cwd() / "netvigil.yaml"
    return local if local.exists() else None


def _env_overrides(environ: dict[str, str]) -> dict[str, Any]:
    """``NETVIGIL_SECTION__KEY=value`` -> {"section": {"key": "value"}}.

    Values are parsed as YAML scalars so that ports become ints and
    ``true`` becomes a bool; msgspec then checks the types.
    """
    out: dict[str, Any] = {}
    for name, raw in environ.items():
        if not name.startswith("NETVIGIL_") or name == "NETVIGIL_CONFIG":
            continue
        path = name[len("NETVIGIL_") :].lower().split("__")
        if len(path) == 1 and path[0] not in _TOP_LEVEL:
            # Not a setting: only SECTION__KEY names and the top-level keys are.
            # (NETVIGIL_DB_PASSWORD, for one, feeds docker-compose, not us.)
            continue
        value: Any = yaml.safe_load(raw) if raw.strip() else raw
        if isinstance(value, dict | list) or value is None:
            value = raw
        node = out
        for part in path[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"environment variable {name} conflicts with another")
        node[path[-1]] = value
    return out


_TOP_LEVEL = frozenset({"log_level"})


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def load_settings(
    config: str | os.PathLike[str] | None = None,
    environ: dict[str, str] | None = None,
) -> Settings:
    """Build the effective settings, raising ConfigError with one clear line."""
    data: dict[str, Any] = {}
    path = _config_path(config)
    if path is not None:
        if not path.exists():
            raise ConfigError(f"config file {path} does not exist")
        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except UnicodeDecodeError as exc:
            raise ConfigError(f"config file {path} is not UTF-8 (byte {exc.start})") from None
        except yaml.YAMLError as exc:
            raise ConfigError(f"config file {path} is not valid YAML: {_yaml_reason(exc)}") from None
        if not isinstance(loaded, dict):
            raise ConfigError(f"config file {path} must be a mapping of sections")
        data = loaded
    env = _env_overrides(dict(os.environ if environ is None else environ))
    data = _merge(data, env)
    source = str(path) if path else "environment"
    try:
        return msgspec.convert(data, Settings, strict=False)
    except msgspec.ValidationError as exc:
        raise ConfigError(f"{source}: {_explain(exc)}") from None


def _yaml_reason(exc: yaml.YAMLError) -> str:
    """PyYAML's messages span several lines; say the problem and where, on one."""
    problem = getattr(exc, "problem", None) or str(exc).strip().splitlines()[0]
    mark = getattr(exc, "problem_mark", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    return f"{problem}{where}"


def _explain(exc: msgspec.ValidationError) -> str:
    """msgspec says "Object contains unknown field `x` - at `$.kafka`"; say it as a key."""
    text = str(exc)
    if "unknown field" in text and "`" in text:
        field = text.split("`")[1]
        where = text.rsplit("at `", 1)[-1].rstrip("`") if "at `" in text else "$"
        key = ".".join(p for p in [where.removeprefix("$").strip("."), field] if p)
        return f"unknown key '{key}'"
    return text.replace("$.", "")

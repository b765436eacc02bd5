"""Notification configuration: receivers, routes, retry policy, and secret handling.

``config/notifications.yaml`` (``settings.streams.notifications_file``) names
receivers (email, slack, telegram, teams, webhook, sms) and routes that send
alerts to them by severity, tags, rule, device and escalation. Unknown keys
are errors naming the receiver or route.

Secrets (tokens, passwords, webhook URLs, auth headers) may be written as
``${ENV_NAME}`` and are then read from the environment. Every secret value is
collected in :attr:`NotifyConfig.secrets` so :func:`NotifyConfig.mask` can
scrub it out of any text (an exception message, a URL) before it is logged or
stored: the receiver's name identifies a delivery, never its token.
"""

from __future__ import annotations

import fnmatch
import os
import re
from pathlib import Path
from typing import Any, Literal

import msgspec
import yaml

from netvigil.records import SEVERITIES, Alert

__all__ = [
    "NotifyConfig",
    "NotifyConfigError",
    "Receiver",
    "Retry",
    "Route",
    "load_notify_config",
    "parse_notify_config",
]

SECRET = "<secret>"  # noqa: S105 - the mask, not a secret
SECRET_FIELDS = ("url", "token", "password", "auth_header", "headers")
_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class NotifyConfigError(ValueError):
    """The notification config is invalid; the message names the receiver/route and key."""


class Retry(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, frozen=True):
    attempts: int = 4
    backoff: float = 0.5  # seconds before the first retry
    factor: float = 2.0
    max_backoff: float = 30.0
    timeout: float = 10.0  # per attempt


class Receiver(
    msgspec.Struct, forbid_unknown_fields=True, kw_only=True, frozen=True, rename={"from_": "from"}
):
    name: str
    type: Literal["email", "slack", "telegram", "teams", "webhook", "sms"]
    # HTTP receivers
    url: str = ""
    headers: dict[str, str] = msgspec.field(default_factory=dict)
    # telegram
    api_base: str = "https://api.telegram.org"
    token: str = ""
    chat_id: str = ""
    # teams
    card: Literal["messagecard", "adaptive"] = "messagecard"
    # sms: url is a template with {to} and {text} (URL-encoded); body is JSON {to, text}
    method: Literal["GET", "POST"] = "POST"
    auth_header: str = ""
    # email
    host: str = "127.0.0.1"
    port: int = 25
    starttls: bool = False
    tls_verify: bool = True
    username: str = ""
    password: str = ""
    from_: str = "netvigil@localhost"
    to: list[str] = msgspec.field(default_factory=list)


class RouteMatch(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, frozen=True):
    severity: list[str] = msgspec.field(default_factory=list)  # any of these ([] = all)
    min_severity: str = "info"
    tags: dict[str, str] = msgspec.field(default_factory=dict)
    rule: str = "*"
    device: str = "*"
    escalated: bool | None = None  # only escalations (True), never (False), both (None)


class Route(
    msgspec.Struct, forbid_unknown_fields=True, kw_only=True, frozen=True, rename={"continue_": "continue"}
):
    match: RouteMatch = msgspec.field(default_factory=RouteMatch)
    receivers: list[str] = msgspec.field(default_factory=list)
    continue_: bool = True
    send_resolved: bool = True

    def matches(self, alert: Alert, escalated: bool, device_tags: dict[str, str]) -> bool:
        m = self.match
        if m.severity and alert.severity not in m.severity:
            return False
        if SEVERITIES.index(alert.severity) < SEVERITIES.index(m.min_severity):
            return False
        if m.escalated is not None and m.escalated != escalated:
            return False
        if not (fnmatch.fnmatchcase(alert.rule, m.rule) and fnmatch.fnmatchcase(alert.device, m.device)):
            return False
        tags = {**device_tags, **alert.tags}
        return all(tags.get(k) == v for k, v in m.tags.items())


class _Raw(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    external_url: str = "http://127.0.0.1:8501"
    retry: Retry = msgspec.field(default_factory=Retry)
    workers: int = 4
    receivers: list[dict[str, Any]] = msgspec.field(default_factory=list)
    routes: list[dict[str, Any]] = msgspec.field(default_factory=list)


class NotifyConfig(msgspec.Struct, kw_only=True):
    external_url: str
    retry: Retry
    workers: int
    receivers: dict[str, Receiver]
    routes: list[Route]
    secrets: frozenset[str] = frozenset()

    def mask(self, text: str) -> str:
        """``text`` with every secret value replaced by ``<secret>``."""
        for s in sorted(self.secrets, key=len, reverse=True):
            text = text.replace(s, SECRET)
        return text

    def receivers_for(
        self, alert: Alert, status: str, escalated: bool, device_tags: dict[str, str]
    ) -> list[str]:
        out: list[str] = []
        for route in self.routes:
            if not route.matches(alert, escalated, device_tags):
                continue
            if status == "resolved" and not route.send_resolved:
                continue
            out += [r for r in route.receivers if r not in out]
            if not route.continue_:
                break
        return out


def _expand(value: Any, where: str, environ: dict[str, str], secrets: set[str]) -> Any:
    if isinstance(value, dict):
        return {k: _expand(v, f"{where}.{k}", environ, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand(v, where, environ, secrets) for v in value]
    if not isinstance(value, str):
        return value

    def sub(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in environ:
            raise NotifyConfigError(f"{where}: environment variable {name} is not set")
        secrets.add(environ[name])
        return environ[name]

    return _ENV.sub(sub, value)


def _secret_values(data: dict[str, Any], secrets: set[str]) -> None:
    for key in SECRET_FIELDS:
        value = data.get(key)
        if isinstance(value, str) and value:
            if key == "url":  # only the path/query of a webhook URL is a secret (Slack, Teams)
                secrets.update(p for p in re.split(r"(?<!/)/(?!/)", value)[1:] if len(p) >= 8)
                if "?" in value:
                    secrets.add(value.split("?", 1)[1])
            else:
                secrets.add(value)
        elif isinstance(value, dict):
            secrets.update(v for v in value.values() if isinstance(v, str) and len(v) >= 4)


def parse_notify_config(
    data: Any, source: str = "notifications", environ: dict[str, str] | None = None
) -> NotifyConfig:
    env = dict(os.environ if environ is None else environ)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise NotifyConfigError(f"{source}: must be a mapping")
    try:
        raw = msgspec.convert(data, _Raw, strict=False)
    except msgspec.ValidationError as exc:
        raise NotifyConfigError(f"{source}: {exc}") from None
    secrets: set[str] = set()
    receivers: dict[str, Receiver] = {}
    for i, item in enumerate(raw.receivers):
        name = str(item.get("name") or f"#{i}") if isinstance(item, dict) else f"#{i}"
        expanded = _expand(item, f"receiver {name!r}", env, secrets)
        try:
            rec = msgspec.convert(expanded, Receiver, strict=False)
        except msgspec.ValidationError as exc:
            raise NotifyConfigError(f"{source}: receiver {name!r}: {exc}") from None
        if rec.name in receivers:
            raise NotifyConfigError(f"{source}: receiver {rec.name!r} is defined twice")
        _check_receiver(rec, source)
        _secret_values(expanded, secrets)
        receivers[rec.name] = rec
    routes: list[Route] = []
    for i, item in enumerate(raw.routes):
        try:
            route = msgspec.convert(item, Route, strict=False)
        except msgspec.ValidationError as exc:
            raise NotifyConfigError(f"{source}: route #{i}: {exc}") from None
        for r in route.receivers:
            if r not in receivers:
                raise NotifyConfigError(f"{source}: route #{i}: unknown receiver {r!r}")
        for sev in [*route.match.severity, route.match.min_severity]:
            if sev not in SEVERITIES:
                raise NotifyConfigError(f"{source}: route #{i}: unknown severity {sev!r}")
        routes.append(route)
    return NotifyConfig(
        external_url=raw.external_url.rstrip("/"),
        retry=raw.retry,
        workers=max(1, raw.workers),
        receivers=receivers,
        routes=routes,
        secrets=frozenset(s for s in secrets if s),
    )


def _check_receiver(rec: Receiver, source: str) -> None:
    where = f"{source}: receiver {rec.name!r}"
    if rec.type in ("slack", "teams", "webhook", "sms") and not rec.url:
        raise NotifyConfigError(f"{where}: key 'url' is required for {rec.type}")
    if rec.type == "telegram" and not (rec.token and rec.chat_id):
        raise NotifyConfigError(f"{where}: keys 'token' and 'chat_id' are required for telegram")
    if rec.type in ("email", "sms") and not rec.to:
        raise NotifyConfigError(f"{where}: key 'to' is required for {rec.type}")


def load_notify_config(path: Path, environ: dict[str, str] | None = None) -> NotifyConfig:
    if not path.exists():
        return parse_notify_config({}, str(path), environ)
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise NotifyConfigError(f"{path}: not valid YAML: {exc}") from None
    return parse_notify_config(data, str(path), environ)

"""net-snmp style credential options, shared by `netvigil snmp` and `netvigil devices`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from netvigil.inventory import Credentials

__all__ = ["credential_options", "credentials_from", "parse_target"]

F = TypeVar("F", bound=Callable[..., Any])
_AUTH_ALIASES = {"SHA1": "SHA", "SHA-1": "SHA"}
_PRIV_ALIASES = {"AES128": "AES", "AES-128": "AES", "AES-192": "AES192", "AES-256": "AES256"}


def credential_options(*, version_default: str | None = "2c") -> Callable[[F], F]:
    def wrap(f: F) -> F:
        opts = [
            click.option("-v", "version", type=click.Choice(["1", "2c", "3"]), default=version_default,
                         help="SNMP version."),
            click.option("-c", "community", help="Community (v1/v2c)."),
            click.option("-u", "user", help="v3 security name."),
            click.option("-l", "level", type=click.Choice(["noAuthNoPriv", "authNoPriv", "authPriv"]),
                         help="v3 security level."),
            click.option("-a", "auth_proto", help="v3 auth: MD5|SHA|SHA224|SHA256|SHA384|SHA512."),
            click.option("-A", "auth_key", help="v3 auth pass phrase."),
            click.option("-x", "priv_proto", help="v3 privacy: DES|AES|AES192|AES256."),
            click.option("-X", "priv_key", help="v3 privacy pass phrase."),
            click.option("-e", "engine_id", help="v3 security engine id (hex)."),
            click.option("-n", "context", help="v3 context name."),
        ]  # fmt: skip
        for opt in reversed(opts):
            f = opt(f)
        return f

    return wrap


def _norm(value: str | None, aliases: dict[str, str]) -> str | None:
    if value is None:
        return None
    up = value.upper()
    return aliases.get(up, up.replace("-", ""))


def credentials_from(kw: dict[str, Any]) -> Credentials:
    """Credentials from the options above; a bad combination is a click.BadParameter."""
    version = kw.get("version")
    try:
        if version is None:
            return Credentials(version="none")
        if version in ("1", "2c"):
            return Credentials(
                version="v1" if version == "1" else "v2c", community=kw.get("community") or None
            )
        return Credentials(
            version="v3",
            user=kw.get("user"),
            level=kw.get("level"),
            auth_proto=_norm(kw.get("auth_proto"), _AUTH_ALIASES),
            auth_key=kw.get("auth_key"),
            priv_proto=_norm(kw.get("priv_proto"), _PRIV_ALIASES),
            priv_key=kw.get("priv_key"),
            engine_id=kw.get("engine_id"),
            context=kw.get("context"),
        )
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def parse_target(target: str, default_port: int = 161) -> tuple[str, int]:
    """``host``, ``host:port``, ``[v6]:port`` -> (host, port)."""
    if target.startswith("["):
        host, _, rest = target[1:].partition("]")
        port = rest.lstrip(":")
    elif target.count(":") == 1:
        host, port = target.split(":")
    else:
        host, port = target, ""
    try:
        return host, int(port) if port else default_port
    except ValueError:
        raise click.BadParameter(f"bad port in target {target!r}") from None

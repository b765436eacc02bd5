"""Device files (YAML) for `netvigil devices import|export`: parse, check, render.

Import is all or nothing: every device is checked before anything is written,
and a problem names the device and the file line (snmp_exporter: unknown keys
are errors). ``<secret>`` in an imported file means "keep the stored secret",
so an export without secrets can be edited and imported back.
"""

from __future__ import annotations

from typing import Any

import msgspec
import yaml

from ingest.snmp.modules import MODULE_NAMES
from netvigil.inventory import Credentials, Device

__all__ = ["SECRET_FIELDS", "DeviceFileError", "dump_devices", "order_by_parent", "parse_devices"]

SECRET = "<secret>"  # noqa: S105 - the mask, not a secret
SECRET_FIELDS = ("community", "auth_key", "priv_key")


class DeviceFileError(ValueError):
    """One line naming the file position and device, never a secret."""


def _where(node: yaml.Node, name: str | None, index: int) -> str:
    who = f"device {name!r}" if name else f"device #{index + 1}"
    return f"line {node.start_mark.line + 1}: {who}"


def _explain(exc: msgspec.ValidationError) -> str:
    text = str(exc)
    return text.replace("$.", "").replace("`$`", "the device")


def parse_devices(text: str, existing: dict[str, Device] | None = None) -> list[Device]:
    """Devices from YAML text (a list of mappings); DeviceFileError on the first problem."""
    existing = existing or {}
    try:
        root = yaml.compose(text)
    except yaml.YAMLError as exc:
        raise DeviceFileError(f"not valid YAML: {exc}") from None
    if root is None:
        return []
    if not isinstance(root, yaml.SequenceNode):
        raise DeviceFileError(f"line {root.start_mark.line + 1}: expected a list of devices")
    data: list[Any] = yaml.safe_load(text)
    devices: list[Device] = []
    seen: set[str] = set()
    for i, (node, raw) in enumerate(zip(root.value, data, strict=True)):
        name = raw.get("name") if isinstance(raw, dict) else None
        where = _where(node, name if isinstance(name, str) else None, i)
        if not isinstance(raw, dict):
            raise DeviceFileError(f"{where}: expected a mapping")
        creds = raw.get("credentials")
        if isinstance(creds, dict):
            old = existing.get(str(name))
            for key in SECRET_FIELDS:
                if creds.get(key) == SECRET:
                    kept = getattr(old.credentials, key) if old else None
                    if kept is None:
                        raise DeviceFileError(
                            f"{where}: {key} is '<secret>' but no stored value exists to keep"
                        )
                    creds[key] = kept
        try:
            device = msgspec.convert(raw, Device, strict=False)
        except (msgspec.ValidationError, ValueError) as exc:
            reason = _explain(exc) if isinstance(exc, msgspec.ValidationError) else str(exc)
            raise DeviceFileError(f"{where}: {reason}") from None
        bad = [m for m in device.modules if m not in MODULE_NAMES]
        if bad:
            raise DeviceFileError(
                f"{where}: unknown module(s) {', '.join(bad)}; one of {', '.join(MODULE_NAMES)}"
            )
        if not device.name or not device.address:
            raise DeviceFileError(f"{where}: name and address are required")
        if not 0 < device.port < 65536 or device.poll_interval <= 0:
            raise DeviceFileError(f"{where}: port must be 1-65535 and poll_interval positive")
        if device.name in seen:
            raise DeviceFileError(f"{where}: duplicate name")
        seen.add(device.name)
        devices.append(device)
    return devices


def order_by_parent(devices: list[Device], known: set[str]) -> list[Device]:
    """Parents before children; DeviceFileError on a missing parent or a cycle."""
    pending = {d.name: d for d in devices}
    done = set(known) - set(pending)
    out: list[Device] = []
    while pending:
        ready = [d for d in pending.values() if d.parent is None or d.parent in done]
        if not ready:
            orphans = [d for d in pending.values() if d.parent not in pending]
            d = orphans[0] if orphans else next(iter(pending.values()))
            problem = "is unknown" if orphans else "forms a cycle"
            raise DeviceFileError(f"device {d.name!r}: parent {d.parent!r} {problem}")
        for d in ready:
            out.append(d)
            done.add(d.name)
            del pending[d.name]
    return out


def dump_devices(devices: list[Device], *, with_secrets: bool = False) -> str:
    rows = []
    for d in devices:
        row: dict[str, Any] = msgspec.to_builtins(d)
        creds: Credentials = d.credentials
        row["credentials"] = (
            {k: v for k, v in msgspec.to_builtins(creds).items() if v is not None}
            if with_secrets
            else creds.public()
        )
        rows.append(row)
    return yaml.safe_dump(rows, sort_keys=False) if rows else "[]\n"

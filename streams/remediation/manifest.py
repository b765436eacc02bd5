"""The remediation allow-list: which scripts may run, with which arguments (pure).

``config/remediation/manifest.yaml`` names each action, its script (a file in
that directory; no path may leave it), a timeout, an output limit and an
argument schema. A rule binds an action with argument values that are either
literals from the rule file or references to the alert (``$device``,
``$address``, ``$instance``). Every value, wherever it came from, is checked
against its argument's type before it becomes one element of an argv list:
there is no shell and no string interpolation, so a device that sends
``; rm -rf /`` as an interface name gets a refusal, not a command.
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Any, Literal

import msgspec
import yaml

__all__ = ["Action", "ArgSpec", "Manifest", "ManifestError", "Refused", "build_argv", "load_manifest"]

_HOST = re.compile(
    r"^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$"
)
_WORD = re.compile(r"^[A-Za-z0-9_.:/-]{1,128}$")
_FLAG = re.compile(r"^--?[A-Za-z0-9][A-Za-z0-9-]*$")
REFS = ("$device", "$address", "$instance")


class ManifestError(ValueError):
    """The manifest is invalid (names the action and key)."""


class Refused(Exception):
    """An action or argument is not allowed; the message says which and why (no secrets)."""


class ArgSpec(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, frozen=True):
    name: str
    flag: str = ""  # "--address"; "" = positional
    type: Literal["address", "hostname", "int", "word", "enum"] = "word"
    required: bool = False
    default: str | int | None = None
    choices: list[str] = msgspec.field(default_factory=list)
    min: int | None = None
    max: int | None = None


class Action(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, frozen=True):
    name: str = ""
    script: str
    description: str = ""
    timeout: float = 30.0
    max_output: int = 8192
    args: list[ArgSpec] = msgspec.field(default_factory=list)


class Manifest(msgspec.Struct, frozen=True):
    directory: Path
    actions: dict[str, Action]

    def script_path(self, action: Action) -> Path:
        return (self.directory / action.script).resolve()


def load_manifest(directory: Path) -> Manifest:
    path = directory / "manifest.yaml"
    if not path.exists():
        return Manifest(directory, {})
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ManifestError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict) or set(data) - {"actions"}:
        raise ManifestError(f"{path}: must be a mapping with only an 'actions' key")
    actions: dict[str, Action] = {}
    root = directory.resolve()
    for name, body in (data.get("actions") or {}).items():
        try:
            action = msgspec.convert({**(body or {}), "name": name}, Action, strict=False)
        except msgspec.ValidationError as exc:
            raise ManifestError(f"{path}: action {name!r}: {exc}") from None
        script = (directory / action.script).resolve()
        if root not in script.parents:
            raise ManifestError(f"{path}: action {name!r}: key 'script' must name a file in {directory}")
        for arg in action.args:
            if arg.flag and not _FLAG.match(arg.flag):
                raise ManifestError(f"{path}: action {name!r}: argument {arg.name!r}: bad flag {arg.flag!r}")
            if arg.type == "enum" and not arg.choices:
                raise ManifestError(f"{path}: action {name!r}: argument {arg.name!r}: enum needs 'choices'")
        if action.timeout <= 0 or action.max_output <= 0:
            raise ManifestError(f"{path}: action {name!r}: 'timeout' and 'max_output' must be positive")
        actions[name] = action
    return Manifest(directory, actions)


def _validate(action: str, spec: ArgSpec, value: Any) -> str:
    text = str(value)
    bad = Refused(f"action {action!r}: argument {spec.name!r}: value rejected for type {spec.type}")
    if spec.type == "int":
        if isinstance(value, bool) or not re.fullmatch(r"-?\d{1,12}", text):
            raise bad
        n = int(text)
        if (spec.min is not None and n < spec.min) or (spec.max is not None and n > spec.max):
            raise bad
        return str(n)
    if spec.type == "address":
        try:
            return str(ipaddress.ip_address(text))
        except ValueError:
            if _HOST.match(text):
                return text
            raise bad from None
    if spec.type == "hostname":
        if not _HOST.match(text):
            raise bad
        return text
    if spec.type == "enum":
        if text not in spec.choices:
            raise bad
        return text
    if not _WORD.match(text) or text.startswith("-"):
        raise bad
    return text


def build_argv(
    manifest: Manifest, action_name: str, args: dict[str, Any], alert: dict[str, str]
) -> list[str]:
    """The argv to exec for ``action_name``, or :class:`Refused`.

    ``args`` come from the rule; ``$device``/``$address``/``$instance`` are
    taken from ``alert``. Unknown arguments are refused, not ignored.
    """
    action = manifest.actions.get(action_name)
    if action is None:
        raise Refused(f"action {action_name!r} is not in the allow-list")
    specs = {a.name: a for a in action.args}
    unknown = set(args) - set(specs)
    if unknown:
        raise Refused(f"action {action_name!r}: argument {sorted(unknown)[0]!r} is not allowed")
    script = manifest.script_path(action)
    if not script.is_file():
        raise Refused(f"action {action_name!r}: script {action.script} does not exist")
    argv = [str(script)]
    for spec in action.args:
        value: Any = args.get(spec.name, spec.default)
        if isinstance(value, str) and value.startswith("$"):
            if value not in REFS:
                raise Refused(f"action {action_name!r}: argument {spec.name!r}: unknown reference {value!r}")
            value = alert.get(value[1:]) or None
        if value is None:
            if spec.required:
                raise Refused(f"action {action_name!r}: argument {spec.name!r} is required")
            continue
        checked = _validate(action_name, spec, value)
        argv += [spec.flag, checked] if spec.flag else [checked]
    return argv

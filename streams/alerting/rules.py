"""Threshold and event rules: the schema, parsing and selection (pure).

Rules come from a YAML file (``settings.streams.rules_file``) and from the
``threshold_rules`` table (``definition`` jsonb, same schema, the table's
``name`` wins). Parsing is strict, as the settings are: an unknown key or a
wrong value is one clear :class:`RuleError` naming the rule and the key, so a
typo never silently turns a rule off. The caller keeps the previous good rule
set when a new one fails (see :class:`streams.alerting.agents`).

Rule types:

- ``threshold``: a metric crosses levels (warning/minor/major/critical) in a
  direction, for a duration, and clears at a separate ``clear`` level
  (hysteresis);
- ``rate``: the metric's change per minute crosses the levels;
- ``device_down``: ICMP loss of 100 % for ``cycles`` consecutive cycles;
- ``interface_down``: ``if_oper_status`` 2 or a linkDown trap, cleared by
  status 1 or linkUp;
- ``trap``: a trap by name or OID with optional varbind regexes;
- ``syslog``: a message with severity <= ``max_severity`` and regexes on
  message and app;
- ``nodata``: a device (or, with ``metric``, each matching series) sent
  nothing for ``nodata``; resolves when data returns (see
  :mod:`streams.alerting.nodata` for the semantics).

``nodata`` on a threshold or rate rule is the staleness limit: an open alert
whose series stays silent that long resolves with reason "no data" instead of
staying open forever. Its value is a duration (``"10m"``), a number of the
device's poll intervals (``"3x"``) or ``"off"``; without it the policy's
``nodata`` default applies.
"""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path
from typing import Any, Literal

import msgspec
import yaml

from netvigil.records import SEVERITIES

__all__ = [
    "LEVELS",
    "LifecyclePolicy",
    "NoData",
    "Remediation",
    "Rule",
    "RuleError",
    "RuleSet",
    "Selector",
    "load_rule_file",
    "merge",
    "parse_duration",
    "parse_nodata",
    "parse_rule",
    "parse_rules",
]

LEVELS: tuple[str, ...] = ("warning", "minor", "major", "critical")
RuleType = Literal["threshold", "rate", "device_down", "interface_down", "trap", "syslog", "nodata"]
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNIT = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}
_POLLS = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*x\s*$")


class RuleError(ValueError):
    """A rule is invalid; the message names the rule and the key."""


def parse_duration(value: Any, where: str) -> float:
    """``30``, ``"30s"``, ``"5m"``, ``"1h"`` -> seconds."""
    if isinstance(value, bool):
        raise RuleError(f"{where}: not a duration: {value!r}")
    if isinstance(value, int | float):
        if value < 0:
            raise RuleError(f"{where}: negative duration {value!r}")
        return float(value)
    m = _DURATION.match(str(value))
    if not m:
        raise RuleError(f"{where}: not a duration: {value!r} (use 30, '30s', '5m', '1h')")
    return float(m.group(1)) * _UNIT[m.group(2)]


class NoData(msgspec.Struct, frozen=True):
    """How long a series may stay silent: ``seconds``, or ``polls`` poll intervals; both 0 = off.

    Poll intervals, because a fixed time is wrong for devices polled every
    10 s and every 5 min alike (Prometheus uses a fixed 5 min and documents
    the problem); the interval is the device's ``poll_interval`` in the
    inventory, or the collector default when the device is not there.
    """

    seconds: float = 0.0
    polls: float = 0.0

    def limit(self, poll_interval: float) -> float | None:
        """Seconds of silence allowed for a device polled every ``poll_interval``; None = off."""
        if self.polls > 0:
            return self.polls * poll_interval
        return self.seconds if self.seconds > 0 else None


def parse_nodata(value: Any, where: str) -> NoData:
    """``"10m"``/``600`` (a duration), ``"3x"`` (three poll intervals) or ``"off"`` -> NoData."""
    if isinstance(value, str) and value.strip().lower() == "off":
        return NoData()
    if isinstance(value, str) and (m := _POLLS.match(value)):
        if float(m.group(1)) <= 0:
            raise RuleError(f"{where}: must be more than 0x (use 'off' to disable)")
        return NoData(polls=float(m.group(1)))
    try:
        seconds = parse_duration(value, where)
    except RuleError:
        raise RuleError(
            f"{where}: not a no-data limit: {value!r} (use '10m', '3x' for 3 poll intervals, or 'off')"
        ) from None
    if seconds <= 0:
        raise RuleError(f"{where}: must be more than 0 (use 'off' to disable)")
    return NoData(seconds=seconds)


class Selector(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, frozen=True):
    """Which series a rule applies to; globs on device and instance, exact tags."""

    device: str = "*"
    instance: str = "*"
    tags: dict[str, str] = msgspec.field(default_factory=dict)

    def matches_everything(self) -> bool:
        """True when :meth:`matches` is true whatever it is given (no device, instance or tag filter)."""
        return self.device == "*" and self.instance == "*" and not self.tags

    def matches(self, device: str, instance: str, device_tags: dict[str, str]) -> bool:
        if self.device != "*" and not fnmatch.fnmatchcase(device, self.device):
            return False
        if self.instance != "*" and not fnmatch.fnmatchcase(instance, self.instance):
            return False
        return all(device_tags.get(k) == v for k, v in self.tags.items())


class Remediation(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, frozen=True):
    """An allow-listed action to run when the rule's alert opens (see streams.remediation)."""

    action: str
    args: dict[str, str | int] = msgspec.field(default_factory=dict)


class _RawRule(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, rename={"for_": "for"}):
    name: str
    type: RuleType = "threshold"
    enabled: bool = True
    metric: str = ""
    match: Selector = msgspec.field(default_factory=Selector)
    direction: Literal["above", "below"] = "above"
    levels: dict[str, float] = msgspec.field(default_factory=dict)
    clear: float | None = None
    for_: float | str = 0
    severity: Literal["info", "warning", "minor", "major", "critical"] = "major"
    cycles: int = 3
    trap: str = ""
    clear_trap: str = ""
    varbinds: dict[str, str] = msgspec.field(default_factory=dict)
    max_severity: int = 7
    pattern: str = ""
    app: str = ""
    resolve_after: float | str = "1h"
    escalate_after: float | str | None = None
    summary: str = ""
    tags: dict[str, str] = msgspec.field(default_factory=dict)
    remediation: Remediation | None = None
    nodata: float | str | None = None
    source: Literal["any", "snmp", "icmp"] = "any"


class Rule(msgspec.Struct, kw_only=True, frozen=True):
    """A validated rule. ``levels`` is ordered least to most severe."""

    name: str
    type: RuleType
    metric: str
    match: Selector
    direction: Literal["above", "below"]
    levels: tuple[tuple[str, float], ...]
    clear: float | None
    for_s: float
    severity: str
    cycles: int
    trap: str
    clear_trap: str
    varbinds: tuple[tuple[str, str], ...]
    max_severity: int
    pattern: str
    app: str
    resolve_after_s: float
    escalate_after_s: float | None
    summary: str
    tags: dict[str, str]
    remediation: Remediation | None
    nodata: NoData | None = None  # None: the policy's default
    source: str = "any"  # nodata rules: which metric batches count as data

    def level_for(self, value: float) -> tuple[str, float] | None:
        """The most severe level ``value`` breaches, or None."""
        hit: tuple[str, float] | None = None
        for sev, limit in self.levels:
            if (value > limit) if self.direction == "above" else (value < limit):
                hit = (sev, limit)
        return hit

    def cleared(self, value: float) -> bool:
        """True when ``value`` is back on the good side of the clear level (hysteresis)."""
        limit = self.clear if self.clear is not None else self.levels[0][1]
        return (value <= limit) if self.direction == "above" else (value >= limit)

    def varbind_regexes(self) -> list[tuple[str, re.Pattern[str]]]:
        return [(k, re.compile(v)) for k, v in self.varbinds]


def _check_regex(rule: str, key: str, text: str) -> None:
    try:
        re.compile(text)
    except re.error as exc:
        raise RuleError(f"rule {rule!r}: key '{key}': invalid regex {text!r}: {exc}") from None


def _finish(raw: _RawRule) -> Rule:
    """Cross-field checks msgspec cannot express."""
    n = raw.name
    unknown = set(raw.levels) - set(LEVELS)
    if unknown:
        raise RuleError(f"rule {n!r}: key 'levels': unknown level {sorted(unknown)[0]!r}; use {LEVELS}")
    levels = tuple((sev, float(raw.levels[sev])) for sev in LEVELS if sev in raw.levels)
    if raw.type in ("threshold", "rate"):
        if not raw.metric:
            raise RuleError(f"rule {n!r}: key 'metric' is required for a {raw.type} rule")
        if not levels:
            raise RuleError(f"rule {n!r}: key 'levels' needs at least one of {LEVELS}")
        values = [v for _, v in levels]
        ordered = sorted(values) if raw.direction == "above" else sorted(values, reverse=True)
        if values != ordered:
            raise RuleError(f"rule {n!r}: key 'levels': must grow in severity {raw.direction} the threshold")
        if raw.clear is not None:
            first = values[0]
            if (raw.direction == "above" and raw.clear > first) or (
                raw.direction == "below" and raw.clear < first
            ):
                raise RuleError(f"rule {n!r}: key 'clear': must be on the good side of {first}")
    if raw.type == "trap" and not raw.trap:
        raise RuleError(f"rule {n!r}: key 'trap' is required for a trap rule")
    if raw.type == "syslog" and not (raw.pattern or raw.app or raw.max_severity < 7):
        raise RuleError(f"rule {n!r}: a syslog rule needs 'pattern', 'app' or 'max_severity'")
    if raw.cycles < 1:
        raise RuleError(f"rule {n!r}: key 'cycles' must be at least 1")
    if not 0 <= raw.max_severity <= 7:
        raise RuleError(f"rule {n!r}: key 'max_severity' must be 0..7")
    _check_regex(n, "pattern", raw.pattern)
    _check_regex(n, "app", raw.app)
    for k, v in raw.varbinds.items():
        _check_regex(n, f"varbinds.{k}", v)
    if raw.nodata is not None and raw.type not in ("threshold", "rate", "nodata"):
        raise RuleError(f"rule {n!r}: key 'nodata' applies to threshold, rate and nodata rules only")
    if raw.source != "any" and raw.type != "nodata":
        raise RuleError(f"rule {n!r}: key 'source' applies to nodata rules only")
    nodata = None if raw.nodata is None else parse_nodata(raw.nodata, f"rule {n!r}: key 'nodata'")
    if raw.type == "nodata" and nodata is not None and nodata.limit(1.0) is None:
        raise RuleError(f"rule {n!r}: key 'nodata': cannot be 'off' on a nodata rule (disable the rule)")
    if raw.severity not in SEVERITIES:
        raise RuleError(f"rule {n!r}: key 'severity': unknown severity {raw.severity!r}")
    return Rule(
        name=n,
        type=raw.type,
        metric=raw.metric,
        match=raw.match,
        direction=raw.direction,
        levels=levels,
        clear=raw.clear,
        for_s=parse_duration(raw.for_, f"rule {n!r}: key 'for'"),
        severity=raw.severity,
        cycles=raw.cycles,
        trap=raw.trap,
        clear_trap=raw.clear_trap,
        varbinds=tuple(sorted(raw.varbinds.items())),
        max_severity=raw.max_severity,
        pattern=raw.pattern,
        app=raw.app,
        resolve_after_s=parse_duration(raw.resolve_after, f"rule {n!r}: key 'resolve_after'"),
        escalate_after_s=(
            None
            if raw.escalate_after is None
            else parse_duration(raw.escalate_after, f"rule {n!r}: key 'escalate_after'")
        ),
        summary=raw.summary,
        tags=dict(raw.tags),
        remediation=raw.remediation,
        nodata=nodata,
        source=raw.source,
    )


def _explain(name: str, exc: msgspec.ValidationError) -> str:
    text = str(exc)
    if "unknown field" in text and "`" in text:
        field = text.split("`")[1]
        where = text.rsplit("at `", 1)[-1].rstrip("`").removeprefix("$").strip(".") if "at `" in text else ""
        key = ".".join(p for p in [where, field] if p)
        return f"rule {name!r}: unknown key '{key}'"
    if "at `$." in text:
        msg, _, where = text.rpartition(" - at `$.")
        return f"rule {name!r}: key '{where.rstrip('`')}': {msg}"
    return f"rule {name!r}: {text}"


def parse_rule(data: Any, default_name: str = "") -> Rule:
    if not isinstance(data, dict):
        raise RuleError(f"rule {default_name or '?'}: must be a mapping, not {type(data).__name__}")
    name = str(data.get("name") or default_name or "?")
    if "name" not in data and default_name:
        data = {**data, "name": default_name}
    try:
        raw = msgspec.convert(data, _RawRule, strict=False)
    except msgspec.ValidationError as exc:
        raise RuleError(_explain(name, exc)) from None
    return _finish(raw)


class LifecyclePolicy(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, frozen=True):
    """The file's ``policy:`` section: flap detection and the default escalation delay."""

    flap_changes: int = 4  # more condition changes than this within flap_window = flapping
    flap_window: float | str = "10m"
    flap_stable: float | str = "5m"  # quiet time before a flapping alert counts as stable
    escalate_after: float | str | None = None  # default for rules without escalate_after
    nodata: float | str = "3x"  # default for threshold/rate/nodata rules without nodata

    def nodata_default(self) -> NoData:
        return parse_nodata(self.nodata, "policy: key 'nodata'")

    def seconds(self) -> tuple[int, float, float, float | None]:
        """(flap_changes, flap_window, flap_stable, escalate_after) with durations in seconds."""
        return (
            self.flap_changes,
            parse_duration(self.flap_window, "policy: key 'flap_window'"),
            parse_duration(self.flap_stable, "policy: key 'flap_stable'"),
            None
            if self.escalate_after is None
            else parse_duration(self.escalate_after, "policy: key 'escalate_after'"),
        )


class RuleSet(msgspec.Struct, frozen=True):
    """Rules indexed by what they consume, for the hot path."""

    rules: tuple[Rule, ...] = ()
    policy: LifecyclePolicy = msgspec.field(default_factory=LifecyclePolicy)

    def by_metric(self) -> dict[str, list[Rule]]:
        out: dict[str, list[Rule]] = {}
        for r in self.rules:
            if r.type in ("threshold", "rate"):
                out.setdefault(r.metric, []).append(r)
            elif r.type == "interface_down":
                out.setdefault("if_oper_status", []).append(r)
            elif r.type == "nodata" and r.metric:
                out.setdefault(r.metric, []).append(r)
        return out

    def of_type(self, *types: str) -> list[Rule]:
        return [r for r in self.rules if r.type in types]

    def get(self, name: str) -> Rule | None:
        return next((r for r in self.rules if r.name == name), None)


def parse_rules(data: Any, source: str = "rules") -> RuleSet:
    """``{"rules": [...]}`` (a YAML document) -> RuleSet, or RuleError."""
    if data is None:
        return RuleSet()
    if not isinstance(data, dict):
        raise RuleError(f"{source}: must be a mapping with a 'rules' list")
    extra = set(data) - {"rules", "policy"}
    if extra:
        raise RuleError(f"{source}: unknown key '{sorted(extra)[0]}'")
    try:
        policy = msgspec.convert(data.get("policy") or {}, LifecyclePolicy, strict=False)
    except msgspec.ValidationError as exc:
        raise RuleError(f"{source}: policy: {exc}") from None
    policy.seconds()  # duration errors now, not at use
    policy.nodata_default()
    if policy.flap_changes < 1:
        raise RuleError(f"{source}: policy: key 'flap_changes' must be at least 1")
    items = data.get("rules") or []
    if not isinstance(items, list):
        raise RuleError(f"{source}: key 'rules' must be a list")
    rules: list[Rule] = []
    seen: set[str] = set()
    for i, item in enumerate(items):
        rule = parse_rule(item, default_name=f"#{i}")
        if rule.name in seen:
            raise RuleError(f"{source}: rule {rule.name!r} is defined twice")
        seen.add(rule.name)
        if isinstance(item, dict) and item.get("enabled", True) is False:
            continue
        rules.append(rule)
    return RuleSet(tuple(rules), policy)


def load_rule_file(path: Path) -> RuleSet:
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise RuleError(f"{path}: cannot read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise RuleError(f"{path}: not valid YAML: {exc}") from None
    return parse_rules(data, str(path))


def merge(file_rules: RuleSet, db_rows: list[tuple[str, Any, bool]]) -> RuleSet:
    """File rules plus ``threshold_rules`` rows (name, definition, enabled); the DB wins by name."""
    by_name = {r.name: r for r in file_rules.rules}
    for name, definition, enabled in db_rows:
        if not enabled:
            by_name.pop(name, None)
            continue
        data = dict(definition) if isinstance(definition, dict) else definition
        if isinstance(data, dict):
            data["name"] = name
        by_name[name] = parse_rule(data, default_name=name)
    return RuleSet(tuple(by_name.values()), file_rules.policy)

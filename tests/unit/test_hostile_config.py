"""Hostile config files: every input loads or raises one-line ConfigError; nothing else escapes."""

from __future__ import annotations

import random
from pathlib import Path

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from netvigil.settings import ConfigError, Settings, load_settings

GOOD = yaml.safe_dump(
    {
        "kafka": {"bootstrap": "k:9092", "partitions": 6},
        "postgres": {"dsn": "postgresql://u:p@h:5432/d"},
        "collector": {"trap_port": 1162, "v3_only": False, "trap_communities": ["public"]},
        "app": {"users": {"a": {"password_hash": "x", "role": "admin"}}},
    }
)
N_INPUTS = 100_000


def _load_text(path: Path, text: str) -> Settings | None:
    path.write_text(text, errors="replace")
    try:
        return load_settings(path, environ={})
    except ConfigError as exc:
        assert "\n" not in str(exc).strip()
        return None


def test_mutated_config_files(tmp_path: Path) -> None:
    """100,000 mutated files (parsed in-process: the file read is the same each time)."""
    rng = random.Random("netvigil-config")
    path = tmp_path / "c.yaml"
    ok = refused = 0
    lines = GOOD.splitlines()
    for i in range(N_INPUTS):
        mutated = list(lines)
        for _ in range(rng.randint(1, 3)):
            j = rng.randrange(len(mutated))
            line = mutated[j]
            op = rng.randrange(5)
            if op == 0:
                mutated[j] = line[: rng.randrange(len(line) + 1)]
            elif op == 1:
                mutated[j] = line + rng.choice(
                    [": x", " - ", "{", "]", "'", "\t", "&a", "*a", "!!python/object:os.system"]
                )
            elif op == 2:
                mutated.insert(
                    j, rng.choice(["  unknown: 1", "bogus:", "kafka: 3", "- list", "  partitions: -x"])
                )
            elif op == 3:
                mutated[j] = "".join(rng.choice("abc:{}[]-' \"\t#&*!|>%@`") for _ in range(rng.randrange(20)))
            else:
                del mutated[j]
        text = "\n".join(mutated)
        if i % 50 == 0:  # the real file path, often enough to cover it
            result = _load_text(path, text)
        else:
            try:
                result = _from_text(text)
            except ConfigError as exc:
                assert "\n" not in str(exc).strip()
                result = None
        if result is None:
            refused += 1
        else:
            ok += 1
    assert ok + refused == N_INPUTS and refused > 0


def _from_text(text: str) -> Settings:
    """The same steps as load_settings after reading the file."""
    import netvigil.settings as s

    try:
        loaded = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"not valid YAML: {s._yaml_reason(exc)}") from None
    if not isinstance(loaded, dict):
        raise ConfigError("config must be a mapping of sections")
    import msgspec

    try:
        return msgspec.convert(loaded, Settings, strict=False)
    except msgspec.ValidationError as exc:
        raise ConfigError(s._explain(exc)) from None


@settings(max_examples=2000, deadline=None)
@given(st.text(max_size=200))
def test_arbitrary_text(tmp_path_factory: object, text: str) -> None:
    path = Path(str(tmp_path_factory.mktemp("cfg"))) / "c.yaml"  # type: ignore[attr-defined]
    _load_text(path, text)

"""Settings: defaults, file, environment, strict keys, masking."""

from __future__ import annotations

from pathlib import Path

import pytest

from netvigil.settings import ConfigError, load_settings, mask_url


def test_defaults_point_at_loopback() -> None:
    s = load_settings(environ={})
    assert s.kafka.bootstrap.startswith("127.0.0.1:")
    assert s.stack.bind == "127.0.0.1"
    assert s.topic("poll") == "netvigil.poll"


def test_file_then_environment_override(tmp_path: Path) -> None:
    cfg = tmp_path / "nv.yaml"
    cfg.write_text("kafka:\n  bootstrap: kafka:9092\n  partitions: 12\nredis:\n  url: redis://r:6379/1\n")
    s = load_settings(
        cfg, environ={"NETVIGIL_KAFKA__PARTITIONS": "24", "NETVIGIL_COLLECTOR__V3_ONLY": "true"}
    )
    assert s.kafka.bootstrap == "kafka:9092"
    assert s.kafka.partitions == 24
    assert s.redis.url == "redis://r:6379/1"
    assert s.collector.v3_only is True


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("kafka:\n  bootstrapp: x\n", "kafka.bootstrapp"),
        ("kafak:\n  bootstrap: x\n", "kafak"),
        ("stack:\n  redis_prot: 1\n", "stack.redis_prot"),
    ],
)
def test_unknown_key_is_one_clear_error(tmp_path: Path, text: str, key: str) -> None:
    cfg = tmp_path / "nv.yaml"
    cfg.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_settings(cfg, environ={})
    assert f"unknown key '{key}'" in str(info.value)
    assert "\n" not in str(info.value)


def test_wrong_type_names_the_key(tmp_path: Path) -> None:
    cfg = tmp_path / "nv.yaml"
    cfg.write_text("kafka:\n  partitions: many\n")
    with pytest.raises(ConfigError, match=r"kafka\.partitions"):
        load_settings(cfg, environ={})


def test_invalid_yaml_and_missing_file(tmp_path: Path) -> None:
    cfg = tmp_path / "nv.yaml"
    cfg.write_text("kafka: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_settings(cfg, environ={})
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "missing.yaml", environ={})


def test_unknown_environment_key_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"unknown key 'kafka\.bootstrapp'"):
        load_settings(environ={"NETVIGIL_KAFKA__BOOTSTRAPP": "x"})


def test_secrets_are_masked() -> None:
    s = load_settings(
        environ={
            "NETVIGIL_POSTGRES__DSN": "postgresql://u:hunter2@db:5432/nv",
            "NETVIGIL_REDIS__URL": "redis://:redispass@r:6379/0",
        }
    )
    text = repr(s.masked())
    assert "hunter2" not in text and "redispass" not in text
    assert "postgresql://u:<secret>@db:5432/nv" in text
    assert mask_url("redis://r:6379/0") == "redis://r:6379/0"


def test_environment_names_without_a_section_are_not_settings() -> None:
    """NETVIGIL_DB_PASSWORD (docker-compose) or NV-style flags must not break loading."""
    s = load_settings(
        environ={"NETVIGIL_DB_PASSWORD": "x", "NETVIGIL_TEST_STOP_STACK": "1", "NETVIGIL_LOG_LEVEL": "DEBUG"}
    )
    assert s.log_level == "DEBUG"

"""The worker app and the agent registrar extension point (no broker needed)."""

from __future__ import annotations

import pytest

from netvigil.settings import Settings
from netvigil.topics import TOPICS
from streams.agents import REGISTRARS, register_all, resolve
from streams.app import NetvigilApp, create_app


def test_app_has_every_topic_raw_and_loopback_web(settings: Settings) -> None:
    app = create_app(settings)
    assert isinstance(app, NetvigilApp)
    assert set(app.nv_topics) == set(TOPICS)
    poll = app.nv_topic("poll")
    assert poll.get_topic_name() == settings.topic("poll")
    assert app.conf.web_bind == "127.0.0.1"
    assert app.conf.web_port == settings.streams.web_port
    assert app.conf.id == settings.streams.app_id


def test_registrars_resolve_and_register(settings: Settings) -> None:
    for name in REGISTRARS:
        assert callable(resolve(name))
    app = create_app(settings)
    calls: list[str] = []
    import streams.agents as agents

    def fake(app_: NetvigilApp, settings_: Settings) -> None:
        calls.append(app_.conf.id)
        app_.batch_processors.append(lambda groups: None)  # type: ignore[arg-type,return-value]

    agents._test_registrar = fake  # type: ignore[attr-defined]
    try:
        assert register_all(app, settings, ["streams.agents:_test_registrar"]) == [
            "streams.agents:_test_registrar"
        ]
    finally:
        del agents._test_registrar  # type: ignore[attr-defined]
    assert calls == [settings.streams.app_id] and len(app.batch_processors) == 1
    # apps are independent: nothing registered on one leaks into another
    assert create_app(settings).batch_processors == []


def test_resolve_rejects_bad_names() -> None:
    with pytest.raises(ValueError):
        resolve("streams.agents")
    with pytest.raises(ModuleNotFoundError):
        resolve("streams.nope:register")

"""Helpers for tests and benchmarks that run pipelines on a shared Kafka.

Every test or benchmark run gets topics and a consumer group of its own
(:func:`isolated`), so it never consumes another run's polls, and removes its
topics afterwards (:func:`drop_topics`) so the shared broker does not collect
hundreds of dead topics.
"""

from __future__ import annotations

import logging
import uuid
from pathlib import Path

import msgspec
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from netvigil.settings import Settings
from netvigil.topics import topic_specs
from streams.notify.config import NotifyConfig, parse_notify_config

__all__ = ["drop_topics", "isolated", "webhook_notify", "with_rules"]

log = logging.getLogger(__name__)


def isolated(settings: Settings, tag: str, partitions: int = 2) -> Settings:
    """``settings`` with a unique topic prefix and app id (hence consumer groups)."""
    uid = uuid.uuid4().hex[:8]
    return msgspec.structs.replace(
        settings,
        kafka=msgspec.structs.replace(
            settings.kafka, topic_prefix=f"test.{tag}{uid}.", partitions=partitions
        ),
        streams=msgspec.structs.replace(settings.streams, app_id=f"test-{tag}-{uid}"),
    )


async def drop_topics(settings: Settings) -> None:
    """Delete the topics of ``settings``' prefix (best effort: failures are logged)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka.bootstrap, client_id="netvigil-test-cleanup")
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        names = [t for t in topic_specs(settings) if t in existing]
        if names:
            await admin.delete_topics(names)
    except KafkaError as exc:
        log.warning("could not delete test topics %s*: %s", settings.kafka.topic_prefix, exc)
    finally:
        await admin.close()


def with_rules(settings: Settings, directory: Path, rules_yaml: str) -> Settings:
    """``settings`` whose rules file is ``rules_yaml``, written to ``directory/rules.yaml``."""
    path = directory / "rules.yaml"
    path.write_text(rules_yaml)
    return msgspec.structs.replace(
        settings, streams=msgspec.structs.replace(settings.streams, rules_file=str(path))
    )


def webhook_notify(url: str) -> NotifyConfig:
    """Every alert to one webhook receiver named ``hook`` at ``url`` (a local receiver in tests)."""
    return parse_notify_config(
        {"receivers": [{"name": "hook", "type": "webhook", "url": url}], "routes": [{"receivers": ["hook"]}]},
        environ={},
    )

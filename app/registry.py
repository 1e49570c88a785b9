"""The ``agent.registry`` topic: AgentCards keyed by agent name (compacted)."""

from __future__ import annotations

from a2a.client import AgentCardResolutionError
from a2a.types import AgentCard
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from google.protobuf.json_format import MessageToJson, Parse

from app import binding
from app.kafka_config import KafkaConfig, explain, kafka_config


def encode_card(card: AgentCard) -> bytes:
    """The registry record value of ``card``: its protobuf JSON."""
    return MessageToJson(card, indent=None).encode()


async def fetch_cards(kafka: KafkaConfig | str, *, timeout: float = 10.0) -> dict[str, AgentCard]:
    """Every live AgentCard in the registry, by agent name.

    ``kafka`` is the connection settings, or only the bootstrap servers (security
    from the environment, see :func:`app.kafka_config.kafka_config`). Reads the
    compacted topic from its start to its current end; the last record of a name
    wins, and a tombstone (empty value) retires the agent.

    Raises:
        AgentCardResolutionError: the registry cannot be read within ``timeout`` seconds.
    """
    config = kafka_config(kafka)
    cards: dict[str, AgentCard] = {}
    try:
        consumer = AIOKafkaConsumer(
            **config.consumer_options(enable_auto_commit=False, fetch_max_wait_ms=100)
        )
    except ValueError as exc:
        raise AgentCardResolutionError(f"cannot read {binding.REGISTRY_TOPIC}: {exc}") from exc
    try:
        await consumer.start()
        partitions = await _partitions(config, binding.REGISTRY_TOPIC)
        tps = [TopicPartition(binding.REGISTRY_TOPIC, p) for p in partitions]
        if not tps:
            return cards
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        remaining = {tp for tp in tps if ends[tp] > 0}
        while remaining:
            batches = await consumer.getmany(*remaining, timeout_ms=int(timeout * 1000))
            if not batches:
                raise AgentCardResolutionError(f"timed out reading {binding.REGISTRY_TOPIC}")
            for tp, records in batches.items():
                for record in records:
                    name = (record.key or b"").decode()
                    if record.value:
                        cards[name] = Parse(record.value, AgentCard(), ignore_unknown_fields=True)
                    else:
                        cards.pop(name, None)
                if await consumer.position(tp) >= ends[tp]:
                    remaining.discard(tp)
    except AgentCardResolutionError:
        raise
    except Exception as exc:
        cause = await explain(config, exc)
        raise AgentCardResolutionError(f"cannot read {binding.REGISTRY_TOPIC}: {cause}") from exc
    finally:
        await consumer.stop()
    return cards


async def _partitions(kafka: KafkaConfig, topic: str) -> list[int]:
    """The partitions of ``topic``, none if it does not exist.

    Asks for the topic list first: describing a missing topic would make a broker with
    ``auto.create.topics.enable`` create it, uncompacted, before a worker declares it.
    """
    admin = AIOKafkaAdminClient(**kafka.admin_options())
    await admin.start()
    try:
        if topic not in await admin.list_topics():
            return []
        (description,) = await admin.describe_topics([topic])
    finally:
        await admin.close()
    return sorted(p["partition"] for p in description["partitions"])


async def resolve_card(kafka: KafkaConfig | str, agent: str, *, timeout: float = 10.0) -> AgentCard:
    """The AgentCard of ``agent`` from the registry (``kafka`` as for :func:`fetch_cards`).

    Raises:
        AgentCardResolutionError: no such agent is registered, or the registry is unreadable.
    """
    cards = await fetch_cards(kafka, timeout=timeout)
    try:
        return cards[agent]
    except KeyError:
        known = ", ".join(sorted(cards)) or "none"
        raise AgentCardResolutionError(
            f"no agent {agent!r} in {binding.REGISTRY_TOPIC} (known: {known})"
        ) from None

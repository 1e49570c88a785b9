"""The ``agent.registry`` topic: AgentCards keyed by agent name (compacted)."""

from __future__ import annotations

from a2a.client import AgentCardResolutionError
from a2a.types import AgentCard
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from google.protobuf.json_format import MessageToJson, Parse

from app import binding


def encode_card(card: AgentCard) -> bytes:
    """The registry record value of ``card``: its protobuf JSON."""
    return MessageToJson(card, indent=None).encode()


async def fetch_cards(bootstrap_servers: str, *, timeout: float = 10.0) -> dict[str, AgentCard]:
    """Every live AgentCard in the registry, by agent name.

    Reads the compacted topic from its start to its current end; the last record of a
    name wins, and a tombstone (empty value) retires the agent.

    Raises:
        AgentCardResolutionError: the registry cannot be read within ``timeout`` seconds.
    """
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers, enable_auto_commit=False, fetch_max_wait_ms=100
    )
    cards: dict[str, AgentCard] = {}
    try:
        await consumer.start()
        partitions = await _partitions(bootstrap_servers, binding.REGISTRY_TOPIC)
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
        raise AgentCardResolutionError(f"cannot read {binding.REGISTRY_TOPIC}: {exc}") from exc
    finally:
        await consumer.stop()
    return cards


async def _partitions(bootstrap_servers: str, topic: str) -> list[int]:
    """The partitions of ``topic``, none if it does not exist.

    Asks for the topic list first: describing a missing topic would make a broker with
    ``auto.create.topics.enable`` create it, uncompacted, before a worker declares it.
    """
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        if topic not in await admin.list_topics():
            return []
        (description,) = await admin.describe_topics([topic])
    finally:
        await admin.close()
    return sorted(p["partition"] for p in description["partitions"])


async def retire_agent(bootstrap_servers: str, agent: str) -> None:
    """Retires ``agent`` from the registry: produces its tombstone (key = name, no value).

    Readers (:func:`fetch_cards`) drop the agent at once; compaction removes its card
    from the compacted topic later. A worker that still hosts the agent publishes its
    card again when it next starts.

    Raises:
        aiokafka.errors.KafkaError: the tombstone could not be produced.
    """
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers)
    await producer.start()
    try:
        await producer.send_and_wait(binding.REGISTRY_TOPIC, None, key=agent.encode())
    finally:
        await producer.stop()


async def resolve_card(bootstrap_servers: str, agent: str, *, timeout: float = 10.0) -> AgentCard:
    """The AgentCard of ``agent`` from the registry.

    Raises:
        AgentCardResolutionError: no such agent is registered, or the registry is unreadable.
    """
    cards = await fetch_cards(bootstrap_servers, timeout=timeout)
    try:
        return cards[agent]
    except KeyError:
        known = ", ".join(sorted(cards)) or "none"
        raise AgentCardResolutionError(
            f"no agent {agent!r} in {binding.REGISTRY_TOPIC} (known: {known})"
        ) from None

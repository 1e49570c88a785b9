"""The ``agent.registry`` topic: AgentCards keyed by agent name (compacted)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from a2a.client import AgentCardResolutionError
from a2a.types import AgentCard
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from google.protobuf.json_format import MessageToJson, Parse

from app import binding
from app.kafka_config import KafkaConfig, explain, kafka_config

logger = logging.getLogger(__name__)


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


async def retire_agent(kafka: KafkaConfig | str, agent: str) -> None:
    """Retires ``agent`` from the registry: produces its tombstone (key = name, no value);
    ``kafka`` as for :func:`fetch_cards`.

    Readers (:func:`fetch_cards`) drop the agent at once; compaction removes its card
    from the compacted topic later. A worker that still hosts the agent publishes its
    card again when it next starts.

    Raises:
        aiokafka.errors.KafkaError: the tombstone could not be produced.
    """
    producer = AIOKafkaProducer(**kafka_config(kafka).producer_options())
    await producer.start()
    try:
        await producer.send_and_wait(binding.REGISTRY_TOPIC, None, key=agent.encode())
    finally:
        await producer.stop()


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


class RegistryTail:
    """Follows ``agent.registry`` while it runs: the live cards, updated as records arrive.

    Reads the compacted topic from its start and keeps reading; the last record of a
    name wins and a tombstone retires the agent (as :func:`fetch_cards`). Each time
    the set of cards changes, ``on_change`` is called with all live cards. While the
    topic does not exist yet, or the broker is unreachable, it retries every
    ``retry_interval`` seconds and starts over from the beginning of the topic.

    Args:
        kafka: Kafka connection settings, or bootstrap servers ``host:port[,host:port]``
            with the environment's security settings.
        on_change: Called with ``{agent name: AgentCard}`` after every change.
        retry_interval: Seconds between attempts to (re)start following.
    """

    def __init__(
        self,
        kafka: KafkaConfig | str,
        on_change: Callable[[dict[str, AgentCard]], None],
        *,
        retry_interval: float = 1.0,
    ) -> None:
        self.kafka = kafka_config(kafka)
        self.cards: dict[str, AgentCard] = {}
        self.caught_up = asyncio.Event()
        self._on_change = on_change
        self._retry_interval = retry_interval
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Starts following the topic in the background."""
        self._task = asyncio.create_task(self._run(), name="registry-tail")

    async def stop(self) -> None:
        """Stops following."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            try:
                await self._follow()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                logger.warning("following %s failed, retrying: %s", binding.REGISTRY_TOPIC, exc)
            await asyncio.sleep(self._retry_interval)

    async def _follow(self) -> None:
        partitions = await _partitions(self.kafka, binding.REGISTRY_TOPIC)
        if not partitions:
            self.caught_up.set()
            return
        consumer = AIOKafkaConsumer(
            **self.kafka.client_options(),
            enable_auto_commit=False,
            fetch_max_wait_ms=500,
        )
        await consumer.start()
        try:
            tps = [TopicPartition(binding.REGISTRY_TOPIC, p) for p in partitions]
            consumer.assign(tps)
            await consumer.seek_to_beginning(*tps)
            ends = await consumer.end_offsets(tps)
            cards: dict[str, AgentCard] = {}
            behind = {tp for tp in tps if ends[tp] > 0}
            while True:
                batches = await consumer.getmany(timeout_ms=1000)
                for tp, records in batches.items():
                    for record in records:
                        name = (record.key or b"").decode()
                        if record.value:
                            cards[name] = Parse(
                                record.value, AgentCard(), ignore_unknown_fields=True
                            )
                        else:
                            cards.pop(name, None)
                    if tp in behind and await consumer.position(tp) >= ends[tp]:
                        behind.discard(tp)
                if not behind and (cards != self.cards or not self.caught_up.is_set()):
                    self.cards = dict(cards)
                    self._on_change(self.cards)
                    self.caught_up.set()
        finally:
            await consumer.stop()

"""The Faust app: one Faust agent per hosted A2A agent, A2A state in Faust tables.

Reading order, as in Faust's own examples: tables → request topics → the agents that
serve them → start-up (topics, AgentCards in ``agent.registry``) → web views
(:mod:`app.views`) and CLI commands (:mod:`app.commands`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import faust
from a2a.server.request_handlers import DefaultRequestHandler
from a2a.server.routes.jsonrpc_dispatcher import JsonRpcDispatcher
from a2a.types import AgentCard
from faust.streams import _current_event
from faust.types import EventT, StreamT, TableT

from agents.spec import AgentSpec
from app import binding
from app.cards import agent_card
from app.kafka_driver import Transport
from app.logs import install as install_kafka_log_filter
from app.offsets import guard_uncommitted_partitions
from app.peers import KafkaPeerCaller
from app.registry import encode_card
from app.server import ConversationContextBuilder, OutgoingRecord, RecordHandler, RequestRecord
from app.settings import Settings
from tables import ConversationIndex, FaustPushNotificationConfigStore, FaustTaskStore

logger = logging.getLogger(__name__)


@dataclass
class HostedAgent:
    """One hosted A2A agent as the worker runs it."""

    spec: AgentSpec
    card: AgentCard
    tasks: FaustTaskStore
    conversations: ConversationIndex
    push_configs: FaustPushNotificationConfigStore
    handler: RecordHandler


def pin_current_event(event: EventT) -> None:
    """Makes ``event`` the current Faust event of this asyncio context, by strong reference.

    Table writes go to the changelog partition of ``faust.current_event()``, which
    Faust keeps as a *weak* reference. a2a-sdk runs a task's executor and its store
    writes in asyncio tasks that outlive the request record that started them (a
    streaming task, ``return_immediately``, a later ``CancelTask``); they copy this
    context, so pinning the event here keeps it resolvable exactly as long as they
    live, and their writes land in the partition of the record that created them —
    the partition that owns the conversation.
    """
    _current_event.set(cast(Any, lambda: event))


class A2AWorker:
    """Builds the Faust app that serves ``specs`` over Kafka.

    Args:
        specs: The agents to host, by name.
        settings: Service settings.

    Attributes:
        app: The ``faust.App``; ``faust -A app worker`` runs it.
        agents: The hosted agents by name.
        tasks_table, contexts_table, messages_table, push_configs_table: The tables,
            raw (UTF-8) keys → ``bytes`` values, partitioned like the request topics.
    """

    def __init__(self, specs: Mapping[str, AgentSpec], settings: Settings) -> None:
        self.settings = settings
        Path(settings.datadir).mkdir(parents=True, exist_ok=True)
        self.app = faust.App(
            settings.app_id,
            broker=f"kafka://{settings.bootstrap_servers.replace(',', ';kafka://')}",
            store=settings.store,
            datadir=settings.datadir,
            topic_partitions=settings.partitions,
            topic_replication_factor=settings.replication_factor,
            table_standby_replicas=settings.standby_replicas,
            web_host=settings.web_host,
            web_bind=settings.web_bind,
            web_port=settings.web_port,
            web_tables_enabled=False,
            stream_wait_empty=False,
            consumer_auto_offset_reset="earliest",
            broker_session_timeout=10.0,
            broker_heartbeat_interval=1.0,
            broker_rebalance_timeout=20.0,
            # Topics Faust creates at first start can miss the first assignment
            # (stale metadata); a short metadata age makes the consumer see them and
            # rebalance within seconds instead of Kafka's default 5 minutes.
            consumer_metadata_max_age_ms=3000,
        )
        install_kafka_log_filter(self.app)
        transport = Transport(self.app.conf.broker_consumer, self.app)
        transport.fetch_max_wait_ms = settings.fetch_max_wait_ms
        self.app.transport = transport
        self.tasks_table: TableT = self._table("tasks", "task id → a2a Task (protobuf)")
        self.contexts_table = self._table("contexts", "context id → task ids (JSON)")
        self.messages_table = self._table("messages", "message id → task id")
        self.push_configs_table = self._table("push-configs", "task id → push configs")
        self.peers = KafkaPeerCaller(settings.bootstrap_servers)
        self.agents = {name: self._host(spec) for name, spec in specs.items()}
        guard_uncommitted_partitions(self.app, {binding.requests_topic(name) for name in specs})
        self.app.task(self._on_start)

    def _table(self, name: str, help_text: str) -> TableT:
        return self.app.Table(
            name,
            key_type=bytes,
            value_type=bytes,
            partitions=self.settings.partitions,
            help=help_text,
        )

    def _host(self, spec: AgentSpec) -> HostedAgent:
        card = agent_card(spec, self.settings.card_bootstrap_servers)
        tasks = FaustTaskStore(self.tasks_table, spec.name, partitions=self.settings.partitions)
        conversations = ConversationIndex(self.contexts_table, spec.name)
        push_configs = FaustPushNotificationConfigStore(self.push_configs_table, spec.name)
        request_handler = DefaultRequestHandler(
            agent_executor=spec.make_executor(self.peers),
            task_store=tasks,
            agent_card=card,
            extended_agent_card=card,
            push_config_store=push_configs,
            request_context_builder=ConversationContextBuilder(
                tasks, conversations, self.messages_table, spec.name
            ),
            interrupted_task_timeout=float(self.settings.interrupted_task_timeout),
        )
        handler = RecordHandler(
            spec.name,
            JsonRpcDispatcher(request_handler),
            tasks,
            self.messages_table,
            self._send,
            max_request_bytes=self.settings.max_request_bytes,
        )
        topic = self.app.topic(
            binding.requests_topic(spec.name),
            key_serializer="raw",
            value_serializer="raw",
            partitions=self.settings.partitions,
            internal=True,  # Faust creates it with the changelogs' partition count
        )
        self.app.agent(topic, name=f"a2a.{spec.name}")(self._serve(handler))
        return HostedAgent(spec, card, tasks, conversations, push_configs, handler)

    def forget_messages(self, agent: str, task_ids: set[str]) -> None:
        """Deletes the redelivery records (message id → task id) of ``task_ids``."""
        if not task_ids:
            return
        prefix = f"{agent}/".encode()
        for key, value in list(self.messages_table.items()):
            if key.startswith(prefix) and value.decode() in task_ids:
                del self.messages_table[key]

    async def _send(self, record: OutgoingRecord) -> None:
        await self.app.producer.send_and_wait(
            record.topic, record.key, record.value, None, None, record.headers
        )

    def _serve(self, handler: RecordHandler) -> Callable[[StreamT], Awaitable[None]]:
        """The Faust agent of one A2A agent: bounded concurrent handling, ordered acks.

        Each record is handled in its own asyncio task (at most ``max_in_flight`` at a
        time) so a long execution does not stall its partition; each event is acked
        when its handling is over, and Faust commits an offset only once every
        record before it is acked (at-least-once; redelivery is answered from the
        task, see ``RecordHandler``).
        """
        max_in_flight = self.settings.max_in_flight

        async def serve(stream: StreamT) -> None:
            slots = asyncio.Semaphore(max_in_flight)
            in_flight: set[asyncio.Task[None]] = set()

            async def handle(event: EventT) -> None:
                pin_current_event(event)
                message = event.message
                record = RequestRecord(
                    topic=message.topic,
                    partition=message.partition,
                    offset=message.offset,
                    key=message.key,
                    value=message.value,
                    headers=tuple(cast(list[tuple[str, bytes]], message.headers or [])),
                )
                try:
                    await handler.handle(record)
                except Exception as exc:
                    logger.exception(
                        "request %s[%s]@%s failed", record.topic, record.partition, record.offset
                    )
                    with contextlib.suppress(Exception):
                        await handler.fail(record, exc)
                finally:
                    event.ack()
                    slots.release()

            async for event in cast(faust.Stream, stream).noack().events():
                await slots.acquire()
                task = asyncio.create_task(handle(event))
                in_flight.add(task)
                task.add_done_callback(in_flight.discard)

        return serve

    async def _on_start(self) -> None:
        """Creates the output topics and publishes every AgentCard to the registry."""
        for name in self.agents:
            for topic_name in (binding.responses_topic(name), binding.dlq_topic(name)):
                await self.app.topic(
                    topic_name, partitions=self.settings.partitions
                ).maybe_declare()
        registry = self.app.topic(
            binding.REGISTRY_TOPIC, partitions=1, compacting=True, deleting=False
        )
        await registry.maybe_declare()
        for name, hosted in self.agents.items():
            await self.app.producer.send_and_wait(
                binding.REGISTRY_TOPIC, name.encode(), encode_card(hosted.card), None, None, None
            )
        logger.info(
            "published AgentCards of %s to %s", ", ".join(self.agents), binding.REGISTRY_TOPIC
        )

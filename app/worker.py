"""The Faust app: each hosted A2A agent's requests served off Kafka, A2A state in Faust tables.

Reading order, as in Faust's own examples: tables → request topics and what serves them
(the consumer hands each record straight to :mod:`app.kafka_handler` over
:mod:`app.handler`, :meth:`A2AWorker._serve`) → partitions assigned
(recovery of orphaned tasks) and revoked (hand-over) → start-up (topics, AgentCards in
``agent.registry``) → web views (:mod:`app.views`) and CLI commands (:mod:`app.commands`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import faust
from a2a.server.request_handlers import RequestHandler
from a2a.types import AgentCard
from aiokafka.errors import KafkaError, KafkaTimeoutError
from faust.exceptions import ProducerSendError
from faust.streams import _current_event
from faust.types import TP, EventT, Message, StreamT

from agents.spec import AgentSpec
from app import binding, spinner
from app.acks import OrderedAcks
from app.auth import Authenticator
from app.cards import agent_card, extended_agent_card, extended_card_modifier
from app.event_loop import choose_event_loop
from app.executions import Executions
from app.handler import LeanRequestHandler
from app.heap import freeze_startup_heap
from app.kafka_driver import Consumer, RecordHandler, Transport
from app.kafka_handler import KafkaHandler, OutgoingRecord, RequestRecord
from app.logs import install as install_kafka_log_filter
from app.offsets import guard_request_offsets
from app.outbox_fetching import CHECK_INTERVAL as OUTBOX_CHECK_INTERVAL
from app.outbox_fetching import OutboxFetching
from app.peers import KafkaPeerCaller
from app.push import OutboxPushSender, producer_of
from app.push_delivery import guard_from, register_push_delivery
from app.push_guard import GuardedPushConfigStore
from app.registry import encode_card
from app.sdk_handler import sdk_request_handler
from app.settings import Settings
from app.tracing import TracedExecutor
from tables import ConversationIndex, FaustPushNotificationConfigStore, FaustTaskStore
from tables.changelog import Changelogs, HandedOver, Ownership, TrackedTable, WriteBehind

logger = logging.getLogger(__name__)


@dataclass
class HostedAgent:
    """One hosted A2A agent as the worker runs it."""

    spec: AgentSpec
    card: AgentCard
    tasks: FaustTaskStore
    conversations: ConversationIndex
    push_configs: FaustPushNotificationConfigStore
    request_handler: RequestHandler
    kafka_handler: KafkaHandler


def pin_current_event(event: EventT) -> None:
    """Makes ``event`` the current Faust event of this asyncio context, by strong reference.

    Table writes go to the changelog partition of ``faust.current_event()``, which
    Faust keeps as a *weak* reference. An execution outlives the request record that
    started it (a streaming task, ``return_immediately``, a later ``CancelTask``); it
    copies this context, so pinning the event here keeps it resolvable exactly as long
    as the execution lives, and its writes land in the partition of the record that
    created it — the partition that owns the conversation.
    """
    _current_event.set(cast(Any, lambda: event))


def _transient(error: BaseException) -> bool:
    """Whether a produce error may clear by itself (Kafka's ``retriable``, or a timeout:
    the broker is unreachable), rather than refuse the record for good."""
    cause = error.__cause__ if isinstance(error, ProducerSendError) else error
    return (
        not isinstance(cause, KafkaError)
        or bool(cause.retriable)
        or isinstance(cause, KafkaTimeoutError)
    )


def faust_app(settings: Settings, **options: Any) -> faust.App:
    """The Faust app of a worker: ``settings``' broker, store, partitions and web server,
    the project's consumer-group timings, and the Kafka transport of
    :mod:`app.kafka_driver` (inline consumer, fetch wait, idempotent producer).

    Args:
        settings: Service settings; the tables go to ``<datadir>/<app id>/``.
        options: More Faust settings (``Worker=…``).
    """
    datadir = Path(settings.datadir) / settings.app_id
    datadir.mkdir(parents=True, exist_ok=True)
    app = faust.App(
        settings.app_id,
        broker=f"kafka://{settings.bootstrap_servers.replace(',', ';kafka://')}",
        store=settings.store,
        datadir=str(datadir),
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
        # No Faust leader election: nothing here runs ``on_leader``, and its one-partition
        # topic would be in every fetch of every worker (Faust's own advice).
        topic_disable_leader=True,
        **options,
        **settings.kafka.faust_settings(),
    )
    install_kafka_log_filter(app)
    transport = Transport(app.conf.broker_consumer, app)
    transport.fetch_max_wait_ms = settings.fetch_max_wait_ms
    transport.consumer_thread = settings.consumer == "thread"
    app.transport = transport
    return app


def _graceful_worker(a2a: A2AWorker) -> type[faust.Worker]:
    """Faust's ``Worker`` class (:class:`app.spinner.Worker`), freezing the startup heap
    once started (:func:`app.heap.freeze_startup_heap`) and stopping ``a2a``'s
    executions gracefully on shutdown.

    On SIGTERM Faust stops the consumer and closes the tables before anything else, and
    it does not send ``on_partitions_revoked``; executions still running would then
    lose their writes and their tasks be recovered as orphans. This worker first stops
    taking records and lets running executions finish within ``handover_timeout`` (the
    rest are handed over, as on a rebalance), closes the peer callers' Kafka clients,
    then stops as Faust does.
    """

    class GracefulWorker(spinner.Worker):
        async def on_startup_finished(self) -> None:
            await super().on_startup_finished()
            logger.info("froze %d objects of the startup heap", freeze_startup_heap())

        async def on_stop(self) -> None:
            self.app.flow_control.suspend()
            await a2a.hand_over(set(range(a2a.settings.partitions)))
            await a2a.peers.close()
            await super().on_stop()

    return GracefulWorker


class A2AWorker:
    """Builds the Faust app that serves ``specs`` over Kafka.

    Args:
        specs: The agents to host, by name.
        settings: Service settings.

    Attributes:
        app: The ``faust.App``; ``faust -A app worker`` runs it.
        agents: The hosted agents by name.
        tasks_table, contexts_table, push_configs_table: The tables, raw (UTF-8) keys
            → ``bytes`` values, partitioned like the request topics.
        executions: The executions this worker is running.
        ownership: The partitions this worker may write.
        event_loop: The event loop the worker command runs on (``uvloop`` unless
            ``faust -L/--loop`` chose another; :mod:`app.event_loop`).
    """

    def __init__(self, specs: Mapping[str, AgentSpec], settings: Settings) -> None:
        self.settings = settings
        self.event_loop = choose_event_loop()
        self.app = faust_app(settings, Worker=_graceful_worker(self))
        self.ownership = Ownership()
        self.executions = Executions()
        self.acks = OrderedAcks(
            read_again=lambda tp, offset: cast(Consumer, self.app.consumer).read_again(tp, offset)
        )
        self.tasks_table = self._table("tasks", "task id → a2a Task (protobuf)")
        self.contexts_table = self._table("contexts", "context id → task ids (JSON)")
        self.push_configs_table = self._table("push-configs", "task id → push configs")
        self.authenticator = Authenticator.from_settings(settings)
        self.writes = WriteBehind()
        self.changelogs = Changelogs(
            [self.tasks_table, self.contexts_table, self.push_configs_table]
        )
        self.peers = KafkaPeerCaller(settings.kafka)
        self.push_guard = guard_from(settings)
        self.recovery_topic = self.app.topic(
            f"{settings.app_id}-recovery",
            key_serializer="raw",
            value_serializer="raw",
            partitions=settings.partitions,
            internal=True,
        )
        self.outbox = OutboxFetching(self.app, specs, settings.partitions)
        self.app.timer(OUTBOX_CHECK_INTERVAL, name="a2a-outbox-fetching")(self.outbox.check)
        self.agents = {name: self._host(spec) for name, spec in specs.items()}
        self.app.agent(self.recovery_topic, name="a2a-recovery")(self._recover)
        guard_request_offsets(
            self.app,
            {binding.requests_topic(name) for name in specs}
            | {binding.push_topic(name) for name in specs},
            self.acks.resume_at,
        )
        self.app.on_partitions_assigned.connect(self._on_assigned)
        self.app.on_partitions_revoked.connect(self._on_revoked)
        self.app.task(self._on_start)

    def _table(self, name: str, help_text: str) -> TrackedTable:
        table = TrackedTable(
            self.app,
            name=name,
            key_type=bytes,
            value_type=bytes,
            partitions=self.settings.partitions,
            help=help_text,
            options=self.settings.table_options,
        )
        table.ownership = self.ownership
        return cast(TrackedTable, self.app.tables.add(table))

    def _partition_of(self, task_id: str) -> int:
        return binding.partition_for(binding.task_routing_key(task_id), self.settings.partitions)

    def _host(self, spec: AgentSpec) -> HostedAgent:
        card = agent_card(
            spec,
            self.settings.card_bootstrap_servers,
            authentication=self.authenticator.enabled,
        )
        tasks = FaustTaskStore(self.tasks_table, spec.name, partitions=self.settings.partitions)
        conversations = ConversationIndex(self.contexts_table, spec.name)
        push_configs = FaustPushNotificationConfigStore(self.push_configs_table, spec.name)
        executor = TracedExecutor(spec.make_executor(self.peers), spec.name)
        guarded_configs = GuardedPushConfigStore(push_configs, self.push_guard)
        push_sender = OutboxPushSender(
            spec.name,
            push_configs,
            self.outbox.produce(producer_of(self.app)),
            # The lean handler counts task states itself (it skips tasks without configs).
            count_states=self.settings.request_handler == "default",
        )
        request_handler: RequestHandler
        if self.settings.request_handler == "default":
            request_handler = sdk_request_handler(
                agent_executor=executor,
                tasks=tasks,
                conversations=conversations,
                agent_card=card,
                task_id_generator=binding.RoutedTaskIdGenerator(),
                push_config_store=guarded_configs,
                push_sender=push_sender,
                interrupted_task_timeout=float(self.settings.interrupted_task_timeout),
            )
        else:
            request_handler = LeanRequestHandler(
                agent_executor=executor,
                task_store=tasks,
                agent_card=card,
                conversations=conversations,
                executions=self.executions,
                partition_of=self._partition_of,
                task_id_generator=binding.RoutedTaskIdGenerator(),
                recovery=spec.recovery,
                push_config_store=guarded_configs,
                push_sender=push_sender,
                extended_agent_card=extended_agent_card(spec, card),
                extended_card_modifier=extended_card_modifier(card),
                writes=self.writes,
                acknowledged=self._acknowledged,
            )
        kafka_handler = KafkaHandler(
            spec.name,
            request_handler,
            produce=self._produce,
            acknowledged=self._acknowledged,
            max_request_bytes=self.settings.max_request_bytes,
            authenticator=self.authenticator,
        )
        topic = self.app.topic(
            binding.requests_topic(spec.name),
            key_serializer="raw",
            value_serializer="raw",
            partitions=self.settings.partitions,
            internal=True,  # Faust creates it with the changelogs' partition count
        )
        self.app.topics.add(topic)
        cast(Transport, self.app.transport).deliver_directly(
            topic.get_topic_name(), self._serve(kafka_handler)
        )
        register_push_delivery(
            self.app, spec.name, push_configs, self.settings, self.acks, self.push_guard
        )
        return HostedAgent(
            spec, card, tasks, conversations, push_configs, request_handler, kafka_handler
        )

    async def _acknowledged(self, partition: int) -> None:
        """Makes the held table writes, then waits until the partition's changelog
        records are acknowledged: an answer never runs ahead of the state.

        Raises:
            HandedOver: the partition was revoked meanwhile. Its new owner restored the
                table from the changelog and answers the redelivered request; this
                worker answers nothing more for it.
        """
        self.writes.flush()
        await self.changelogs.acknowledged(partition)
        if not self.ownership.owns(partition):
            raise HandedOver(f"partition {partition} was revoked before the answer")

    async def _produce(self, record: OutgoingRecord) -> Awaitable[Any]:
        return await self.app.producer.send(
            record.topic, record.key, record.value, record.partition, None, record.headers
        )

    def _serve(self, handler: KafkaHandler) -> RecordHandler:
        """Takes the request records of one A2A agent, as the consumer fetches them
        (:meth:`app.kafka_driver.Transport.deliver_directly`): bounded concurrent
        handling, ordered acks.

        Each record is handled in its own asyncio task (at most ``max_in_flight`` at a
        time; the fetch loop waits for a free slot) so a long execution does not stall
        its partition. A record fetched before a rebalance that happened while it
        waited for a slot is left to the partition's owner, as Faust's streams skip
        it. A record is acked once its answer (or dead letter) is acknowledged by
        Kafka and every earlier record of its partition since reading resumed is acked
        (:class:`app.acks.OrderedAcks`), so an offset is committed only past answered
        records (at-least-once; a redelivered message is answered from its task, see
        ``app.handler``). A record taken past one that never arrived makes the
        partition be read again from the missing offset. A record whose partition was
        handed over is not acked: its new owner answers it.
        """
        app = self.app
        slots = asyncio.Semaphore(self.settings.max_in_flight)
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
                if await self._answer(handler, record):
                    self.acks.done(event)
            finally:
                slots.release()

        async def take(message: Message) -> None:
            await slots.acquire()
            if (
                not app.flow_control.is_active()
                or message.generation_id != app.consumer_generation_id
            ):
                slots.release()
                return
            event = app.create_event(message.key, message.value, message.headers, message)
            self.acks.taken(event)
            task = asyncio.create_task(handle(event))
            in_flight.add(task)
            task.add_done_callback(in_flight.discard)

        return take

    async def _answer(self, handler: KafkaHandler, record: RequestRecord) -> bool:
        """Handles ``record`` until it is answered; ``False`` if it was handed over.

        A produce that fails (the broker is unreachable) is retried with backoff, for
        as long as this worker owns the partition, so no request is acked unanswered.
        Any other fault is retried once, then answered with ``InternalError`` and
        dead-lettered: a record that crashes the handler twice never blocks its
        partition.
        """
        backoff, attempts = 0.5, 0
        failure: Exception | None = None
        while True:
            try:
                if failure is None:
                    await handler.handle(record)
                else:
                    await handler.fail(record, failure)
                return True
            except HandedOver:
                return False
            except (KafkaError, ProducerSendError) as exc:
                if not _transient(exc):
                    fault: Exception = exc
                elif not self.ownership.owns(record.partition):
                    return False
                else:
                    logger.warning(
                        "answer to %s[%s]@%s not produced (%r); retrying in %.1f s",
                        record.topic,
                        record.partition,
                        record.offset,
                        exc,
                        backoff,
                    )
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 30.0)
                    continue
            except Exception as exc:
                fault = exc
            if failure is not None:
                raise fault
            attempts += 1
            logger.error(
                "request %s[%s]@%s failed (attempt %d): %r",
                record.topic,
                record.partition,
                record.offset,
                attempts,
                fault,
                exc_info=fault,
            )
            if attempts >= 2:
                failure = fault

    async def _recover(self, stream: StreamT) -> None:
        """Recovers the orphaned tasks of each partition this worker is assigned.

        One record per assigned partition arrives on the internal recovery topic
        (partitioned like the request topics, so owned by the same worker); while it is
        handled, table writes land in that partition, and each lean handler runs again
        or fails the partition's tasks that were running on a worker that stopped.
        The partition is then paused until the next rebalance resumes it (Faust
        resumes every stream partition after a rebalance), so it stays out of the
        fetches the worker makes for every request.
        """
        async for event in stream.events():
            pin_current_event(event)
            partition = event.message.partition
            for name, hosted in self.agents.items():
                if isinstance(hosted.request_handler, LeanRequestHandler):
                    counts = await hosted.request_handler.recover(
                        hosted.tasks.owned_tasks(partition)
                    )
                    if any(counts.values()):
                        logger.warning(
                            "partition %d of %s: %d orphaned tasks run again, %d ended failed",
                            partition,
                            name,
                            counts["rerun"],
                            counts["failed"],
                        )
            self.app.consumer.pause_partitions({event.message.tp})

    async def _on_assigned(self, sender: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
        """Opens the assigned partitions for writes and asks for their recovery."""
        assigned: set[TP] = args[0] if args else kwargs["assigned"]
        recovery = self.recovery_topic.get_topic_name()
        self.ownership.assign(tp.partition for tp in assigned)
        for tp in assigned:
            if tp.topic == recovery:
                await self.recovery_topic.send(value=b"recover", partition=tp.partition)

    async def _on_revoked(self, sender: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
        """Hands revoked partitions over: their executions finish within
        ``handover_timeout`` or are stopped, then no more writes go to them."""
        revoked: set[TP] = args[0] if args else kwargs["revoked"]
        await self.hand_over({tp.partition for tp in revoked})

    async def hand_over(self, partitions: set[int]) -> None:
        """Gives ``partitions`` up: their executions finish within ``handover_timeout``
        or are stopped, every table write made for them is acknowledged by Kafka, and
        then the worker writes and answers nothing more for them.

        The new owner restores the tables from the changelogs once the rebalance is
        over, up to their end at that moment: a write still in flight would be missed,
        and an answer sent after it would report a state the new owner does not have.
        """
        await self.executions.hand_over(partitions, float(self.settings.handover_timeout))
        self.writes.flush()
        await asyncio.gather(*(self.changelogs.acknowledged(p) for p in partitions))
        self.ownership.revoke(partitions)
        self.acks.forget(partitions)

    async def _on_start(self) -> None:
        """Says whether callers are authenticated, creates the output topics and
        publishes every AgentCard to the registry."""
        logger.log(
            logging.INFO if self.authenticator.enabled else logging.WARNING,
            self.authenticator.describe(),
        )
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

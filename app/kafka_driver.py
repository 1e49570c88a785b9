"""Faust's aiokafka driver with a worker consumer on the worker's own event loop, whose
fetch wait is configurable, and an idempotent producer.

faust-streaming 0.15 runs the worker's ``AIOKafkaConsumer`` in a thread of its own
(``ThreadDelegateConsumer``): every fetch, commit and seek is a call queued to that
thread and a future set back across threads, and the rebalance callbacks come back the
same way, under the one GIL. Without that hop a worker handled 10-18 % more streamed
tasks per second at 64 callers in ``make bench``-style A/B runs, with less broker CPU
per task (``docs/upstream.md``). :class:`InlineConsumerThread`
is Faust's consumer "thread" run as a plain service on the worker's loop: its calls are
awaited directly, nothing else about the consumer changes. ``Transport.consumer_thread``
brings Faust's thread back (``FAUST_A2A_CONSUMER=thread``).

faust-streaming 0.15 builds the worker's ``AIOKafkaConsumer`` with
``fetch_max_wait_ms=1500`` and no setting to change it. When the agents' requests
back up, Faust stops fetching the partitions whose stream buffer is full; the next
fetch then covers only the other partitions, and the broker may hold it for the whole
1.5 s before the drained partitions are fetched again. The benchmark showed p50
latencies of 1.5 to 1.9 s at 64 concurrent callers from this alone. :class:`Transport`
is Faust's own transport with that one number settable, and with :class:`Producer`
(idempotence, which Faust sets only inside transactions).

:class:`Consumer` can read a partition again from an earlier offset
(``Consumer.read_again``), which ``app.acks`` asks for when Faust dropped records: a
plain seek while Faust hands out a fetched batch is undone by the rest of that batch.

faust-streaming 0.15 pauses a partition only in its own bookkeeping: it stops handing
its records out, but aiokafka goes on fetching it. After recovery every changelog
partition of an active table is paused that way, and an empty one (a table nobody
wrote yet) stays in every fetch request, which aiokafka encodes and the broker and
aiokafka decode, partition by partition, for every record the worker is sent. On the
inline consumer :class:`Consumer` pauses (and resumes) aiokafka's fetching too.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from typing import Any, cast

import aiokafka
from aiokafka import TopicPartition
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP, Message
from mode.utils.futures import maybe_async

from app.kafka_config import DURABLE_PRODUCER_OPTIONS

logger = logging.getLogger(__name__)

#: Takes one record fetched by the worker's consumer (:meth:`Transport.deliver_directly`).
#: The fetch loop awaits it before the record after it, so waiting here is backpressure.
RecordHandler = Callable[[Message], Awaitable[None]]


class ConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    """Faust's consumer thread; the worker consumer uses the transport's fetch wait."""

    def _create_worker_consumer(self, transport: Any) -> aiokafka.AIOKafkaConsumer:
        consumer = super()._create_worker_consumer(transport)
        # aiokafka keeps the constructor argument here until start() builds its fetcher.
        consumer._fetch_max_wait_ms = transport.fetch_max_wait_ms
        return consumer


class InlineConsumerThread(ConsumerThread):
    """:class:`ConsumerThread` run on the worker's event loop, without a thread.

    mode's ``ServiceThread`` starts a thread with a loop of its own and reaches it
    through a method queue; here the "thread loop" is the worker's loop, ``start`` and
    ``stop`` are a plain service's, and ``call_thread`` awaits the call. Faust's
    ``ThreadDelegateConsumer`` still sends the rebalance callbacks through its own
    method queue, which works unchanged on one loop.
    """

    wait_for_shutdown = False

    def __init__(self, consumer: Any, *, loop: asyncio.AbstractEventLoop, **kwargs: Any) -> None:
        super().__init__(consumer, loop=loop, thread_loop=loop, **kwargs)

    async def start(self) -> None:
        """Starts the aiokafka consumer (``on_start``) and the method queue on this loop."""
        self._thread_started.set()
        await self._default_start()
        await self.on_thread_started()

    async def stop(self) -> None:
        """Stops the method queue and the aiokafka consumer, then this service's tasks."""
        if self._started.is_set() and not self._stopped.is_set():
            self._stopped.set()
            await self.on_stop()
            await self._shutdown_thread()

    async def call_thread(self, fun: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Calls ``fun(*args, **kwargs)`` here, awaiting its result if it is awaitable
        (as mode's method queue does): the consumer lives on this loop."""
        return await maybe_async(fun(*args, **kwargs))

    def set_fetching(self, tps: Iterable[TP], fetching: bool) -> None:
        """Resumes (or pauses) aiokafka's fetching of ``tps``; partitions the aiokafka
        consumer is not assigned (or a consumer not started) are left alone."""
        consumer = self._consumer
        if consumer is None:
            return
        assigned = consumer.assignment()
        partitions = [
            tp for tp in (TopicPartition(tp.topic, tp.partition) for tp in tps) if tp in assigned
        ]
        if fetching:
            consumer.resume(*partitions)
        else:
            consumer.pause(*partitions)


class Consumer(faust_aiokafka.Consumer):
    """Faust's aiokafka consumer with :class:`InlineConsumerThread` (or
    :class:`ConsumerThread` when the transport's ``consumer_thread`` is set), which can
    read a partition again from an earlier offset (:meth:`read_again`).

    Faust drops a fetched record whose offset is below its read offset, and its fetch
    loop sets that read offset as it hands out each record of the batch it is in. A
    seek while a batch is being handed out is therefore undone by the rest of the
    batch, and the records read again are dropped. :meth:`read_again` seeks when the
    next batch is fetched instead (:meth:`getmany`).
    """

    _read_again: dict[TP, int] | None = None

    def read_again(self, tp: TP, offset: int) -> None:
        """Reads ``tp`` again from ``offset`` (the lowest asked for) from the next fetch
        on; forgotten if ``tp`` is revoked meanwhile."""
        pending = self._read_again = self._read_again or {}
        pending[tp] = min(offset, pending.get(tp, offset))

    async def getmany(self, timeout: float) -> AsyncIterator[tuple[TP, Message]]:
        """Faust's fetch of the next batch, after the seeks :meth:`read_again` asked for.

        A record of a topic delivered directly (:meth:`Transport.deliver_directly`) is
        not yielded to Faust's conductor: it is tracked as Faust's stream would
        (``track_message``), awaited in its handler, and its offset becomes the
        partition's read offset, as ``_drain_messages`` does after a delivery. A record
        below the read offset was sought past and is dropped, by the same rule.
        """
        if self._read_again:
            pending, self._read_again = self._read_again, None
            assigned = self.assignment()
            for tp, offset in pending.items():
                if tp in assigned:
                    await self.seek(tp, offset)
        handlers = cast(Transport, self.transport).direct_handlers
        read_offsets = self._read_offset
        async for tp, message in super().getmany(timeout):
            handler = handlers.get(tp.topic)
            if handler is None:
                yield tp, message
                continue
            read_offset = read_offsets.get(tp)
            if read_offset is None or message.offset >= read_offset:
                self.track_message(message)
                await handler(message)
                read_offsets[tp] = message.offset

    def pause_partitions(self, tps: Iterable[TP]) -> None:
        """Faust's pause (its records are not handed out), and on the inline consumer
        aiokafka's too (the partitions are not fetched)."""
        tpset = set(tps)
        super().pause_partitions(tpset)
        self.set_fetching(tpset, False)

    def resume_partitions(self, tps: Iterable[TP]) -> None:
        """Faust's resume, and on the inline consumer aiokafka's too."""
        tpset = set(tps)
        super().resume_partitions(tpset)
        self.set_fetching(tpset, True)

    @property
    def controls_fetching(self) -> bool:
        """Whether :meth:`set_fetching` pauses aiokafka's fetching (the inline consumer);
        on Faust's consumer thread it does nothing."""
        return isinstance(self._thread, InlineConsumerThread)

    def set_fetching(self, tps: Iterable[TP], fetching: bool) -> None:
        """Resumes (or pauses) aiokafka's fetching of ``tps`` alone, on the inline
        consumer; Faust's own pause of a partition (it stops handing its records out)
        is left as it is. A paused partition's records fetched but not handed out are
        dropped by aiokafka and fetched again from its position when it resumes."""
        if isinstance(self._thread, InlineConsumerThread):
            self._thread.set_fetching(tps, fetching)

    async def on_stop(self) -> None:
        """Faust's stop (a last commit of the acked offsets), given up after the
        session timeout (``broker_session_timeout``).

        With every broker unreachable aiokafka retries the group coordinator for as
        long as it is gone, and a worker sent SIGTERM would never end. Offsets left
        uncommitted are redelivered to the partitions' next owner, which answers a
        redelivered message from its task.
        """
        timeout = float(self.app.conf.broker_session_timeout)
        stop = asyncio.ensure_future(super().on_stop())
        if not (await asyncio.wait({stop}, timeout=timeout))[0]:
            stop.cancel()
            await asyncio.wait({stop}, timeout=1.0)
            logger.warning("consumer stopped without its last commit after %.0f s", timeout)
        else:
            stop.result()

    async def on_partitions_revoked(self, revoked: set[TP]) -> None:
        """Forgets the re-reads asked for ``revoked``, then revokes as Faust does."""
        if self._read_again:
            for tp in revoked:
                self._read_again.pop(tp, None)
        await super().on_partitions_revoked(revoked)

    def _new_consumer_thread(self) -> faust_aiokafka.AIOKafkaConsumerThread:
        if cast(Transport, self.transport).consumer_thread:
            return ConsumerThread(self, loop=self.loop, beacon=self.beacon)
        return InlineConsumerThread(self, loop=self.loop, beacon=self.beacon)


class Producer(faust_aiokafka.Producer):
    """Faust's aiokafka producer, idempotent (Kafka ``enable.idempotence``).

    faust-streaming 0.15 turns idempotence on only inside transactions
    (``exactly_once``), and has no setting for it; ``producer_acks`` already
    defaults to all in-sync replicas. Idempotence keeps the producer's own retries
    after a leader change from writing a record twice or out of order (see
    :mod:`app.kafka_config`).
    """

    def _settings_extra(self) -> Mapping[str, Any]:
        return {**super()._settings_extra(), **DURABLE_PRODUCER_OPTIONS}


class Transport(faust_aiokafka.Transport):
    """Faust's aiokafka transport with :class:`Consumer` and :class:`Producer`.

    Attributes:
        fetch_max_wait_ms: How long the broker may hold a fetch of the worker's
            consumer that finds no records, milliseconds (Kafka ``fetch.max.wait.ms``);
            default 100. Records are returned as soon as they exist.
        consumer_thread: Whether the worker's consumer runs in Faust's own thread
            (:class:`ConsumerThread`) instead of on the worker's loop
            (:class:`InlineConsumerThread`); default ``False``.
        direct_handlers: Topic name → the handler its records are delivered to
            (:meth:`deliver_directly`).
    """

    Consumer = Consumer
    Producer = Producer
    fetch_max_wait_ms: int = 100
    consumer_thread: bool = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.direct_handlers: dict[str, RecordHandler] = {}

    def deliver_directly(self, topic: str, handler: RecordHandler) -> None:
        """Hands every record the worker's consumer fetches from ``topic`` to
        ``handler``, in offset order per partition, instead of to a Faust stream.

        The topic must still be subscribed (``app.topics.add``). Faust's flow control
        and rebalances apply as to a stream: a fetched batch is cut short when the flow
        stops or the consumer generation changes, and records below a partition's read
        offset (sought past) are dropped. ``handler`` acks each record through
        ``faust.Event.ack`` for Faust to commit its offset.
        """
        self.direct_handlers[topic] = handler

"""Outbox partitions are fetched only while they may hold records to deliver.

Every fetch request of a worker names each partition it fetches, and aiokafka, the
broker and aiokafka again encode, look up and decode every one of them, for every
request record the worker is sent. A worker hosting an agent fetches its request
partitions and as many outbox partitions (``agent.<name>.push``, see :mod:`app.push`),
which stay empty unless tasks have push configs: half of every fetch was partitions
with nothing to read.

:class:`OutboxFetching` pauses the fetching of an outbox partition (aiokafka's
``pause``, through :meth:`app.kafka_driver.Consumer.set_fetching`) once everything in
it has been handed to the delivery agent, and resumes it as soon as this worker
produces a record to it. Only a partition's owner writes its outbox records (they are
produced after the partition's table writes, which ``app.tables`` allows only to the
owner), so the owner knows when new records come. The end offsets are read from
Kafka at every check (``ListOffsets``), so a record written by anyone else (a worker
that lost the partition a moment earlier) resumes the fetching at the next check.

Pausing moves no offset: the committed offset stays at the first record not yet
delivered, and the partition's next owner reads from there as before.
"""

from __future__ import annotations

import logging
from collections.abc import Collection

import faust
from faust.types import TP

from app import binding, metrics
from app.kafka_driver import Consumer
from app.push import Produce

logger = logging.getLogger(__name__)

#: Seconds between two checks of the outbox partitions' end offsets.
CHECK_INTERVAL = 1.0


class OutboxFetching:
    """Pauses the fetching of caught-up outbox partitions; resumes it for new records.

    Args:
        app: The worker's Faust app (its consumer is :class:`app.kafka_driver.Consumer`
            on the worker's loop; on Faust's consumer thread nothing is paused).
        agents: The hosted agents (their outbox topics are ``agent.<name>.push``).
        partitions: Partitions of every outbox topic (murmur2 of the record key picks
            one, as Kafka's default partitioner does).
    """

    def __init__(self, app: faust.App, agents: Collection[str], partitions: int) -> None:
        self._app = app
        self._agents = {binding.push_topic(agent): agent for agent in agents}
        self._partitions = partitions
        #: Records being produced, by partition (sent, not yet acknowledged or failed).
        self._producing: dict[TP, int] = {}
        #: Number (of ``_produces``) of each partition's latest finished produce: a
        #: check leaves a partition fetched if a produce finished after it began.
        self._finished: dict[TP, int] = {}
        self._produces = 0
        #: Outbox partitions this worker paused and has not resumed since.
        self._paused: set[TP] = set()

    def produce(self, produce: Produce) -> Produce:
        """``produce`` that resumes the fetching of an outbox record's partition first
        and keeps it fetched until the record is past the next check."""

        async def tracked(
            topic: str, key: bytes, value: bytes, headers: list[tuple[str, bytes]]
        ) -> None:
            if topic not in self._agents:
                await produce(topic, key, value, headers)
                return
            tp = TP(topic, binding.partition_for(key.decode(), self._partitions))
            self._producing[tp] = self._producing.get(tp, 0) + 1
            if tp in self._paused:
                self._set_fetching([tp], True)
            try:
                await produce(topic, key, value, headers)
            finally:
                self._producing[tp] -= 1
                if not self._producing[tp]:
                    del self._producing[tp]
                self._produces += 1
                self._finished[tp] = self._produces

        return tracked

    async def check(self) -> None:
        """Pauses every assigned outbox partition whose records have all been handed
        out (its position is its end offset) and that no produce touched since this
        check asked for the end offsets; resumes the others. A Kafka error leaves
        every partition as it is until the next check."""
        consumer = self._fetching_consumer()
        if consumer is None:
            return
        tps = [tp for tp in consumer.assignment() if tp.topic in self._agents]
        if not tps:
            return
        mark = self._produces
        try:
            ends = await consumer.highwaters(*tps)
            positions = {tp: await consumer.position(tp) for tp in tps}
        except Exception as exc:
            logger.debug("outbox end offsets not read: %r", exc)
            return
        assigned = consumer.assignment()
        paused: list[TP] = []
        fetched: list[TP] = []
        for tp in tps:
            if tp not in assigned or tp in self._producing or self._finished.get(tp, 0) > mark:
                continue
            end, position = ends.get(tp), positions[tp]
            caught_up = end is not None and position is not None and position >= end
            (paused if caught_up else fetched).append(tp)
        self._paused.intersection_update(assigned)
        self._set_fetching(paused, False)
        self._set_fetching(fetched, True)

    def _fetching_consumer(self) -> Consumer | None:
        """The worker's consumer when it can pause aiokafka's fetching (the inline
        :class:`app.kafka_driver.Consumer`), else ``None``."""
        consumer = self._app.consumer
        if isinstance(consumer, Consumer) and consumer.controls_fetching:
            return consumer
        return None

    def _set_fetching(self, tps: list[TP], fetching: bool) -> None:
        """Pauses or resumes ``tps`` and counts the agents' paused outbox partitions."""
        consumer = self._fetching_consumer()
        if not tps or consumer is None:
            return
        consumer.set_fetching(tps, fetching)
        if fetching:
            self._paused.difference_update(tps)
        else:
            self._paused.update(tps)
        for topic in {tp.topic for tp in tps}:
            metrics.outbox_partitions_paused(
                self._agents[topic], sum(1 for tp in self._paused if tp.topic == topic)
            )

"""Faust's aiokafka driver with a worker consumer whose fetch wait is configurable,
and an idempotent producer.

faust-streaming 0.15 builds the worker's ``AIOKafkaConsumer`` with
``fetch_max_wait_ms=1500`` and no setting to change it. When the agents' requests
back up, Faust stops fetching the partitions whose stream buffer is full; the next
fetch then covers only the other partitions, and the broker may hold it for the whole
1.5 s before the drained partitions are fetched again. The benchmark showed p50
latencies of 1.5 to 1.9 s at 64 concurrent callers from this alone. :class:`Transport`
is Faust's own transport with that one number settable, and with :class:`Producer`
(idempotence, which Faust sets only inside transactions).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aiokafka
from faust.transport.drivers import aiokafka as faust_aiokafka

from app.kafka_config import DURABLE_PRODUCER_OPTIONS


class ConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    """Faust's consumer thread; the worker consumer uses the transport's fetch wait."""

    def _create_worker_consumer(self, transport: Any) -> aiokafka.AIOKafkaConsumer:
        consumer = super()._create_worker_consumer(transport)
        # aiokafka keeps the constructor argument here until start() builds its fetcher.
        consumer._fetch_max_wait_ms = transport.fetch_max_wait_ms
        return consumer


class Consumer(faust_aiokafka.Consumer):
    """Faust's aiokafka consumer with :class:`ConsumerThread`."""

    def _new_consumer_thread(self) -> faust_aiokafka.AIOKafkaConsumerThread:
        return ConsumerThread(self, loop=self.loop, beacon=self.beacon)


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
    """

    Consumer = Consumer
    Producer = Producer
    fetch_max_wait_ms: int = 100

"""The floor: a raw aiokafka request-reply echo through the same broker.

No A2A, no Faust, no tables: what one request record and its reply records cost on
this broker. The echo process (``python -m bench.echo BOOTSTRAP``) reads
``bench.echo.requests`` and answers every record with as many reply records as its
``echo-replies`` header asks — 1 for a unary call, :data:`STREAM_RECORDS` for a
stream, as many as faust-a2a answers one benchmark task with — on
``bench.echo.replies``, keyed by the correlation id, the last one marked final.
:class:`EchoClient` keeps one pair of futures per call keyed by correlation id.

Both consumers set ``fetch_max_wait_ms`` explicitly to :data:`FETCH_MAX_WAIT_MS`, the
default of ``KafkaTransport``'s response consumer (which the faust-a2a client here
also passes explicitly), so the floor and faust-a2a's client poll alike: the broker
answers a fetch as soon as a record exists (``fetch_min_bytes=1``) and holds one that
finds nothing at most that long, instead of aiokafka's default 500 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import time
import uuid
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from app import binding
from app.kafka_config import kafka_config
from bench.agent import PARTITIONS

#: The raw echo's name: its topics are ``<name>.requests`` and ``<name>.replies``.
NAME = "bench.echo"
#: The Faust echo's name (:mod:`bench.faust_echo`, the same protocol on its own topics).
FAUST_NAME = "bench.faust-echo"
#: ``fetch_max_wait_ms`` of both consumers (``KafkaTransport``'s default).
FETCH_MAX_WAIT_MS = 100
#: ``acks`` of both producers: the project's durable produce settings
#: (``app.kafka_config``), as every other producer of the project (stated for the report).
ACKS = "all"
#: Request header: how many reply records to produce.
REPLIES_HEADER = "echo-replies"
#: Reply records of a streamed benchmark task over faust-a2a: its Task and three update
#: events exist at the same moment, so they go out as one record (``reply-batch``,
#: ``docs/kafka-binding.md`` §7); four records before that.
STREAM_RECORDS = 1

_TOPIC_ALREADY_EXISTS = 36


def requests_topic(name: str) -> str:
    """The request topic of the echo ``name``."""
    return f"{name}.requests"


def replies_topic(name: str) -> str:
    """The reply topic of the echo ``name``."""
    return f"{name}.replies"


async def ensure_topics(bootstrap_servers: str, name: str = NAME) -> None:
    """Creates both topics of the echo ``name``, with as many partitions as the agent's,
    unless they exist.

    Raises:
        RuntimeError: the broker refused to create one.
    """
    admin = AIOKafkaAdminClient(**kafka_config(bootstrap_servers).admin_options())
    await admin.start()
    try:
        response = await admin.create_topics(
            [
                NewTopic(topic, PARTITIONS, 1)
                for topic in (requests_topic(name), replies_topic(name))
            ]
        )
    finally:
        await admin.close()
    for topic, code, *_ in response.topic_errors:
        if code not in (0, _TOPIC_ALREADY_EXISTS):
            raise RuntimeError(f"cannot create {topic}: Kafka error {code}")


async def _consumer_at_end(
    bootstrap_servers: str, topic: str, producer: AIOKafkaProducer
) -> AIOKafkaConsumer:
    """A started consumer assigned every partition of ``topic``, positioned at its end
    (``producer``, started, tells the partitions)."""
    consumer = AIOKafkaConsumer(
        **kafka_config(bootstrap_servers).client_options(),
        enable_auto_commit=False,
        fetch_max_wait_ms=FETCH_MAX_WAIT_MS,
    )
    await consumer.start()
    tps = [TopicPartition(topic, p) for p in sorted(await producer.partitions_for(topic))]
    consumer.assign(tps)
    await consumer.seek_to_end(*tps)
    for tp in tps:
        await consumer.position(tp)
    return consumer


async def serve(bootstrap_servers: str, stop: asyncio.Event) -> None:
    """Echoes request records until ``stop`` is set.

    Each batch's replies are produced without waiting record by record; the batch's
    deliveries are awaited together before the next fetch.
    """
    await ensure_topics(bootstrap_servers)
    producer = AIOKafkaProducer(**kafka_config(bootstrap_servers).producer_options())
    await producer.start()
    consumer = await _consumer_at_end(bootstrap_servers, requests_topic(NAME), producer)
    try:
        while not stop.is_set():
            batches = await consumer.getmany(timeout_ms=200)
            deliveries = []
            for records in batches.values():
                for record in records:
                    correlation_id = binding.header(record.headers, binding.CORRELATION_ID)
                    if correlation_id is None:
                        continue
                    count = int(binding.header(record.headers, REPLIES_HEADER) or 1)
                    for index in range(count):
                        headers = [(binding.CORRELATION_ID, correlation_id.encode())]
                        if index == count - 1:
                            headers.append((binding.FINAL, b"1"))
                        deliveries.append(
                            await producer.send(
                                replies_topic(NAME),
                                record.value,
                                key=correlation_id.encode(),
                                headers=headers,
                            )
                        )
            if deliveries:
                await asyncio.gather(*deliveries)
    finally:
        await consumer.stop()
        await producer.stop()


@dataclass
class _Call:
    """One pending echo call: when its first reply came, and its final reply's value."""

    first: asyncio.Future[float] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )
    final: asyncio.Future[bytes] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class EchoClient:
    """Request-reply over the echo topics: one producer, one reply consumer, many calls.

    Args:
        bootstrap_servers: The broker.
        replies: Reply records to ask for per call (1, or :data:`STREAM_RECORDS`).
        timeout: Deadline of one call, seconds.
        name: The echo whose topics it uses (:data:`NAME`, or the Faust echo's,
            :mod:`bench.faust_echo`).
    """

    def __init__(
        self, bootstrap_servers: str, *, replies: int, timeout: float, name: str = NAME
    ) -> None:
        self._bootstrap_servers = bootstrap_servers
        self._name = name
        self._replies = str(replies).encode()
        self._timeout = timeout
        self._pending: dict[str, _Call] = {}
        self._producer = AIOKafkaProducer(**kafka_config(bootstrap_servers).producer_options())
        self._consumer: AIOKafkaConsumer | None = None
        self._reader: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Creates the topics if needed and starts, positioned at the replies' end."""
        await ensure_topics(self._bootstrap_servers, self._name)
        await self._producer.start()
        self._consumer = await _consumer_at_end(
            self._bootstrap_servers, replies_topic(self._name), self._producer
        )
        self._reader = asyncio.create_task(self._read(self._consumer))

    async def _read(self, consumer: AIOKafkaConsumer) -> None:
        while True:
            batches = await consumer.getmany(timeout_ms=1000)
            now = time.perf_counter()
            for records in batches.values():
                for record in records:
                    correlation_id = binding.header(record.headers, binding.CORRELATION_ID)
                    call = self._pending.get(correlation_id or "")
                    if call is None:
                        continue
                    if not call.first.done():
                        call.first.set_result(now)
                    if binding.header(record.headers, binding.FINAL) == "1":
                        call.final.set_result(record.value or b"")

    async def call(self, text: str) -> float:
        """Sends ``text`` and waits for its final reply; returns when the first came.

        Raises:
            TimeoutError: no final reply within the deadline.
            ValueError: the final reply is not ``text``.
        """
        correlation_id = uuid.uuid4().hex
        call = self._pending[correlation_id] = _Call()
        try:
            await self._producer.send_and_wait(
                requests_topic(self._name),
                text.encode(),
                key=correlation_id.encode(),
                headers=[
                    (binding.CORRELATION_ID, correlation_id.encode()),
                    (REPLIES_HEADER, self._replies),
                ],
            )
            value = await asyncio.wait_for(call.final, self._timeout)
        finally:
            del self._pending[correlation_id]
        if value != text.encode():
            raise ValueError(f"echo answered {value!r} to {text!r}")
        return call.first.result()

    async def close(self) -> None:
        """Stops the reader, the consumer and the producer."""
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        if self._consumer is not None:
            await self._consumer.stop()
        await self._producer.stop()


def main(argv: list[str] | None = None) -> None:
    """``python -m bench.echo BOOTSTRAP``: echoes until SIGTERM or SIGINT."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bootstrap_servers")
    args = parser.parse_args(argv)

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await serve(args.bootstrap_servers, stop)

    asyncio.run(run())


if __name__ == "__main__":
    main()

"""Raw Kafka records for tests that bypass the client: bad input, redelivery."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import ConsumerRecord


class RawPeer:
    """Produces raw request records and reads what lands on given topics after start.

    Args:
        bootstrap_servers: The broker.
        topics: Topics to read (positioned at their end on :meth:`start`).
    """

    def __init__(self, bootstrap_servers: str, *topics: str) -> None:
        self.producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers)
        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap_servers, enable_auto_commit=False, fetch_max_wait_ms=100
        )
        self.topics = topics
        self.seen: list[ConsumerRecord] = []

    async def start(self) -> RawPeer:
        """Starts, positioned at the end of every topic."""
        await self.producer.start()
        await self.consumer.start()
        tps = []
        for topic in self.topics:
            partitions = await self.producer.partitions_for(topic)
            tps += [TopicPartition(topic, p) for p in partitions]
        self.consumer.assign(tps)
        await self.consumer.seek_to_end(*tps)
        for tp in tps:
            await self.consumer.position(tp)
        return self

    async def stop(self) -> None:
        """Stops the producer and consumer."""
        await self.consumer.stop()
        await self.producer.stop()

    async def send(
        self,
        topic: str,
        value: bytes,
        *,
        key: bytes | None = None,
        correlation_id: str | None = None,
        headers: list[tuple[str, bytes]] | None = None,
    ) -> str | None:
        """Produces one record; returns its correlation id (a new one unless given)."""
        hdrs = list(headers or [("a2a-version", b"1.0")])
        if correlation_id is not None:
            hdrs.append(("correlation-id", correlation_id.encode()))
        await self.producer.send_and_wait(topic, value, key=key, headers=hdrs)
        return correlation_id

    async def wait_for(self, predicate: Any, timeout: float = 20.0) -> ConsumerRecord:
        """The first record (seen or arriving) for which ``predicate(record)`` holds.

        Raises:
            TimeoutError: none within ``timeout`` seconds.
        """
        async with asyncio.timeout(timeout):
            while True:
                for record in self.seen:
                    if predicate(record):
                        return record
                batches = await self.consumer.getmany(timeout_ms=200)
                for records in batches.values():
                    self.seen.extend(records)


async def read_topic(
    bootstrap_servers: str, topic: str, predicate: Any, timeout: float = 30.0
) -> list[ConsumerRecord]:
    """Every record of ``topic``, from its start to its current end, that ``predicate``
    accepts, in offset order per partition.

    Raises:
        TimeoutError: the topic could not be read to its end within ``timeout`` seconds.
    """
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers, enable_auto_commit=False, fetch_max_wait_ms=100
    )
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        (description,) = await admin.describe_topics([topic])
    finally:
        await admin.close()
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p["partition"]) for p in description["partitions"]]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        found: list[ConsumerRecord] = []
        async with asyncio.timeout(timeout):
            while [tp for tp in tps if await consumer.position(tp) < ends[tp]]:
                for records in (await consumer.getmany(timeout_ms=200)).values():
                    found += [r for r in records if predicate(r)]
        return found
    finally:
        await consumer.stop()


def header(record: ConsumerRecord, name: str) -> str | None:
    """A record header as text."""
    return next((v.decode() for k, v in record.headers if k == name), None)


def jsonrpc(method: str, params: dict[str, Any]) -> bytes:
    """A JSON-RPC 2.0 request as record bytes."""
    return json.dumps(
        {"jsonrpc": "2.0", "id": uuid.uuid4().hex, "method": method, "params": params}
    ).encode()


def user_message(text: str, **fields: str) -> dict[str, Any]:
    """A protobuf-JSON A2A user Message."""
    return {"messageId": uuid.uuid4().hex, "role": "ROLE_USER", "parts": [{"text": text}], **fields}

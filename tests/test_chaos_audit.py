"""The chaos audit's reading of topics (``support.chaos``), against the test broker.

Every figure of ``make chaos`` that says whether a request was written or
dead-lettered rests on these reads; a read that finds nothing turns a dead-lettered
call into a lost one.
"""

from __future__ import annotations

import uuid

import pytest
from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from support.chaos import Seen, topic_partitions, topic_records

from app import binding

pytestmark = pytest.mark.kafka


async def test_topic_records_reads_every_partition_with_a_header(bootstrap_servers: str) -> None:
    topic = f"audit-check-{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=4, replication_factor=1)])
    finally:
        await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers, acks="all")
    await producer.start()
    try:
        for i in range(20):
            headers = [(binding.DLQ_REASON, f"reason-{i}".encode())] if i % 2 else []
            await producer.send_and_wait(
                topic, b"{}", key=f"key-{i}".encode(), partition=i % 4, headers=headers
            )
        await producer.send_and_wait(topic, b"no key", partition=0)
    finally:
        await producer.stop()

    assert await topic_partitions(bootstrap_servers, topic) == [
        TopicPartition(topic, p) for p in range(4)
    ]
    records = await topic_records(bootstrap_servers, topic, binding.DLQ_REASON)
    assert records == {
        f"key-{i}": Seen(i % 4, i // 4, f"reason-{i}" if i % 2 else "") for i in range(20)
    }
    assert {k: s.header for k, s in (await topic_records(bootstrap_servers, topic)).items()} == {
        f"key-{i}": "" for i in range(20)
    }


async def test_a_missing_topic_has_no_keys_and_is_not_created(bootstrap_servers: str) -> None:
    topic = f"audit-missing-{uuid.uuid4().hex[:8]}"
    assert await topic_records(bootstrap_servers, topic) == {}
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        assert topic not in await admin.list_topics()
    finally:
        await admin.close()

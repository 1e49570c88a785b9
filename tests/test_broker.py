"""The broker that scripts/kafka starts, used as any Kafka client would use it."""

from __future__ import annotations

import signal
import uuid
from collections import defaultdict
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from support.processes import WorkerProcess

pytestmark = pytest.mark.kafka


async def test_topic_with_8_partitions_produce_and_consume(bootstrap_servers: str) -> None:
    topic = f"broker-check-{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=8, replication_factor=1)])
        (description,) = await admin.describe_topics([topic])
        assert len(description["partitions"]) == 8
    finally:
        await admin.close()

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers, acks="all")
    await producer.start()
    try:
        for i in range(80):
            await producer.send(topic, f"{i}".encode(), key=f"key-{i % 10}".encode())
        await producer.flush()
    finally:
        await producer.stop()

    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap_servers,
        group_id=f"g-{topic}",
        auto_offset_reset="earliest",
        fetch_max_wait_ms=100,
    )
    await consumer.start()
    by_key: dict[bytes, list[int]] = defaultdict(list)
    partitions: dict[bytes, set[int]] = defaultdict(set)
    try:
        while sum(len(v) for v in by_key.values()) < 80:
            batches = await consumer.getmany(timeout_ms=10_000)
            assert batches, "consumer got nothing within 10 s"
            for records in batches.values():
                for record in records:
                    by_key[record.key].append(int(record.value))
                    partitions[record.key].add(record.partition)
    finally:
        await consumer.stop()
    assert len(by_key) == 10
    for key, values in by_key.items():
        assert values == sorted(values), "per-key order is kept"
        assert len(partitions[key]) == 1, "one key, one partition"
    assert len({p for ps in partitions.values() for p in ps}) > 1


def test_a_worker_becomes_ready_and_stops_cleanly(bootstrap_servers: str, tmp_path: Path) -> None:
    worker = WorkerProcess(
        "support.empty_app",
        bootstrap_servers=bootstrap_servers,
        app_id=f"empty-{uuid.uuid4().hex[:8]}",
        datadir=tmp_path / "data",
        log_path=tmp_path / "worker.log",
    ).start()
    status, body = worker.get("/health")
    assert (status, body["ready"]) == (200, True)
    assert worker.get("/table")[0] == 404, "Faust's raw table dump is off"
    assert worker.stop(signal.SIGTERM) == 0
    log = (tmp_path / "worker.log").read_text()
    assert "[ERROR]" not in log.split("Signal received: 15")[-1]

"""KafkaTransport against the real broker and worker: streams, concurrency, deadlines,
reply partitions, missing topics."""

from __future__ import annotations

import asyncio
import json
import time
import uuid

import pytest
from a2a.client import A2AClientError, A2AClientTimeoutError
from a2a.helpers import new_text_message
from a2a.types import AgentCard, Role, SendMessageRequest, StreamResponse, TaskState
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from google.protobuf import json_format
from support.clients import Connect
from support.slow_agent import SPEC as SLOW

from app import binding
from app.cards import agent_card
from app.transport import KafkaTransport

pytestmark = pytest.mark.kafka


def _ask(text: str) -> SendMessageRequest:
    return SendMessageRequest(message=new_text_message(text, role=Role.ROLE_USER))


async def test_50_concurrent_streams_over_one_transport(connect: Connect) -> None:
    client = connect("slow")
    transport = client._transport
    assert isinstance(transport, KafkaTransport)

    async def one_stream(n: int) -> list[StreamResponse]:
        return [event async for event in client.send_message(_ask(str(n)))]

    counts = [3 + i % 4 for i in range(50)]
    streams = await asyncio.gather(*(one_stream(n) for n in counts))
    for n, events in zip(counts, streams, strict=True):
        assert events[0].HasField("task")
        ticks = [
            e.artifact_update.artifact.parts[0].text
            for e in events
            if e.HasField("artifact_update")
        ]
        assert ticks == [f"tick {i}" for i in range(n)], "events lost or out of order"
        assert events[-1].status_update.status.state == TaskState.TASK_STATE_COMPLETED
        assert len({e.WhichOneof("payload") for e in events}) == 3
    assert transport._pending == {}


async def _create_topics(
    bootstrap_servers: str, *topics: str, partitions: int = 1, configs: dict[str, str] | None = None
) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        await admin.create_topics(
            [NewTopic(t, partitions, 1, topic_configs=configs or {}) for t in topics]
        )
    finally:
        await admin.close()


async def _topics(bootstrap_servers: str) -> list[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        return await admin.list_topics()
    finally:
        await admin.close()


async def test_private_reply_topic(cards: dict[str, AgentCard], bootstrap_servers: str) -> None:
    reply_topic = f"client.{uuid.uuid4().hex[:8]}.responses"
    await _create_topics(bootstrap_servers, reply_topic, partitions=2)
    async with KafkaTransport(cards["data"], reply_topic=reply_topic) as transport:
        response = await transport.send_message(_ask("Protoss game length"))
    assert response.task.status.state == TaskState.TASK_STATE_COMPLETED
    assert transport.responses_topic == reply_topic
    assert transport.reply_partition in (0, 1)


async def test_a_missing_private_reply_topic_is_not_created(
    cards: dict[str, AgentCard], bootstrap_servers: str
) -> None:
    reply_topic = f"client.{uuid.uuid4().hex[:8]}.responses"
    transport = KafkaTransport(cards["data"], reply_topic=reply_topic)
    started = time.monotonic()
    with pytest.raises(A2AClientError, match=f"topic {reply_topic} does not exist"):
        await transport.send_message(_ask("Protoss game length"))
    assert time.monotonic() - started < 10
    await transport.close()
    assert reply_topic not in await _topics(bootstrap_servers)


async def test_a_call_to_an_unknown_agent_fails_at_once_and_creates_no_topic(
    worker: object, bootstrap_servers: str
) -> None:
    """Issue 8: clients never create topics (the test broker auto-creates on metadata)."""
    name = f"nobody-{uuid.uuid4().hex[:6]}"
    card = agent_card(SLOW, bootstrap_servers)
    card.supported_interfaces[0].url = f"kafka://{bootstrap_servers}/agent.{name}.requests"
    started = time.monotonic()
    transport = KafkaTransport(card, timeout=30.0)
    with pytest.raises(A2AClientError, match=rf"topic agent\.{name}\.requests does not exist"):
        await transport.send_message(_ask("hello?"))
    await transport.close()
    assert time.monotonic() - started < 10
    topics = await _topics(bootstrap_servers)
    assert binding.requests_topic(name) not in topics
    assert binding.responses_topic(name) not in topics


async def test_reply_partitions_keep_clients_apart(
    cards: dict[str, AgentCard], bootstrap_servers: str
) -> None:
    """Two transports on two reply partitions each read only their own replies."""
    first = KafkaTransport(cards["data"], reply_partition=0)
    second = KafkaTransport(cards["data"], reply_partition=1)
    async with first, second:
        calls = 6
        answers = await asyncio.gather(
            *(first.send_message(_ask(f"Zerg game length {i}")) for i in range(calls)),
        )
        assert all(a.task.status.state == TaskState.TASK_STATE_COMPLETED for a in answers)
        await asyncio.sleep(1.0)
        # One record per unary call reached the first transport, none the second.
        assert first.records_read == calls
        assert second.records_read == 0
        await second.send_message(_ask("Terran game length"))
        await asyncio.sleep(1.0)
        assert (first.records_read, second.records_read) == (calls, 1)


async def test_deadline_on_an_agent_that_never_answers(bootstrap_servers: str) -> None:
    name = f"silent-{uuid.uuid4().hex[:6]}"
    await _create_topics(
        bootstrap_servers, binding.requests_topic(name), binding.responses_topic(name)
    )
    silent = agent_card(SLOW, bootstrap_servers)
    silent.supported_interfaces[0].url = f"kafka://{bootstrap_servers}/agent.{name}.requests"
    async with KafkaTransport(silent, timeout=2.0) as transport:
        started = time.monotonic()
        with pytest.raises(A2AClientTimeoutError):
            await transport.send_message(_ask("hello?"))
        elapsed = time.monotonic() - started
        assert 1.9 <= elapsed < 4.0
        assert transport._pending == {}


async def test_close_fails_pending_calls(cards: dict[str, AgentCard]) -> None:
    transport = KafkaTransport(cards["slow"])
    await transport.start()
    pending = asyncio.create_task(transport.send_message(_ask("30")))
    await asyncio.sleep(0.5)
    await transport.close()
    with pytest.raises(A2AClientError, match="closed"):
        await pending
    with pytest.raises(A2AClientError, match="closed"):
        await transport.send_message(_ask("1"))


async def test_a_record_kafka_refuses_fails_at_once(bootstrap_servers: str) -> None:
    """A produce error that retrying cannot fix is an A2A error at once, naming it."""
    name = f"tiny-{uuid.uuid4().hex[:6]}"
    await _create_topics(
        bootstrap_servers, binding.requests_topic(name), configs={"max.message.bytes": "200"}
    )
    await _create_topics(bootstrap_servers, binding.responses_topic(name))
    card = agent_card(SLOW, bootstrap_servers)
    card.supported_interfaces[0].url = f"kafka://{bootstrap_servers}/agent.{name}.requests"
    async with KafkaTransport(card, timeout=30.0) as transport:
        started = time.monotonic()
        with pytest.raises(A2AClientError, match=rf"cannot produce the request to agent\.{name}"):
            await transport.send_message(_ask("x" * 1000))
        assert time.monotonic() - started < 10
        assert transport._pending == {}


async def test_results_that_are_not_protojson_fail_the_call(bootstrap_servers: str) -> None:
    """An agent answering with a result that is not a JSON object, or not ProtoJSON of
    the answer's type, fails the call with a clear error; the next call still works."""
    name = f"odd-{uuid.uuid4().hex[:6]}"
    await _create_topics(
        bootstrap_servers, binding.requests_topic(name), binding.responses_topic(name)
    )
    results: list[object] = [
        "a string",
        [{"id": "t"}],
        {"task": {"id": 5}},
        {"task": {"id": "t1", "status": {"state": "TASK_STATE_COMPLETED"}}},
    ]
    consumer = AIOKafkaConsumer(
        binding.requests_topic(name),
        bootstrap_servers=bootstrap_servers,
        auto_offset_reset="earliest",
    )
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers)
    await consumer.start()
    await producer.start()

    async def answer() -> None:
        for result in results:
            record = await consumer.getone()
            headers = dict(record.headers)
            request = json.loads(record.value or b"{}")
            value = json.dumps({"jsonrpc": "2.0", "id": request["id"], "result": result})
            await producer.send_and_wait(
                headers[binding.REPLY_TO].decode(),
                value.encode(),
                key=headers[binding.CORRELATION_ID],
                partition=int(headers[binding.REPLY_PARTITION]),
                headers=[
                    (binding.CORRELATION_ID, headers[binding.CORRELATION_ID]),
                    (binding.FINAL, b"1"),
                ],
            )

    card = agent_card(SLOW, bootstrap_servers)
    card.supported_interfaces[0].url = f"kafka://{bootstrap_servers}/agent.{name}.requests"
    responder = asyncio.create_task(answer())
    try:
        async with KafkaTransport(card, timeout=20.0) as transport:
            with pytest.raises(A2AClientError, match="Invalid response type: str"):
                await transport.send_message(_ask("1"))
            with pytest.raises(A2AClientError, match="Invalid response type: list"):
                await transport.send_message(_ask("2"))
            with pytest.raises(json_format.ParseError, match="Failed to parse id field"):
                await transport.send_message(_ask("3"))
            answered = await transport.send_message(_ask("4"))
            assert answered.task.status.state == TaskState.TASK_STATE_COMPLETED
        await asyncio.wait_for(responder, 5.0)
    finally:
        responder.cancel()
        await consumer.stop()
        await producer.stop()

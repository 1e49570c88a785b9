"""KafkaTransport against the real broker and worker: streams, concurrency, deadlines."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from a2a.client import A2AClientError, A2AClientTimeoutError
from a2a.helpers import new_text_message
from a2a.types import AgentCard, Role, SendMessageRequest, StreamResponse, TaskState
from support.clients import Connect
from support.slow_agent import SPEC as SLOW

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


async def test_private_reply_topic(cards: dict[str, AgentCard]) -> None:
    reply_topic = f"client.{uuid.uuid4().hex[:8]}.responses"
    async with KafkaTransport(cards["data"], reply_topic=reply_topic) as transport:
        response = await transport.send_message(_ask("Protoss game length"))
    assert response.task.status.state == TaskState.TASK_STATE_COMPLETED
    assert transport.responses_topic == reply_topic


async def test_deadline_on_an_agent_that_never_answers(bootstrap_servers: str) -> None:
    silent = agent_card(SLOW, bootstrap_servers)
    silent.supported_interfaces[
        0
    ].url = f"kafka://{bootstrap_servers}/agent.nobody-{uuid.uuid4().hex[:6]}"
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

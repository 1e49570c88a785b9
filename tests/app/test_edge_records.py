"""Records at the edges of the binding (docs/kafka-binding.md §5, §6, §8, §11).

Each test talks to the session worker through the broker only: a2a-sdk ``Client``s
on ``KafkaTransport``, or raw records where a client would not send such a record.
"""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from collections.abc import AsyncIterator

import pytest
from a2a.client import A2AClientError, A2AClientTimeoutError, ClientCallContext
from a2a.helpers import get_artifact_text, new_text_message
from a2a.types import AgentCard, Role, SendMessageRequest, StreamResponse
from aiokafka import AIOKafkaProducer
from support.clients import Connect
from support.processes import FAUST, TESTS, WorkerProcess
from support.records import RawPeer, header, jsonrpc, user_message

from app.registry import encode_card, fetch_cards
from app.transport import kafka_client_factory

pytestmark = pytest.mark.kafka

DATA_REQUESTS, DATA_RESPONSES, DATA_DLQ = (
    "agent.data.requests",
    "agent.data.responses",
    "agent.data.dlq",
)
#: Above the broker's ``message.max.bytes`` and the producers' ``max.request.size``
#: (both 1 MiB by default, Kafka configuration).
OVERSIZED = 1_500_000


def _ask(text: str, **ids: str) -> SendMessageRequest:
    return SendMessageRequest(message=new_text_message(text, role=Role.ROLE_USER, **ids))


async def _collect(stream: AsyncIterator[StreamResponse]) -> list[StreamResponse]:
    return [event async for event in stream]


@pytest.fixture
async def peer(worker: WorkerProcess, bootstrap_servers: str) -> AsyncIterator[RawPeer]:
    raw = await RawPeer(bootstrap_servers, DATA_RESPONSES, DATA_DLQ).start()
    yield raw
    await raw.stop()


@pytest.mark.parametrize(
    "producer_options",
    [{}, {"max_request_size": 8 * OVERSIZED}],
    ids=["client-limit", "broker-limit"],
)
async def test_request_above_message_max_bytes_fails_loudly(
    cards: dict[str, AgentCard], producer_options: dict[str, int]
) -> None:
    """A request Kafka will not take fails the call at once with an A2A client error
    that says why: whether the producer refuses it (``max.request.size``) or the
    broker does (``message.max.bytes``)."""
    factory = kafka_client_factory(timeout=30.0, producer_options=producer_options)
    client = factory.create(cards["data"])
    started = time.monotonic()
    try:
        with pytest.raises(A2AClientError) as raised:
            await _collect(client.send_message(_ask("x" * OVERSIZED)))
    finally:
        await client.close()
    assert not isinstance(raised.value, A2AClientTimeoutError), "the call waited for nothing"
    assert time.monotonic() - started < 20
    assert "too large" in str(raised.value).lower(), raised.value


async def test_deadline_exceeded_before_handling(peer: RawPeer, worker: WorkerProcess) -> None:
    """A record whose ``a2a-deadline-ms`` has passed is answered -32600, dead-lettered
    ``deadline-exceeded``, and never run."""
    context_id, correlation_id = uuid.uuid4().hex, uuid.uuid4().hex
    past = str(int(time.time() * 1000) - 5_000).encode()
    await peer.send(
        DATA_REQUESTS,
        jsonrpc("SendMessage", {"message": user_message("Zerg win rate", contextId=context_id)}),
        key=context_id.encode(),
        correlation_id=correlation_id,
        headers=[("a2a-version", b"1.0"), ("a2a-deadline-ms", past)],
    )
    reply = await peer.wait_for(
        lambda r: r.topic == DATA_RESPONSES and header(r, "correlation-id") == correlation_id
    )
    error = json.loads(reply.value)["error"]
    assert error["code"] == -32600
    assert "Deadline exceeded" in error["message"]
    dead = await peer.wait_for(
        lambda r: r.topic == DATA_DLQ and header(r, "correlation-id") == correlation_id
    )
    assert header(dead, "dlq-reason") == "deadline-exceeded"
    assert worker.get(f"/contexts/{context_id}")[0] == 404, "the expired request ran"


async def test_missing_a2a_version_is_version_not_supported(
    peer: RawPeer, worker: WorkerProcess
) -> None:
    """No ``a2a-version`` header means 0.3 (A2A 1.0 §3.6.2): -32009, and nothing runs."""
    context_id, correlation_id = uuid.uuid4().hex, uuid.uuid4().hex
    await peer.send(
        DATA_REQUESTS,
        jsonrpc("SendMessage", {"message": user_message("Zerg win rate", contextId=context_id)}),
        key=context_id.encode(),
        correlation_id=correlation_id,
        headers=[("a2a-deadline-ms", str(int(time.time() * 1000) + 30_000).encode())],
    )
    reply = await peer.wait_for(
        lambda r: r.topic == DATA_RESPONSES and header(r, "correlation-id") == correlation_id
    )
    assert header(reply, "a2a-final") == "1"
    error = json.loads(reply.value)["error"]
    assert error["code"] == -32009
    assert error["data"][0]["reason"] == "VERSION_NOT_SUPPORTED"
    assert worker.get(f"/contexts/{context_id}")[0] == 404, "a request of no version ran"


async def test_service_parameters_reach_the_server_call_context(connect: Connect) -> None:
    """Service parameters of ``ClientCallContext`` reach the executor's
    ``ServerCallContext`` as headers (lower-case names), extensions as
    ``requested_extensions``; the binding's own headers are not service parameters."""
    client = connect("probe", streaming=False)
    context = ClientCallContext(
        service_parameters={
            "X-Caller-Team": "balance-review",
            "A2A-Extensions": "urn:test:ext-a, urn:test:ext-b",
        }
    )
    (event,) = await _collect(client.send_message(_ask("context"), context=context))
    seen = json.loads(get_artifact_text(event.task.artifacts[0]))
    assert seen["headers"]["x-caller-team"] == "balance-review"
    assert seen["headers"]["a2a-version"] == "1.0"
    assert seen["extensions"] == ["urn:test:ext-a", "urn:test:ext-b"]
    for binding_header in ("correlation-id", "a2a-deadline-ms", "reply-to", "a2a-final"):
        assert binding_header not in seen["headers"]


def _faust(worker: WorkerProcess, *args: str) -> str:
    """Runs ``faust -A support.worker_app ARGS`` against the session's broker: stdout."""
    result = subprocess.run(
        [str(FAUST), "-A", "support.worker_app", *args],
        cwd=TESTS,
        env=worker.env,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


async def test_registry_tombstone_retires_an_agent(
    cards: dict[str, AgentCard], bootstrap_servers: str, worker: WorkerProcess
) -> None:
    """``faust -A app retire NAME`` writes a tombstone (key = name, empty value) to
    ``agent.registry``: the agent leaves ``fetch_cards`` (what ``faust -A app agents``
    and ``resolve_card`` read); the others stay."""
    name = f"retired-{uuid.uuid4().hex[:8]}"
    card = AgentCard()
    card.CopyFrom(cards["data"])
    card.name = name
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers)
    await producer.start()
    try:
        await producer.send_and_wait("agent.registry", encode_card(card), key=name.encode())
    finally:
        await producer.stop()
    assert name in await fetch_cards(bootstrap_servers)

    assert f"retired {name}" in _faust(worker, "retire", name)

    remaining = await fetch_cards(bootstrap_servers)
    assert name not in remaining
    assert "data" in remaining

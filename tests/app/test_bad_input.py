"""Bad input never crashes or blocks an agent: an A2A error reply, a DLQ record, and on."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator

import pytest
from support.processes import WorkerProcess
from support.records import RawPeer, header, jsonrpc, user_message

pytestmark = pytest.mark.kafka

REQUESTS, RESPONSES, DLQ = "agent.data.requests", "agent.data.responses", "agent.data.dlq"


@pytest.fixture
async def peer(worker: WorkerProcess, bootstrap_servers: str) -> AsyncIterator[RawPeer]:
    raw = await RawPeer(bootstrap_servers, RESPONSES, DLQ).start()
    yield raw
    await raw.stop()


def _for(correlation_id: str, topic: str = RESPONSES):  # type: ignore[no-untyped-def]
    return lambda r: r.topic == topic and header(r, "correlation-id") == correlation_id


BAD = {
    "not-json": (b"\xff\xfe not json", -32700),
    "not-json-rpc": (b'{"hello": "world"}', -32600),
    "json-array": (b"[1, 2, 3]", -32600),
    "unknown-method": (jsonrpc("DoSomethingElse", {}), -32601),
    "invalid-params": (jsonrpc("GetTask", {"id": {"nested": "object"}}), -32602),
    "too-large": (jsonrpc("SendMessage", {"message": user_message("x" * 70_000)}), -32600),
}


@pytest.mark.parametrize("case", sorted(BAD))
async def test_bad_record_gets_error_reply_and_goes_to_dlq(peer: RawPeer, case: str) -> None:
    value, code = BAD[case]
    correlation_id = uuid.uuid4().hex
    await peer.send(REQUESTS, value, key=b"bad-input", correlation_id=correlation_id)
    reply = await peer.wait_for(_for(correlation_id))
    assert header(reply, "a2a-final") == "1"
    assert json.loads(reply.value)["error"]["code"] == code
    dead = await peer.wait_for(
        lambda r: r.topic == DLQ and header(r, "correlation-id") == correlation_id
    )
    assert dead.value == value
    assert dead.key == b"bad-input"
    assert header(dead, "dlq-topic") == REQUESTS
    assert header(dead, "dlq-offset") is not None
    assert header(dead, "dlq-reason")
    # The agent keeps serving: a good request right after is answered.
    good = uuid.uuid4().hex
    params = {"message": user_message("Terran win rate", contextId=good)}
    await peer.send(
        REQUESTS, jsonrpc("SendMessage", params), key=good.encode(), correlation_id=good
    )
    answer = await peer.wait_for(_for(good))
    assert json.loads(answer.value)["result"]["task"]["status"]["state"] == "TASK_STATE_COMPLETED"


async def test_bad_record_without_correlation_id_still_reaches_the_dlq(peer: RawPeer) -> None:
    marker = uuid.uuid4().hex.encode()
    await peer.send(REQUESTS, b"garbage " + marker, key=marker)
    dead = await peer.wait_for(lambda r: r.topic == DLQ and r.key == marker)
    assert header(dead, "dlq-reason") == "jsonrpc--32700"


async def test_new_conversation_without_context_id_is_rekeyed(peer: RawPeer) -> None:
    correlation_id = uuid.uuid4().hex
    await peer.send(
        REQUESTS,
        jsonrpc("SendMessage", {"message": user_message("Zerg win rate")}),
        key=None,
        correlation_id=correlation_id,
    )
    reply = await peer.wait_for(_for(correlation_id))
    task = json.loads(reply.value)["result"]["task"]
    assert task["status"]["state"] == "TASK_STATE_COMPLETED"
    assert task["id"].endswith("." + task["contextId"]), "task id carries its routing key"


async def test_redelivered_message_does_not_run_twice(peer: RawPeer, worker: WorkerProcess) -> None:
    context_id = uuid.uuid4().hex
    value = jsonrpc(
        "SendMessage", {"message": user_message("Protoss win rate", contextId=context_id)}
    )
    first, second = uuid.uuid4().hex, uuid.uuid4().hex
    await peer.send(REQUESTS, value, key=context_id.encode(), correlation_id=first)
    task_1 = json.loads((await peer.wait_for(_for(first))).value)["result"]["task"]
    await peer.send(REQUESTS, value, key=context_id.encode(), correlation_id=second)
    task_2 = json.loads((await peer.wait_for(_for(second))).value)["result"]["task"]
    assert task_2["id"] == task_1["id"]
    status, body = worker.get(f"/contexts/{context_id}")
    assert status == 200
    (conversation,) = body["conversations"]
    assert [t["id"] for t in conversation["tasks"]] == [task_1["id"]]

"""Bad input never crashes or blocks an agent: an A2A error reply, a DLQ record, and on."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator

import pytest
from support.dataset import win_rate_line
from support.processes import WorkerProcess
from support.records import RawPeer, header, jsonrpc, read_topic, user_message

from app.binding import partition_for

pytestmark = pytest.mark.kafka

REQUESTS, RESPONSES, DLQ = "agent.data.requests", "agent.data.responses", "agent.data.dlq"
PARTITIONS = 8  # FAUST_A2A_PARTITIONS of the session worker


@pytest.fixture
async def peer(worker: WorkerProcess, bootstrap_servers: str) -> AsyncIterator[RawPeer]:
    raw = await RawPeer(bootstrap_servers, RESPONSES, DLQ, REQUESTS).start()
    yield raw
    await raw.stop()


def _for(correlation_id: str, topic: str = RESPONSES):  # type: ignore[no-untyped-def]
    return lambda r: r.topic == topic and header(r, "correlation-id") == correlation_id


BAD = {
    "not-json": (b"\xff\xfe not json", -32700),
    # Deeper than any A2A request: a parse error, not a parser that runs out of stack.
    "nested-too-deep": (b'{"a":' * 5000 + b"1" + b"}" * 5000, -32700),
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


@pytest.mark.parametrize("record_key", [None, b"not-the-context"], ids=["no-key", "wrong-key"])
async def test_misrouted_request_is_rekeyed_to_its_context(
    peer: RawPeer, worker: WorkerProcess, bootstrap_servers: str, record_key: bytes | None
) -> None:
    """A request not keyed by its routing key is re-produced under it (a new
    conversation gets its ``contextId`` minted first), and the task then lives in the
    partition of its context: the re-produced record, the task's changelog records and
    a follow-up keyed by the context all meet there (docs/kafka-binding.md §4)."""
    minted = record_key is None
    message = user_message("What is the win rate?")
    if not minted:
        message["contextId"] = uuid.uuid4().hex
    correlation_id = uuid.uuid4().hex
    await peer.send(
        REQUESTS,
        jsonrpc("SendMessage", {"message": message}),
        key=record_key,
        correlation_id=correlation_id,
    )
    reply = await peer.wait_for(_for(correlation_id))
    task = json.loads(reply.value)["result"]["task"]
    context_id = task["contextId"]
    assert minted or context_id == message["contextId"]
    assert task["status"]["state"] == "TASK_STATE_INPUT_REQUIRED"
    assert task["id"].endswith("." + context_id), "task id carries its routing key"
    home = partition_for(context_id, PARTITIONS)

    moved = await peer.wait_for(
        lambda r: (
            r.topic == REQUESTS
            and header(r, "correlation-id") == correlation_id
            and r.key == context_id.encode()
        )
    )
    assert moved.partition == home
    assert json.loads(moved.value)["params"]["message"]["contextId"] == context_id
    writes = await read_topic(
        bootstrap_servers,
        f"{worker.app_id}-tasks-changelog",
        lambda r: task["id"].encode() in (r.key or b""),
    )
    assert writes, "the task was never written"
    assert {r.partition for r in writes} == {home}

    # The follow-up, keyed by the context, finds the task there and completes it.
    follow_up = uuid.uuid4().hex
    params = {"message": user_message("Zerg", contextId=context_id, taskId=task["id"])}
    await peer.send(
        REQUESTS,
        jsonrpc("SendMessage", params),
        key=context_id.encode(),
        correlation_id=follow_up,
    )
    done = json.loads((await peer.wait_for(_for(follow_up))).value)["result"]["task"]
    assert done["id"] == task["id"]
    assert done["status"]["state"] == "TASK_STATE_COMPLETED"
    assert done["artifacts"][0]["parts"][0]["text"] == win_rate_line("Zerg")


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

"""The response records of a stream (docs/kafka-binding.md §7, Streams).

:class:`app.kafka_handler.KafkaHandler` over a ``RequestHandler`` whose stream yields
fixed events; the records it produces are collected as they would go to Kafka. The
event that ends an A2A stream carries ``a2a-final: 1``; a stream that ends after any
other event gets an empty final record. No broker: the binding alone is under test.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator, Awaitable, Sequence
from typing import Any

import pytest
from a2a.helpers import new_text_message
from a2a.server.context import ServerCallContext
from a2a.server.request_handlers import RequestHandler
from a2a.types import (
    Message,
    Role,
    SendMessageRequest,
    Task,
    TaskArtifactUpdateEvent,
    TaskState,
    TaskStatus,
    TaskStatusUpdateEvent,
)
from a2a.utils.errors import InternalError
from aiokafka.errors import MessageSizeTooLargeError
from google.protobuf.json_format import MessageToDict

from app import binding
from app.kafka_handler import KafkaHandler, OutgoingRecord, RequestRecord

Event = Message | Task | TaskStatusUpdateEvent | TaskArtifactUpdateEvent


class FixedStream(RequestHandler):
    """A ``RequestHandler`` whose ``SendStreamingMessage`` yields ``events``, then raises
    ``error`` if one is given; with ``apart``, it sleeps 10 ms before each event after
    the first (the events of a long task). The other operations are not called here."""

    def __init__(
        self, events: Sequence[Event], error: Exception | None = None, apart: bool = False
    ) -> None:
        self.events = events
        self.error = error
        self.apart = apart

    async def on_message_send_stream(
        self, params: SendMessageRequest, context: ServerCallContext
    ) -> AsyncGenerator[Event]:
        for index, event in enumerate(self.events):
            if self.apart and index:
                await asyncio.sleep(0.01)
            yield event
        if self.error is not None:
            raise self.error

    async def _unused(self, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError("not part of this test")

    on_get_task = on_list_tasks = on_cancel_task = on_message_send = _unused
    on_subscribe_to_task = on_get_extended_agent_card = _unused  # type: ignore[assignment]
    on_create_task_push_notification_config = _unused
    on_get_task_push_notification_config = _unused
    on_list_task_push_notification_configs = _unused
    on_delete_task_push_notification_config = _unused


def _task(state: TaskState) -> Task:
    return Task(id="t1", context_id="c1", status=TaskStatus(state=state))


def _status(state: TaskState) -> TaskStatusUpdateEvent:
    return TaskStatusUpdateEvent(task_id="t1", context_id="c1", status=TaskStatus(state=state))


async def _records(
    events: Sequence[Event],
    error: Exception | None = None,
    *,
    batch: bool = False,
    apart: bool = False,
    max_bytes: int | None = None,
) -> list[OutgoingRecord]:
    """The records a call answering ``events`` produces (``batch``: the request carries
    ``reply-batch: 1``; ``max_bytes``: larger records are refused as Kafka would)."""
    produced: list[OutgoingRecord] = []

    async def produce(record: OutgoingRecord) -> Awaitable[None]:
        if max_bytes is not None and len(record.value or b"") > max_bytes:
            raise MessageSizeTooLargeError(f"{len(record.value or b'')} bytes")
        produced.append(record)

        async def acknowledged() -> None:
            return None

        return acknowledged()

    async def acknowledged(partition: int) -> None:
        return None

    handler = KafkaHandler(
        "fixed", FixedStream(events, error, apart), produce=produce, acknowledged=acknowledged
    )
    headers = [(binding.CORRELATION_ID, b"call-1"), ("a2a-version", b"1.0")]
    if batch:
        headers.append((binding.REPLY_BATCH, b"1"))
    message = new_text_message("hi", role=Role.ROLE_USER, context_id="c1")
    body = {
        "jsonrpc": "2.0",
        "id": 7,
        "method": "SendStreamingMessage",
        "params": {"message": MessageToDict(message)},
    }
    await handler.handle(
        RequestRecord(
            topic=binding.requests_topic("fixed"),
            partition=0,
            offset=0,
            key=b"c1",
            value=json.dumps(body).encode(),
            headers=tuple(headers),
        )
    )
    return produced


def _final(record: OutgoingRecord) -> bool:
    return binding.header(record.headers, binding.FINAL) == "1"


def _payload(record: OutgoingRecord) -> str:
    return next(iter(json.loads(record.value or b"")["result"]))


def _payloads(record: OutgoingRecord) -> list[str]:
    """The kinds of the responses of a batched record (a JSON array), in order."""
    responses = json.loads(record.value or b"")
    assert isinstance(responses, list), "a batched record holds a JSON array"
    return [next(iter(r["result"])) if "result" in r else "error" for r in responses]


@pytest.mark.parametrize(
    "last",
    [
        _status(TaskState.TASK_STATE_COMPLETED),
        _status(TaskState.TASK_STATE_FAILED),
        _status(TaskState.TASK_STATE_INPUT_REQUIRED),
        _task(TaskState.TASK_STATE_CANCELED),
    ],
    ids=["completed", "failed", "input-required", "canceled-task"],
)
async def test_the_event_that_ends_the_stream_is_the_final_record(last: Event) -> None:
    events: list[Event] = [
        _task(TaskState.TASK_STATE_SUBMITTED),
        _status(TaskState.TASK_STATE_WORKING),
        last,
    ]

    records = await _records(events)

    assert [_final(r) for r in records] == [False, False, True]
    assert all(r.value for r in records), "no empty end-of-stream record"
    assert _payload(records[-1]) == ("task" if isinstance(last, Task) else "statusUpdate")


async def test_a_message_ends_the_stream_in_one_record() -> None:
    reply = new_text_message("hello", role=Role.ROLE_AGENT, context_id="c1")

    records = await _records([reply])

    assert [(_payload(r), _final(r)) for r in records] == [("message", True)]


async def test_a_stream_that_ends_after_another_event_gets_an_empty_final_record() -> None:
    records = await _records(
        [_task(TaskState.TASK_STATE_SUBMITTED), _status(TaskState.TASK_STATE_WORKING)]
    )

    assert [(r.value != b"", _final(r)) for r in records] == [
        (True, False),
        (True, False),
        (False, True),
    ]


async def test_an_ending_state_followed_by_more_events_is_not_final() -> None:
    """The handler, not the state, says when the stream ends: an ending state that is
    followed by another event is sent unmarked."""
    records = await _records(
        [
            _task(TaskState.TASK_STATE_SUBMITTED),
            _status(TaskState.TASK_STATE_INPUT_REQUIRED),
            _status(TaskState.TASK_STATE_WORKING),
        ]
    )

    assert [(r.value != b"", _final(r)) for r in records] == [
        (True, False),
        (True, False),
        (True, False),
        (False, True),
    ]


async def test_an_error_after_an_ending_event_is_sent_after_it() -> None:
    """The held ending event is not lost when the stream fails right after it: it goes
    out unmarked, and the JSON-RPC error record is the final one."""
    records = await _records(
        [_task(TaskState.TASK_STATE_SUBMITTED), _status(TaskState.TASK_STATE_COMPLETED)],
        InternalError(message="boom"),
    )

    assert [_final(r) for r in records] == [False, False, True]
    assert _payload(records[1]) == "statusUpdate"
    assert json.loads(records[2].value or b"")["error"]["code"] == -32603


ECHO_TASK: list[Event] = [
    _task(TaskState.TASK_STATE_SUBMITTED),
    _status(TaskState.TASK_STATE_WORKING),
    TaskArtifactUpdateEvent(task_id="t1", context_id="c1"),
    _status(TaskState.TASK_STATE_COMPLETED),
]


#: ``ECHO_TASK``'s records when each event goes out on its own: (payload, final).
ONE_RECORD_PER_EVENT = [
    ("task", False),
    ("statusUpdate", False),
    ("artifactUpdate", False),
    ("statusUpdate", True),
]


async def test_with_reply_batch_the_events_of_one_moment_share_the_final_record() -> None:
    records = await _records(ECHO_TASK, batch=True)

    assert [_final(r) for r in records] == [True]
    assert _payloads(records[0]) == ["task", "statusUpdate", "artifactUpdate", "statusUpdate"]


async def test_with_reply_batch_events_apart_in_time_go_out_apart() -> None:
    """A long task's events are not held back for a batch: each goes out as it comes."""
    records = await _records(ECHO_TASK, batch=True, apart=True)

    assert [(_payload(r), _final(r)) for r in records] == ONE_RECORD_PER_EVENT


async def test_with_reply_batch_a_lone_event_is_a_plain_response() -> None:
    reply = new_text_message("hello", role=Role.ROLE_AGENT, context_id="c1")

    records = await _records([reply], batch=True)

    assert [(_payload(r), _final(r)) for r in records] == [("message", True)]


async def test_with_reply_batch_a_stream_ending_after_another_event_needs_no_empty_record() -> None:
    records = await _records(ECHO_TASK[:2], batch=True)

    assert [_final(r) for r in records] == [True]
    assert _payloads(records[0]) == ["task", "statusUpdate"]


async def test_with_reply_batch_an_error_comes_after_the_events_before_it() -> None:
    records = await _records(ECHO_TASK[:2], InternalError(message="boom"), batch=True)

    assert [_final(r) for r in records] == [True]
    assert _payloads(records[0]) == ["task", "statusUpdate", "error"]


async def test_a_batch_too_large_for_kafka_goes_out_one_response_per_record() -> None:
    """Kafka refuses the batch (``max.request.size``), not the responses in it."""
    single = max(len(r.value or b"") for r in await _records(ECHO_TASK))

    records = await _records(ECHO_TASK, batch=True, max_bytes=single)

    assert [(_payload(r), _final(r)) for r in records] == ONE_RECORD_PER_EVENT

"""The worker's ProtoJSON is ``json_format.MessageToDict``'s, message for message."""

from __future__ import annotations

from typing import Any

import pytest
from a2a.helpers import new_task, new_text_message
from a2a.types import (
    AgentCard,
    Artifact,
    ListTasksResponse,
    Message,
    Part,
    Role,
    SendMessageRequest,
    SendMessageResponse,
    StreamResponse,
    Task,
    TaskArtifactUpdateEvent,
    TaskState,
    TaskStatus,
    TaskStatusUpdateEvent,
)
from google.protobuf import json_format, struct_pb2
from google.protobuf.message import Message as ProtoMessage

from agents import AGENTS
from app.cards import agent_card
from app.protojson import dict_to_message, message_to_dict


def _rich_task() -> Task:
    task = new_task(
        "t1",
        "c1",
        TaskState.TASK_STATE_WORKING,
        history=[
            new_text_message("hello", role=Role.ROLE_USER, task_id="t1", context_id="c1"),
        ],
    )
    data = struct_pb2.Value()
    data.struct_value.update({"n": 1.5, "list": [1, "two", None, True], "nested": {"x": -0.0}})
    task.history.append(
        Message(
            message_id="m2",
            role=Role.ROLE_AGENT,
            parts=[
                Part(raw=b"\x00\xffbytes", media_type="application/octet-stream"),
                Part(url="https://example.test/a", filename="a.txt"),
                Part(data=data),
            ],
            extensions=["urn:x"],
            reference_task_ids=["t0", "t-1"],
        )
    )
    task.artifacts.append(Artifact(artifact_id="a1", name="answer", parts=[Part(text="42")]))
    task.metadata.update({"ratio": 0.1 + 0.2, "big": 2**60, "none": None})
    task.status.timestamp.FromSeconds(1_700_000_000)
    task.status.message.CopyFrom(new_text_message("working on it", role=Role.ROLE_AGENT))
    return task


CASES: list[ProtoMessage] = [
    _rich_task(),
    Task(),
    Task(status=TaskStatus(state=99)),  # type: ignore[arg-type]  # an unknown enum value
    StreamResponse(task=_rich_task()),
    StreamResponse(
        status_update=TaskStatusUpdateEvent(
            task_id="t1", context_id="c1", status=TaskStatus(state=TaskState.TASK_STATE_COMPLETED)
        )
    ),
    StreamResponse(
        artifact_update=TaskArtifactUpdateEvent(
            task_id="t1",
            context_id="c1",
            artifact=Artifact(artifact_id="a", parts=[Part(text="x")]),
            append=True,
            last_chunk=True,
        )
    ),
    StreamResponse(message=new_text_message("hi", role=Role.ROLE_AGENT)),
    SendMessageResponse(task=_rich_task()),
    ListTasksResponse(
        tasks=[_rich_task(), Task(id="x")], next_page_token="p", page_size=2, total_size=9
    ),
    AgentCard(),
    *(agent_card(spec, "127.0.0.1:9092") for spec in AGENTS.values()),
]


@pytest.mark.parametrize("message", CASES, ids=range(len(CASES)))
def test_same_dict_as_json_format(message: ProtoMessage) -> None:
    expected = json_format.MessageToDict(message)
    assert message_to_dict(message) == expected


def test_well_known_types_are_json_formats() -> None:
    task = _rich_task()
    assert message_to_dict(task.status.timestamp) == "2023-11-14T22:13:20Z"
    assert message_to_dict(task)["metadata"]["big"] == float(2**60)


def _nested(depth: int) -> dict[str, object]:
    value: dict[str, object] = {}
    for _ in range(depth):
        value = {"v": value}
    return value


def _request(**message: object) -> dict[str, object]:
    base: dict[str, object] = {
        "role": "ROLE_USER",
        "parts": [{"text": "hello"}],
        "messageId": "m1",
        "contextId": "c1",
    }
    base.update(message)
    return {"message": base}


#: JSON values for dict_to_message: the shapes it reads itself, and every kind it leaves
#: to ParseDict (wrong types, nulls, numbers for enums, floats, bytes, maps, oneof and
#: name clashes, lone surrogates, extensions, depth).
PARSE_CASES: list[tuple[type[ProtoMessage], object]] = [
    *((type(m), json_format.MessageToDict(m)) for m in CASES),
    (SendMessageRequest, _request()),
    (
        SendMessageRequest,
        {
            **_request(taskId="t1", referenceTaskIds=["a", "b"], extensions=["urn:x"]),
            "configuration": {
                "acceptedOutputModes": ["text/plain"],
                "historyLength": 3,
                "returnImmediately": True,
                "taskPushNotificationConfig": {"url": "https://h.test/w", "token": "t"},
            },
            "metadata": {"k": [1, {"x": None}]},
            "tenant": "",
            "unknownField": {"ignored": True},
        },
    ),
    (SendMessageRequest, {"message": {"message_id": "m", "context_id": "c"}}),
    (SendMessageRequest, {"message": {"messageId": "m", "message_id": "n"}}),
    (SendMessageRequest, {"configuration": {}}),
    (SendMessageRequest, {"configuration": {"historyLength": 2**40}}),
    (SendMessageRequest, {"configuration": {"historyLength": "3"}}),
    (SendMessageRequest, {"configuration": {"historyLength": 3.0}}),
    (SendMessageRequest, {"configuration": {"historyLength": True}}),
    (SendMessageRequest, {"configuration": {"returnImmediately": "true"}}),
    (SendMessageRequest, {"configuration": {"historyLength": None}}),
    (SendMessageRequest, {"configuration": None}),
    (SendMessageRequest, {"configuration": []}),
    (SendMessageRequest, {"configuration": {"acceptedOutputModes": "text/plain"}}),
    (SendMessageRequest, {"configuration": {"acceptedOutputModes": ["a", 1]}}),
    (SendMessageRequest, _request(role=1)),
    (SendMessageRequest, _request(role="ROLE_NOPE")),
    (SendMessageRequest, _request(role=None)),
    (SendMessageRequest, _request(parts=[{"text": "a", "url": "https://u.test"}])),
    (SendMessageRequest, _request(parts=[{"text": None, "url": "https://u.test"}])),
    (SendMessageRequest, _request(parts=[{"raw": "AAEC", "mediaType": "x/y"}])),
    (SendMessageRequest, _request(parts=[{"data": {"a": [1, 2.5, None]}}])),
    (SendMessageRequest, _request(parts=[None])),
    (SendMessageRequest, _request(parts=[{"text": "\ud800"}])),
    (SendMessageRequest, _request(parts=[{"text": "\ud83d\ude00"}])),
    (SendMessageRequest, _request(parts=[{"text": "caf\u00e9 \U0001f600"}])),
    (SendMessageRequest, _request(extensions=["urn:a", "\udfff"])),
    (SendMessageRequest, _request(messageId=5)),
    (SendMessageRequest, {"[ext.field]": 1}),
    (SendMessageRequest, {"metadata": "not a struct"}),
    (SendMessageRequest, {"metadata": _nested(49)}),  # ParseDict's depth limit: 50
    (SendMessageRequest, {"metadata": _nested(50)}),
    (SendMessageRequest, {"message": {"metadata": _nested(48)}}),
    (SendMessageRequest, {"message": {"metadata": _nested(49)}}),
    (SendMessageRequest, []),
    (SendMessageRequest, "text"),
    (Task, {"status": {"state": "TASK_STATE_WORKING", "timestamp": "2026-11-23T10:00:00.5Z"}}),
    (Task, {"status": {"timestamp": "yesterday"}}),
    *(
        (Task, {"status": {"timestamp": stamp}})
        for stamp in (
            "1970-01-01T00:00:00Z",
            "1969-12-31T23:59:59.999999999Z",
            "0001-01-01T00:00:00Z",
            "9999-12-31T23:59:59.1Z",
            "2024-02-29T12:00:00.000001Z",
            "2023-02-29T12:00:00Z",
            "2026-13-01T00:00:00Z",
            "2026-11-23T24:00:00Z",
            "2026-11-23T10:60:00Z",
            "2026-11-23T10:00:61Z",
            "2026-11-23T10:00:00.1234567891Z",
            "2026-11-23T10:00:00.Z",
            "2026-11-23t10:00:00Z",
            "2026-11-23T10:00:00+01:30",
            "2026-11-23T10:00:00Zjunk",
            "\u0662026-11-23T10:00:00Z",
        )
    ),
    (Task, {"status": {"timestamp": 5}}),
    (StreamResponse, {"task": {"id": "t"}, "message": {"messageId": "m"}}),
    (StreamResponse, {"statusUpdate": {"taskId": "t"}, "message": None}),
]


def _parsed(message_type: type[ProtoMessage], value: object, parse: object) -> object:
    try:
        message = parse(value, message_type)  # type: ignore[operator]
    except json_format.ParseError as exc:
        return ("ParseError", str(exc))
    return (message, message.SerializeToString(deterministic=True))


def _parse_dict(value: object, message_type: type[ProtoMessage]) -> ProtoMessage:
    return json_format.ParseDict(value, message_type(), ignore_unknown_fields=True)


@pytest.mark.parametrize(("message_type", "value"), PARSE_CASES, ids=range(len(PARSE_CASES)))
def test_same_message_or_error_as_parse_dict(
    message_type: type[ProtoMessage], value: object
) -> None:
    assert _parsed(message_type, value, dict_to_message) == _parsed(
        message_type, value, _parse_dict
    )


def test_common_shapes_are_read_without_parse_dict(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[object] = []
    parse_dict = json_format.ParseDict

    def counted(value: object, *args: Any, **kwargs: Any) -> ProtoMessage:
        calls.append(value)
        return parse_dict(value, *args, **kwargs)

    monkeypatch.setattr(json_format, "ParseDict", counted)
    request = dict_to_message(_request(), SendMessageRequest)
    assert request.message.parts[0].text == "hello"
    event = StreamResponse(
        status_update=TaskStatusUpdateEvent(
            task_id="t1", context_id="c1", status=TaskStatus(state=TaskState.TASK_STATE_COMPLETED)
        )
    )
    event.status_update.status.timestamp.FromSeconds(1_700_000_000)
    assert dict_to_message(message_to_dict(event), StreamResponse) == event
    assert calls == []
    dict_to_message({"configuration": {"historyLength": "3"}}, SendMessageRequest)
    assert calls == [{"configuration": {"historyLength": "3"}}]

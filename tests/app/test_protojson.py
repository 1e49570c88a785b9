"""The worker's ProtoJSON is ``json_format.MessageToDict``'s, message for message."""

from __future__ import annotations

import pytest
from a2a.helpers import new_task, new_text_message
from a2a.types import (
    AgentCard,
    Artifact,
    ListTasksResponse,
    Message,
    Part,
    Role,
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
from app.protojson import message_to_dict


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

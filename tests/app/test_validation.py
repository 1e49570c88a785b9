"""The worker's required-field validation gives a2a-sdk's errors, message for message."""

from __future__ import annotations

import pytest
from a2a.types import (
    CancelTaskRequest,
    GetTaskRequest,
    Message,
    Part,
    Role,
    SendMessageRequest,
    SubscribeToTaskRequest,
    TaskPushNotificationConfig,
)
from a2a.utils.errors import InvalidParamsError
from a2a.utils.proto_utils import validate_proto_required_fields
from google.protobuf.message import Message as ProtoMessage

from app.validation import validate_required_fields

VALID = Message(message_id="m1", role=Role.ROLE_USER, parts=[Part(text="hi")])

CASES: list[ProtoMessage] = [
    SendMessageRequest(message=VALID),
    SendMessageRequest(),
    SendMessageRequest(message=Message()),
    SendMessageRequest(message=Message(message_id="m", role=Role.ROLE_USER)),
    SendMessageRequest(message=Message(message_id="m", parts=[Part(text="x"), Part()])),
    SendMessageRequest(message=VALID, metadata={"k": "v"}),
    GetTaskRequest(),
    GetTaskRequest(id="t"),
    CancelTaskRequest(),
    SubscribeToTaskRequest(id="t"),
    TaskPushNotificationConfig(),
    TaskPushNotificationConfig(task_id="t", url="https://x.test/"),
]


def _sdk(message: ProtoMessage) -> object:
    try:
        validate_proto_required_fields(message)
    except InvalidParamsError as error:
        return (str(error), error.data)
    return None


def _ours(message: ProtoMessage) -> object:
    try:
        validate_required_fields(message)
    except InvalidParamsError as error:
        return (str(error), error.data)
    return None


@pytest.mark.parametrize("message", CASES, ids=range(len(CASES)))
def test_same_errors_as_a2a_sdk(message: ProtoMessage) -> None:
    assert _ours(message) == _sdk(message)


def test_missing_fields_are_reported() -> None:
    outcome = _ours(SendMessageRequest(message=Message()))
    assert outcome is not None
    fields = {error["field"] for error in outcome[1]["errors"]}  # type: ignore[index]
    assert {"message.message_id", "message.role", "message.parts"} <= fields

"""Multi-turn conversations and agents calling agents, over Kafka."""

from __future__ import annotations

import pytest
from a2a.helpers import get_artifact_text, new_text_message
from a2a.types import GetTaskRequest, Role, SendMessageRequest, StreamResponse, TaskState
from support.clients import Connect
from support.dataset import win_rate_line

pytestmark = pytest.mark.kafka


async def _send(client, text: str, **ids: str) -> list[StreamResponse]:  # type: ignore[no-untyped-def]
    request = SendMessageRequest(message=new_text_message(text, role=Role.ROLE_USER, **ids))
    return [event async for event in client.send_message(request)]


def _final_state(events: list[StreamResponse]) -> int:
    return events[-1].status_update.status.state


async def test_input_required_then_follow_up_in_a_new_task(connect: Connect) -> None:
    client = connect("data")
    first = await _send(client, "What is the win rate?")
    assert _final_state(first) == TaskState.TASK_STATE_INPUT_REQUIRED
    context_id = first[-1].status_update.context_id
    second = await _send(client, "Zerg", context_id=context_id)
    assert _final_state(second) == TaskState.TASK_STATE_COMPLETED
    task_id = second[-1].status_update.task_id
    task = await client.get_task(GetTaskRequest(id=task_id))
    assert get_artifact_text(task.artifacts[0]) == win_rate_line("Zerg")
    assert task.context_id == context_id


async def test_input_required_then_follow_up_in_the_same_task(connect: Connect) -> None:
    client = connect("data")
    first = await _send(client, "What is the win rate?")
    update = first[-1].status_update
    second = await _send(client, "Protoss", context_id=update.context_id, task_id=update.task_id)
    assert _final_state(second) == TaskState.TASK_STATE_COMPLETED
    task = await client.get_task(GetTaskRequest(id=update.task_id))
    assert get_artifact_text(task.artifacts[0]) == win_rate_line("Protoss")


async def test_balance_asks_data_and_cs_over_kafka(connect: Connect) -> None:
    client = connect("balance")
    events = await _send(client, "Is Terran too strong?")
    assert _final_state(events) == TaskState.TASK_STATE_COMPLETED
    (report,) = [e.artifact_update.artifact for e in events if e.HasField("artifact_update")]
    text = get_artifact_text(report)
    assert win_rate_line("Terran") in text
    assert "posts" in text and "negative" in text
    assert "Terran: likely overpowered" in text

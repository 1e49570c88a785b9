"""Every A2A operation over Kafka, through a2a-sdk's Client built by ClientFactory."""

from __future__ import annotations

import pytest
from a2a.helpers import get_artifact_text, new_text_message
from a2a.types import (
    CancelTaskRequest,
    DeleteTaskPushNotificationConfigRequest,
    GetExtendedAgentCardRequest,
    GetTaskPushNotificationConfigRequest,
    GetTaskRequest,
    ListTaskPushNotificationConfigsRequest,
    ListTasksRequest,
    Role,
    SendMessageRequest,
    StreamResponse,
    SubscribeToTaskRequest,
    TaskPushNotificationConfig,
    TaskState,
)
from a2a.utils.errors import TaskNotCancelableError, TaskNotFoundError
from support.clients import Connect

from app.transport import KafkaTransport

pytestmark = pytest.mark.kafka


def _ask(text: str, **ids: str) -> SendMessageRequest:
    return SendMessageRequest(message=new_text_message(text, role=Role.ROLE_USER, **ids))


async def _collect(stream) -> list[StreamResponse]:  # type: ignore[no-untyped-def]
    return [event async for event in stream]


async def test_factory_picks_the_kafka_transport(connect: Connect) -> None:
    client = connect("data")
    transport = client._transport
    assert isinstance(transport, KafkaTransport)
    assert transport.url.endswith("/agent.data.requests")


async def test_send_message_unary_and_get_task(connect: Connect) -> None:
    client = connect("data", streaming=False)
    (event,) = await _collect(client.send_message(_ask("What is the Terran win rate?")))
    task = event.task
    assert task.status.state == TaskState.TASK_STATE_COMPLETED
    assert "Terran win rate: 53.9%" in get_artifact_text(task.artifacts[0])
    fetched = await client.get_task(GetTaskRequest(id=task.id))
    assert fetched.id == task.id
    assert fetched.status.state == TaskState.TASK_STATE_COMPLETED
    assert fetched.context_id == task.context_id


async def test_send_streaming_message_events_in_order(connect: Connect) -> None:
    client = connect("cs")
    events = await _collect(client.send_message(_ask("Complaints about Zerg?")))
    kinds = [event.WhichOneof("payload") for event in events]
    assert kinds[0] == "task"
    assert kinds[-1] == "status_update"
    assert events[-1].status_update.status.state == TaskState.TASK_STATE_COMPLETED
    names = [e.artifact_update.artifact.name for e in events if e.HasField("artifact_update")]
    assert names.index("answer") > names.index("reasoning")
    assert names[-1] == "answer"


async def test_get_unknown_task_is_task_not_found(connect: Connect) -> None:
    client = connect("data")
    with pytest.raises(TaskNotFoundError):
        await client.get_task(GetTaskRequest(id="0" * 32 + ".no-such-context"))


async def test_list_tasks_filters_by_context(connect: Connect) -> None:
    client = connect("data")
    first = (await _collect(client.send_message(_ask("Zerg win rate"))))[-1]
    context_id = first.status_update.context_id
    await _collect(client.send_message(_ask("Protoss win rate", context_id=context_id)))
    page = await client.list_tasks(ListTasksRequest(context_id=context_id))
    assert len(page.tasks) == 2
    assert {t.context_id for t in page.tasks} == {context_id}


async def test_cancel_and_subscribe(connect: Connect) -> None:
    poller = connect("slow", streaming=False, polling=True)  # return_immediately
    (event,) = await _collect(poller.send_message(_ask("50")))
    task_id = event.task.id
    client = connect("slow")
    subscription = client.subscribe(SubscribeToTaskRequest(id=task_id))
    first = await anext(subscription)
    assert first.task.id == task_id
    ticks = await anext(subscription)
    assert ticks.WhichOneof("payload") in ("artifact_update", "status_update")
    await subscription.aclose()
    canceled = await client.cancel_task(CancelTaskRequest(id=task_id))
    assert canceled.status.state == TaskState.TASK_STATE_CANCELED
    with pytest.raises(TaskNotCancelableError):
        await client.cancel_task(CancelTaskRequest(id=task_id))


async def test_push_notification_configs(connect: Connect) -> None:
    # a public address (the SSRF guard refuses private ones and names that do not
    # resolve); never contacted: the task has no event after the config is created
    client = connect("data", streaming=False)
    (event,) = await _collect(client.send_message(_ask("Which race is best?")))
    task_id = event.task.id
    assert event.task.status.state == TaskState.TASK_STATE_INPUT_REQUIRED
    created = await client.create_task_push_notification_config(
        TaskPushNotificationConfig(task_id=task_id, id="hook-1", url="https://93.184.215.14/hook")
    )
    assert (created.task_id, created.id) == (task_id, "hook-1")
    got = await client.get_task_push_notification_config(
        GetTaskPushNotificationConfigRequest(task_id=task_id, id="hook-1")
    )
    assert got.url == "https://93.184.215.14/hook"
    listed = await client.list_task_push_notification_configs(
        ListTaskPushNotificationConfigsRequest(task_id=task_id)
    )
    assert [c.id for c in listed.configs] == ["hook-1"]
    await client.delete_task_push_notification_config(
        DeleteTaskPushNotificationConfigRequest(task_id=task_id, id="hook-1")
    )
    listed = await client.list_task_push_notification_configs(
        ListTaskPushNotificationConfigsRequest(task_id=task_id)
    )
    assert list(listed.configs) == []


async def test_get_extended_agent_card(connect: Connect) -> None:
    client = connect("balance")
    card = await client.get_extended_agent_card(GetExtendedAgentCardRequest())
    assert card.name == "balance"
    assert card.skills[0].id == "balance-review"

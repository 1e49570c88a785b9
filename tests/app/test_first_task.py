"""A conversation's first task takes the id derived from its context (no index entry).

:class:`app.handler.LeanRequestHandler` over ``dict`` tables, in-process: what lands in
the ``contexts`` table is what would be a changelog record in the worker. Two
messages that start the same conversation at once must still get two tasks.
"""

from __future__ import annotations

import asyncio

from a2a.helpers import new_text_message
from a2a.server.agent_execution import AgentExecutor, RequestContext
from a2a.server.context import ServerCallContext
from a2a.server.events import EventQueue
from a2a.server.tasks import InMemoryPushNotificationConfigStore
from a2a.types import (
    AgentCapabilities,
    AgentCard,
    Role,
    SendMessageConfiguration,
    SendMessageRequest,
    Task,
    TaskPushNotificationConfig,
    TaskState,
)

from agents.lifecycle import open_task
from app import binding
from app.executions import Executions
from app.handler import LeanRequestHandler
from tables import ConversationIndex, FaustTaskStore
from tables.changelog import WriteBehind


class Gated(AgentExecutor):
    """Completes each task once ``gate`` is set; keeps each request's related tasks."""

    def __init__(self) -> None:
        self.gate = asyncio.Event()
        self.related: dict[str, list[str]] = {}
        self.started = 0

    async def execute(self, context: RequestContext, event_queue: EventQueue) -> None:
        self.started += 1
        self.related[str(context.task_id)] = [t.id for t in context.related_tasks]
        updater = await open_task(context, event_queue)
        await self.gate.wait()
        await updater.complete()

    async def cancel(self, context: RequestContext, event_queue: EventQueue) -> None:
        raise NotImplementedError


class Handler:
    """A lean handler and its tables."""

    def __init__(self) -> None:
        self.tasks: dict[str, bytes] = {}
        self.contexts: dict[str, bytes] = {}
        self.executor = Gated()
        self.index = ConversationIndex(self.contexts, "echo")
        self.handler = LeanRequestHandler(
            agent_executor=self.executor,
            task_store=FaustTaskStore(self.tasks, "echo"),
            agent_card=AgentCard(name="echo", capabilities=AgentCapabilities(streaming=True)),
            conversations=self.index,
            executions=Executions(),
            partition_of=lambda task_id: 0,
            task_id_generator=binding.RoutedTaskIdGenerator(),
            writes=WriteBehind(),
            push_config_store=InMemoryPushNotificationConfigStore(),
            push_url_validator=self.check_url,
        )

    async def check_url(self, url: str) -> bool:
        """A webhook URL check that takes a while (a DNS lookup)."""
        await asyncio.sleep(0.01)
        return True

    async def send(self, context_id: str, webhook: str | None = None) -> Task:
        configuration = SendMessageConfiguration()
        if webhook is not None:
            configuration.task_push_notification_config.CopyFrom(
                TaskPushNotificationConfig(url=webhook)
            )
        request = SendMessageRequest(
            message=new_text_message("hi", role=Role.ROLE_USER, context_id=context_id),
            configuration=configuration,
        )
        result = await self.handler.on_message_send(request, ServerCallContext())
        assert isinstance(result, Task)
        return result


async def test_a_conversation_of_one_task_writes_no_index_entry() -> None:
    h = Handler()
    h.executor.gate.set()
    task = await h.send("ctx-1")
    await asyncio.sleep(0)  # the held task write
    assert task.id == h.index.first_task_id("ctx-1")
    assert task.status.state == TaskState.TASK_STATE_COMPLETED
    assert h.contexts == {}
    assert len(h.tasks) == 1


async def test_a_later_task_gets_a_fresh_id_its_entry_and_the_first_as_related() -> None:
    h = Handler()
    h.executor.gate.set()
    first = await h.send("ctx-1")
    second = await h.send("ctx-1")
    assert second.id != first.id
    assert binding.task_routing_key(second.id) == "ctx-1"
    assert h.index.task_ids("ctx-1") == [first.id, second.id]
    assert list(h.contexts) == ["echo/ctx-1"]
    assert h.executor.related[second.id] == [first.id]


async def test_two_messages_starting_one_conversation_at_once_get_two_tasks() -> None:
    h = Handler()
    calls = [asyncio.create_task(h.send("ctx-1", "http://127.0.0.1:9/hook")) for _ in range(2)]
    async with asyncio.timeout(5):
        while h.executor.started < 2:
            await asyncio.sleep(0.001)
        h.executor.gate.set()
        first, second = await asyncio.gather(*calls)
    assert {first.id, second.id} >= {h.index.first_task_id("ctx-1")}
    assert first.id != second.id
    assert len(h.index.task_ids("ctx-1")) == 2

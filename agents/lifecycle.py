"""The opening move every executor shares: make sure its Task exists."""

from __future__ import annotations

from a2a.helpers import new_task
from a2a.server.agent_execution import RequestContext
from a2a.server.events import EventQueue
from a2a.server.tasks import TaskUpdater
from a2a.types import TaskState


async def open_task(context: RequestContext, event_queue: EventQueue) -> TaskUpdater:
    """Publishes the ``submitted`` Task on a request's first turn; returns its updater.

    a2a-sdk leaves ``context.current_task`` ``None`` until the executor publishes a
    Task, and every later event refers to it (A2A 1.0 §3.1.1: the agent answers with
    a Task or a Message). Follow-up turns of an existing task publish nothing.
    """
    task_id, context_id = str(context.task_id), str(context.context_id)
    if context.current_task is None:
        history = [context.message] if context.message else []
        await event_queue.enqueue_event(
            new_task(task_id, context_id, TaskState.TASK_STATE_SUBMITTED, history=history)
        )
    return TaskUpdater(event_queue, task_id, context_id)

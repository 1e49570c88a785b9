"""The fault-injection tests' agent: working → 0.5 s → one artifact echoing the text →
completed (the task of issue 8's measurements).

Every execution appends the task id, one line, to the file named by
``CHAOS_EXECUTIONS_FILE`` (if set) before it does anything else, so a test counts how
often each task ran, across workers and crashes (one ``write`` of a short line to a
file opened with ``O_APPEND`` is not interleaved with another's).
"""

from __future__ import annotations

import asyncio
import os

from a2a.helpers import new_text_part
from a2a.server.agent_execution import AgentExecutor, RequestContext
from a2a.server.events import EventQueue
from a2a.server.tasks import TaskUpdater
from a2a.types import AgentSkill

from agents.lifecycle import open_task
from agents.spec import AgentSpec, PeerCaller

#: How long a task works before it answers, seconds.
WORK_SECONDS = 0.5
#: Name of the artifact that echoes the message.
ARTIFACT = "echo"


def record_execution(task_id: str) -> None:
    """Appends ``task_id`` to ``CHAOS_EXECUTIONS_FILE``; does nothing if it is unset."""
    path = os.environ.get("CHAOS_EXECUTIONS_FILE")
    if not path:
        return
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, f"{task_id}\n".encode())
    finally:
        os.close(fd)


class EchoExecutor(AgentExecutor):
    """Working → ``WORK_SECONDS`` → one artifact echoing the text → completed."""

    async def execute(self, context: RequestContext, event_queue: EventQueue) -> None:
        """Records the execution, then runs the task."""
        record_execution(str(context.task_id))
        updater = await open_task(context, event_queue)
        await updater.start_work()
        await asyncio.sleep(WORK_SECONDS)
        await updater.add_artifact(
            [new_text_part(context.get_user_input())], name=ARTIFACT, last_chunk=True
        )
        await updater.complete()

    async def cancel(self, context: RequestContext, event_queue: EventQueue) -> None:
        """Marks the task canceled."""
        await TaskUpdater(event_queue, str(context.task_id), str(context.context_id)).cancel()


def _make(_: PeerCaller) -> AgentExecutor:
    return EchoExecutor()


SPEC = AgentSpec(
    name="echo",
    description="Test agent: works 0.5 s, then echoes the text as an artifact.",
    skills=(AgentSkill(id="echo", name="Echo", description="Echoes the text.", tags=["test"]),),
    make_executor=_make,
    streaming=False,
)

"""A test agent whose task runs long enough to cancel or resubscribe to.

``slow`` reads a number N from the message (default 10), then streams N artifact
chunks ``tick 0`` … ``tick N-1`` 0.2 s apart and completes. Cancel stops it.
"""

from __future__ import annotations

import asyncio

from a2a.helpers import new_text_part
from a2a.server.agent_execution import AgentExecutor, RequestContext
from a2a.server.events import EventQueue
from a2a.server.tasks import TaskUpdater
from a2a.types import AgentSkill

from agents.lifecycle import open_task
from agents.spec import AgentSpec, PeerCaller

TICK_SECONDS = 0.2


class SlowExecutor(AgentExecutor):
    """Streams ``tick i`` chunks into one artifact, ``TICK_SECONDS`` apart."""

    async def execute(self, context: RequestContext, event_queue: EventQueue) -> None:
        """Runs N ticks (N from the message text, default 10), then completes."""
        updater = await open_task(context, event_queue)
        await updater.start_work()
        text = context.get_user_input().strip()
        ticks = int(text) if text.isdigit() else 10
        for i in range(ticks):
            await asyncio.sleep(TICK_SECONDS)
            await updater.add_artifact(
                [new_text_part(f"tick {i}")],
                artifact_id="ticks",
                name="ticks",
                append=i > 0,
                last_chunk=i == ticks - 1,
            )
        await updater.complete()

    async def cancel(self, context: RequestContext, event_queue: EventQueue) -> None:
        """Marks the task canceled."""
        await TaskUpdater(event_queue, str(context.task_id), str(context.context_id)).cancel()


def _make(_: PeerCaller) -> AgentExecutor:
    return SlowExecutor()


#: A skill for tests of the authenticated extended card (``GetExtendedAgentCard``).
EXTENDED_SKILL = AgentSkill(
    id="ticks-for-members", name="Member ticks", description="Only callers see it.", tags=["test"]
)

SPEC = AgentSpec(
    name="slow",
    description="Test agent: streams N ticks, 0.2 s apart.",
    skills=(AgentSkill(id="ticks", name="Ticks", description="Streams ticks.", tags=["test"]),),
    make_executor=_make,
)

"""The cs agent: what players complain about, per race, with its reasoning streamed.

Behaviour of :class:`CsExecutor`, for the races the question names (all three, in
canonical order, when it names none):

1. the task is created (``submitted``) and set ``working``;
2. a ``reasoning`` artifact is streamed chunk by chunk: per race, "Reading N posts
   about Race...", the negative count and share, and the top complaint. The first
   chunk has ``append=False``, the others ``append=True``, the last ``last_chunk=True``;
3. an ``answer`` artifact holds one summary line per race
   (:meth:`~agents.cs.feedback.RaceFeedback.summary`);
4. the task is completed.
"""

from __future__ import annotations

from uuid import uuid4

from a2a.helpers import new_text_part
from a2a.server.agent_execution import AgentExecutor, RequestContext
from a2a.server.events import EventQueue
from a2a.server.tasks import TaskUpdater

from agents.cs.feedback import RaceFeedback, race_feedback
from agents.data.questions import RACES, races_in
from agents.lifecycle import open_task

REASONING = "reasoning"
ANSWER = "answer"


def reasoning_steps(feedback: RaceFeedback) -> list[str]:
    """The reasoning chunks streamed for one race, in order."""
    steps = [
        f"Reading {feedback.posts} posts about {feedback.race}...",
        f"{feedback.race}: {feedback.negative} of {feedback.posts} posts are negative "
        f"({feedback.negative_share:.1%}).",
    ]
    if feedback.top_complaints:
        topic, count = feedback.top_complaints[0]
        steps.append(f"Top complaint about {feedback.race}: {topic} ({count} posts).")
    return steps


class CsExecutor(AgentExecutor):
    """Summarises forum complaints per race, streaming its reasoning first."""

    async def execute(self, context: RequestContext, event_queue: EventQueue) -> None:
        """Streams ``reasoning`` chunks, then the ``answer`` artifact, then completes."""
        updater = await open_task(context, event_queue)
        await updater.start_work()
        feedback = [race_feedback(race) for race in races_in(context.get_user_input()) or RACES]
        steps = [step for item in feedback for step in reasoning_steps(item)]
        reasoning_id = str(uuid4())
        for index, step in enumerate(steps):
            await updater.add_artifact(
                [new_text_part(step)],
                artifact_id=reasoning_id,
                name=REASONING,
                append=index > 0,
                last_chunk=index == len(steps) - 1,
            )
        await updater.add_artifact(
            [new_text_part("\n".join(item.summary() for item in feedback))],
            name=ANSWER,
            last_chunk=True,
        )
        await updater.complete()

    async def cancel(self, context: RequestContext, event_queue: EventQueue) -> None:
        """Marks the task canceled."""
        await TaskUpdater(event_queue, str(context.task_id), str(context.context_id)).cancel()

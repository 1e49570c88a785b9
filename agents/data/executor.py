"""The data agent: win rate and average game length per race, with a clarifying turn.

Behaviour of :class:`DataExecutor`:

* A message naming one or more races completes the task with a ``statistics``
  artifact giving, for each named race in order of mention, the figures asked
  (win rate, average game length, or both when the question names neither).
* A message naming no race sets the task to ``input-required`` with the agent
  message :data:`WHICH_RACE` and returns.
* The answer to that (a message naming the race, e.g. ``"Zerg"``) completes the task
  with the figures the *original* question asked for. The original question is read
  from the task being continued (``message.task_id`` set: its history) or, when the
  caller started a new task in the same context, from the most recent earlier task
  still in ``input-required`` among ``context.related_tasks``.
"""

from __future__ import annotations

from a2a.helpers import get_message_text, new_text_part
from a2a.server.agent_execution import AgentExecutor, RequestContext
from a2a.server.events import EventQueue
from a2a.server.tasks import TaskUpdater
from a2a.types import Role, TaskState

from agents.data.answer import answer
from agents.data.questions import Metric, metrics_in, races_in
from agents.lifecycle import open_task

WHICH_RACE = "Which race? Terran, Zerg or Protoss?"
"""The agent message sent with ``input-required`` when a question names no race."""

ARTIFACT_NAME = "statistics"


def earlier_question(context: RequestContext) -> str:
    """The text of the user turns the current message answers, ``""`` if there are none.

    Looks at the task being continued (``context.current_task``) or else the most
    recent related task in ``input-required``, and joins the text of its user messages
    other than the current one, oldest first.
    """
    task = context.current_task
    if task is None:
        waiting = [
            t
            for t in context.related_tasks
            if t.status.state == TaskState.TASK_STATE_INPUT_REQUIRED
        ]
        if not waiting:
            return ""
        task = waiting[-1]
    current_id = context.message.message_id if context.message else ""
    return "\n".join(
        get_message_text(m)
        for m in task.history
        if m.role == Role.ROLE_USER and m.message_id != current_id
    )


class DataExecutor(AgentExecutor):
    """Answers win-rate and game-length questions from the bundled matches."""

    async def execute(self, context: RequestContext, event_queue: EventQueue) -> None:
        """Completes the task with a ``statistics`` artifact, or asks which race."""
        # Read the earlier turns before publishing anything: the handler updates the
        # stored task (which may be the very object in context.current_task) as events flow.
        earlier = earlier_question(context)
        updater = await open_task(context, event_queue)
        text = context.get_user_input()
        races = races_in(text)
        if not races:
            await updater.requires_input(updater.new_agent_message([new_text_part(WHICH_RACE)]))
            return
        metrics = metrics_in(text) or metrics_in(earlier) or tuple(Metric)
        await updater.add_artifact(
            [new_text_part(answer(races, metrics))], name=ARTIFACT_NAME, last_chunk=True
        )
        await updater.complete()

    async def cancel(self, context: RequestContext, event_queue: EventQueue) -> None:
        """Marks the task canceled (an answer is computed at once, so only a task
        waiting for the race is ever cancelled)."""
        await TaskUpdater(event_queue, str(context.task_id), str(context.context_id)).cancel()

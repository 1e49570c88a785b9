"""Test agents for multi-turn and failure paths.

* ``turns`` answers ``input-required`` ("got <text>") to every message until one says
  ``done``, then completes ("finished after N turns"): a task continued turn by turn.
* ``faulty`` starts working, then its executor raises ``RuntimeError("the model
  crashed")``: a task whose executor fails.
"""

from __future__ import annotations

from a2a.helpers import new_text_message
from a2a.server.agent_execution import AgentExecutor, RequestContext
from a2a.server.events import EventQueue
from a2a.types import AgentSkill, Message, Role

from agents.lifecycle import open_task
from agents.spec import AgentSpec, PeerCaller

CRASH = "the model crashed"


class TurnsExecutor(AgentExecutor):
    """``input-required`` until the user says ``done``."""

    async def execute(self, context: RequestContext, event_queue: EventQueue) -> None:
        """Answers one turn."""
        updater = await open_task(context, event_queue)
        text = context.get_user_input().strip()
        earlier = context.current_task.history if context.current_task else []
        turns = 1 + sum(1 for message in earlier if message.role == Role.ROLE_USER)

        def reply(answer: str) -> Message:
            return new_text_message(
                answer,
                role=Role.ROLE_AGENT,
                task_id=str(context.task_id),
                context_id=str(context.context_id),
            )

        if text == "done":
            await updater.complete(reply(f"finished after {turns} turns"))
        else:
            await updater.requires_input(reply(f"got {text}"))

    async def cancel(self, context: RequestContext, event_queue: EventQueue) -> None:
        """Nothing runs between turns."""


class FaultyExecutor(AgentExecutor):
    """Starts working, then raises."""

    async def execute(self, context: RequestContext, event_queue: EventQueue) -> None:
        """Raises ``RuntimeError(CRASH)`` after ``working``."""
        updater = await open_task(context, event_queue)
        await updater.start_work()
        raise RuntimeError(CRASH)

    async def cancel(self, context: RequestContext, event_queue: EventQueue) -> None:
        """Nothing to cancel."""


def _skill(name: str) -> tuple[AgentSkill, ...]:
    return (AgentSkill(id=name, name=name, description=f"Test agent {name}.", tags=["test"]),)


def _turns(_: PeerCaller) -> AgentExecutor:
    return TurnsExecutor()


def _faulty(_: PeerCaller) -> AgentExecutor:
    return FaultyExecutor()


TURNS = AgentSpec(
    name="turns",
    description="Test agent: input-required until told done.",
    skills=_skill("turns"),
    make_executor=_turns,
)
FAULTY = AgentSpec(
    name="faulty",
    description="Test agent: its executor raises.",
    skills=_skill("faulty"),
    make_executor=_faulty,
)

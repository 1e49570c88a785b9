"""A test agent that shows what reached it: service parameters, or a response too big.

``probe`` answers every message by completing its task with one artifact:

* ``context``: JSON of what the executor sees of the call (A2A 1.0 §3.2.6 service
  parameters): ``{"headers": ServerCallContext.state["headers"], "extensions":
  sorted ServerCallContext.requested_extensions}``;
* ``big N``: a text artifact of N characters (a response larger than Kafka's
  ``max.request.size`` when N is above 1 MiB).
"""

from __future__ import annotations

import json

from a2a.helpers import new_text_part
from a2a.server.agent_execution import AgentExecutor, RequestContext
from a2a.server.events import EventQueue
from a2a.types import AgentSkill

from agents.lifecycle import open_task
from agents.spec import AgentSpec, PeerCaller


class ProbeExecutor(AgentExecutor):
    """Completes each task with the artifact its command asks for."""

    async def execute(self, context: RequestContext, event_queue: EventQueue) -> None:
        """Answers ``context`` or ``big N`` (anything else: an empty artifact)."""
        updater = await open_task(context, event_queue)
        command, _, argument = context.get_user_input().strip().partition(" ")
        text = ""
        if command == "context" and context.call_context is not None:
            call = context.call_context
            text = json.dumps(
                {
                    "headers": dict(call.state.get("headers") or {}),
                    "extensions": sorted(call.requested_extensions),
                }
            )
        elif command == "big" and argument.isdigit():
            text = "x" * int(argument)
        await updater.add_artifact([new_text_part(text)], name="probe")
        await updater.complete()

    async def cancel(self, context: RequestContext, event_queue: EventQueue) -> None:
        """Nothing runs long enough to cancel."""


def _make(_: PeerCaller) -> AgentExecutor:
    return ProbeExecutor()


SPEC = AgentSpec(
    name="probe",
    description="Test agent: echoes its call context, or answers with N characters.",
    skills=(
        AgentSkill(
            id="probe",
            name="Probe",
            description="Echoes service parameters; makes large answers.",
            tags=["test"],
            examples=["context", "big 2000000"],
        ),
    ),
    make_executor=_make,
)

"""Runs the agents' executors through a2a-sdk's real DefaultRequestHandler, in-process."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from a2a.client import A2AClientError
from a2a.helpers import get_artifact_text, get_message_text, new_text_message
from a2a.server.agent_execution import AgentExecutor, SimpleRequestContextBuilder
from a2a.server.context import ServerCallContext
from a2a.server.events import Event
from a2a.server.request_handlers import DefaultRequestHandler
from a2a.server.tasks import InMemoryTaskStore
from a2a.types import (
    AgentCapabilities,
    AgentCard,
    AgentInterface,
    Message,
    Role,
    SendMessageRequest,
    Task,
    TaskState,
)

from agents.spec import AgentSpec

Serve = Callable[..., DefaultRequestHandler]
"""The ``serve`` fixture: ``serve(spec, executor, populate_referred_tasks=False)``."""


def card_for(spec: AgentSpec) -> AgentCard:
    """A spec-compliant AgentCard for ``spec`` (the URL is a placeholder topic name)."""
    return AgentCard(
        name=spec.name,
        description=spec.description,
        version="0.1.0",
        supported_interfaces=[
            AgentInterface(
                url=f"kafka://agent.{spec.name}.requests",
                protocol_binding="JSONRPC",
                protocol_version="1.0",
            )
        ],
        capabilities=AgentCapabilities(streaming=spec.streaming),
        default_input_modes=list(spec.input_modes),
        default_output_modes=list(spec.output_modes),
        skills=list(spec.skills),
    )


def make_handler(
    spec: AgentSpec, executor: AgentExecutor, *, populate_referred_tasks: bool = False
) -> DefaultRequestHandler:
    """A handler with its own InMemoryTaskStore; optionally fills ``related_tasks``
    from ``message.reference_task_ids`` (the SDK's stand-in for the worker's builder)."""
    store = InMemoryTaskStore()
    builder = (
        SimpleRequestContextBuilder(should_populate_referred_tasks=True, task_store=store)
        if populate_referred_tasks
        else None
    )
    return DefaultRequestHandler(
        agent_executor=executor,
        task_store=store,
        agent_card=card_for(spec),
        request_context_builder=builder,
    )


def user_message(
    text: str,
    *,
    context_id: str | None = None,
    task_id: str | None = None,
    reference_task_ids: Iterable[str] = (),
) -> Message:
    """A user text message, optionally continuing a context / task."""
    message = new_text_message(text, context_id=context_id, task_id=task_id, role=Role.ROLE_USER)
    message.reference_task_ids.extend(reference_task_ids)
    return message


async def send(handler: DefaultRequestHandler, message: Message) -> Task:
    """``SendMessage`` through ``handler``; the agents always answer with a Task."""
    result = await handler.on_message_send(SendMessageRequest(message=message), ServerCallContext())
    assert isinstance(result, Task), result
    return result


async def stream(handler: DefaultRequestHandler, message: Message) -> list[Event]:
    """``SendStreamingMessage`` through ``handler``; every event, in order."""
    request = SendMessageRequest(message=message)
    return [event async for event in handler.on_message_send_stream(request, ServerCallContext())]


def artifact_texts(task: Task) -> dict[str, str]:
    """Artifact name -> its text (parts joined with newlines)."""
    return {artifact.name: get_artifact_text(artifact) for artifact in task.artifacts}


def status_text(task: Task) -> str:
    """The text of the task's current status message ("" if none)."""
    return get_message_text(task.status.message)


class InProcessPeers:
    """A PeerCaller that sends each question to a real handler in this process.

    Returns the text of the task's last artifact; raises ``A2AClientError`` when the
    peer's task does not complete. ``asked`` records ``(agent, text)`` pairs in order.
    """

    def __init__(self, handlers: dict[str, DefaultRequestHandler]) -> None:
        self._handlers = handlers
        self.asked: list[tuple[str, str]] = []

    async def __call__(self, agent: str, text: str) -> str:
        self.asked.append((agent, text))
        task = await send(self._handlers[agent], user_message(text))
        if task.status.state != TaskState.TASK_STATE_COMPLETED:
            raise A2AClientError(f"{agent} ended in {TaskState.Name(task.status.state)}")
        return get_artifact_text(task.artifacts[-1])

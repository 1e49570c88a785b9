"""Faust CLI commands: ``faust -A app agents | ask | task | retire``.

They are clients: they find agents in ``agent.registry`` and call them through
a2a-sdk's ``Client`` over :class:`app.transport.KafkaTransport`, like any caller.
"""

from __future__ import annotations

import sys
from typing import NoReturn

from a2a.client import A2AClientError, ClientConfig
from a2a.helpers import get_artifact_text, get_message_text, new_text_message
from a2a.types import GetTaskRequest, Role, SendMessageRequest, StreamResponse, Task, TaskState
from a2a.utils.errors import A2AError
from faust.cli import AppCommand, argument, option
from google.protobuf.json_format import MessageToJson

from app.registry import fetch_cards, resolve_card, retire_agent
from app.transport import kafka_client_factory
from app.worker import A2AWorker


def _fail(command: AppCommand, message: str) -> NoReturn:
    """Ends the command with one line on stderr and exit status 1."""
    command.say(f"error: {message}", file=sys.stderr)
    sys.exit(1)


def _state(task_state: int) -> str:
    return TaskState.Name(task_state).removeprefix("TASK_STATE_").lower().replace("_", "-")


def describe_event(event: StreamResponse) -> str | None:
    """One human line for a streamed A2A event, or ``None`` for an event with nothing to say."""
    if event.HasField("task"):
        return f"[task {_state(event.task.status.state)}]"
    if event.HasField("status_update"):
        status = event.status_update.status
        text = get_message_text(status.message) if status.HasField("message") else ""
        return f"[{_state(status.state)}] {text}".rstrip()
    if event.HasField("artifact_update"):
        artifact = event.artifact_update.artifact
        return f"[{artifact.name or artifact.artifact_id}] {get_artifact_text(artifact)}"
    if event.HasField("message"):
        return f"[message] {get_message_text(event.message)}"
    return None


def register_commands(worker: A2AWorker) -> None:
    """Adds the ``agents``, ``ask``, ``task`` and ``retire`` commands to the worker's Faust app."""
    app = worker.app
    bootstrap = worker.settings.bootstrap_servers

    @app.command()
    async def agents(self: AppCommand) -> None:
        """List the agents in agent.registry and their skills."""
        try:
            cards = await fetch_cards(bootstrap)
        except (A2AClientError, A2AError) as exc:
            _fail(self, str(exc))
        if not cards:
            self.say("no agents registered (is a worker running?)")
        for name, card in sorted(cards.items()):
            self.say(f"{name}: {card.description}")
            self.say(f"    interface: {card.supported_interfaces[0].url}")
            for skill in card.skills:
                self.say(f"    skill {skill.id}: {skill.description}")

    @app.command(argument("agent"))
    async def retire(self: AppCommand, agent: str) -> None:
        """Remove AGENT from agent.registry (a tombstone); its topics are kept."""
        try:
            await retire_agent(bootstrap, agent)
        except Exception as exc:
            _fail(self, f"cannot retire {agent}: {exc}")
        self.say(f"retired {agent}")

    @app.command(
        argument("agent"),
        argument("text"),
        option("--context-id", type=str, default=None, help="Continue this conversation."),
        option("--task-id", type=str, default=None, help="Continue this task."),
        option("--timeout", type=float, default=40.0, help="Deadline in seconds."),
    )
    async def ask(
        self: AppCommand,
        agent: str,
        text: str,
        context_id: str | None,
        task_id: str | None,
        timeout: float,
    ) -> None:
        """Send TEXT to AGENT as a streaming message and print each event."""
        try:
            card = await resolve_card(bootstrap, agent)
        except (A2AClientError, A2AError) as exc:
            _fail(self, str(exc))
        client = kafka_client_factory(ClientConfig(streaming=True), timeout=timeout).create(card)
        message = new_text_message(
            text, role=Role.ROLE_USER, context_id=context_id, task_id=task_id
        )
        last: Task | None = None
        try:
            async for event in client.send_message(SendMessageRequest(message=message)):
                line = describe_event(event)
                if line:
                    self.say(line)
                if event.HasField("task"):
                    last = event.task
                elif event.HasField("status_update"):
                    last = last or Task(id=event.status_update.task_id)
                    last.context_id = event.status_update.context_id
                    last.status.CopyFrom(event.status_update.status)
        except (A2AClientError, A2AError) as exc:
            _fail(self, f"{agent}: {exc}")
        finally:
            await client.close()
        if last is not None:
            self.say(f"task id:    {last.id}")
            self.say(f"context id: {last.context_id}")
            self.say(f"state:      {_state(last.status.state)}")

    @app.command(
        argument("task_id"),
        option("--agent", type=str, default=None, help="The agent that owns the task."),
    )
    async def task(self: AppCommand, task_id: str, agent: str | None) -> None:
        """Print one task (A2A JSON) by its id."""
        try:
            cards = await fetch_cards(bootstrap)
        except (A2AClientError, A2AError) as exc:
            _fail(self, str(exc))
        names = [agent] if agent else sorted(cards)
        factory = kafka_client_factory(ClientConfig(streaming=False))
        for name in names:
            if name not in cards:
                _fail(self, f"no agent {name!r} in the registry")
            client = factory.create(cards[name])
            try:
                found = await client.get_task(GetTaskRequest(id=task_id))
            except (A2AClientError, A2AError):
                continue
            finally:
                await client.close()
            self.say(MessageToJson(found))
            return
        _fail(self, f"task {task_id} not found")

"""Faust CLI commands: ``faust -A app agents | ask | task | retire | gateway``.

They are clients: they find agents in ``agent.registry`` and call them through
a2a-sdk's ``Client`` over :class:`app.transport.KafkaTransport`, like any caller.
"""

from __future__ import annotations

import logging
import sys
from typing import NoReturn

from a2a.client import A2AClientError, Client, ClientCallContext, ClientConfig
from a2a.helpers import get_artifact_text, get_message_text, new_text_message
from a2a.types import (
    GetTaskRequest,
    ListTasksRequest,
    Role,
    SendMessageRequest,
    StreamResponse,
    Task,
    TaskState,
)
from a2a.utils.errors import A2AError
from faust.cli import AppCommand, argument, option
from google.protobuf.json_format import MessageToJson

from app.auth import AUTHORIZATION, AuthenticationError
from app.registry import fetch_cards, resolve_card, retire_agent
from app.transport import kafka_client_factory
from app.worker import A2AWorker


def _fail(command: AppCommand, message: str) -> NoReturn:
    """Ends the command with one line on stderr and exit status 1."""
    command.say(f"error: {message}", file=sys.stderr)
    sys.exit(1)


def _quiet_kafka_client_logs() -> None:
    """Leaves failures to the commands' own one-line errors.

    aiokafka logs every failed connection at ERROR; a command fails with one line
    that already names the cause and the setting to fix
    (:func:`app.kafka_config.explain`), so its lines would only repeat it.
    """
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)


def _state(task_state: int) -> str:
    return TaskState.Name(task_state).removeprefix("TASK_STATE_").lower().replace("_", "-")


def call_context(token: str | None) -> ClientCallContext | None:
    """The call context that sends ``token`` as ``authorization: Bearer <token>`` (the
    Kafka binding's credential service parameter), or ``None`` without a token."""
    if not token:
        return None
    return ClientCallContext(service_parameters={AUTHORIZATION: f"Bearer {token}"})


def _token_option() -> option:
    return option(
        "--token",
        type=str,
        default=None,
        envvar="A2A_TOKEN",
        help="Bearer JWT for agents that authenticate callers (default: $A2A_TOKEN).",
    )


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


async def waiting_task(client: Client, context_id: str) -> str | None:
    """The id of the conversation's latest task if it waits for the caller, else ``None``.

    ``ListTasks`` answers newest first (A2A 1.0 §3.1.4); a task in ``input-required``
    or ``auth-required`` is continued by the next message rather than left waiting.
    """
    page = await client.list_tasks(ListTasksRequest(context_id=context_id, page_size=1))
    if page.tasks and page.tasks[0].status.state in (
        TaskState.TASK_STATE_INPUT_REQUIRED,
        TaskState.TASK_STATE_AUTH_REQUIRED,
    ):
        return page.tasks[0].id
    return None


def register_commands(worker: A2AWorker) -> None:
    """Adds the ``agents``, ``ask``, ``task``, ``retire`` and ``gateway`` commands to the worker's Faust app."""
    app = worker.app
    kafka = worker.settings.kafka

    @app.command()
    async def agents(self: AppCommand) -> None:
        """List the agents in agent.registry and their skills."""
        _quiet_kafka_client_logs()
        try:
            cards = await fetch_cards(kafka)
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
            await retire_agent(kafka, agent)
        except Exception as exc:
            _fail(self, f"cannot retire {agent}: {exc}")
        self.say(f"retired {agent}")

    @app.command(
        argument("agent"),
        argument("text"),
        option("--context-id", type=str, default=None, help="Continue this conversation."),
        option("--task-id", type=str, default=None, help="Continue this task."),
        option("--timeout", type=float, default=40.0, help="Deadline in seconds."),
        _token_option(),
    )
    async def ask(
        self: AppCommand,
        agent: str,
        text: str,
        context_id: str | None,
        task_id: str | None,
        timeout: float,
        token: str | None,
    ) -> None:
        """Send TEXT to AGENT as a streaming message and print each event.

        With ``--context-id`` alone, a conversation whose latest task waits for input
        (``input-required``, ``auth-required``) continues that task.
        """
        _quiet_kafka_client_logs()
        try:
            card = await resolve_card(kafka, agent)
        except (A2AClientError, A2AError) as exc:
            _fail(self, str(exc))
        client = kafka_client_factory(
            ClientConfig(streaming=True), kafka=kafka, timeout=timeout
        ).create(card)
        if context_id and not task_id:
            try:
                task_id = await waiting_task(client, context_id)
            except (A2AClientError, A2AError) as exc:
                await client.close()
                _fail(self, f"{agent}: {exc}")
        message = new_text_message(
            text, role=Role.ROLE_USER, context_id=context_id, task_id=task_id
        )
        last: Task | None = None
        try:
            request = SendMessageRequest(message=message)
            async for event in client.send_message(request, context=call_context(token)):
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
        _token_option(),
    )
    async def task(self: AppCommand, task_id: str, agent: str | None, token: str | None) -> None:
        """Print one task (A2A JSON) by its id."""
        _quiet_kafka_client_logs()
        try:
            cards = await fetch_cards(kafka)
        except (A2AClientError, A2AError) as exc:
            _fail(self, str(exc))
        names = [agent] if agent else sorted(cards)
        factory = kafka_client_factory(ClientConfig(streaming=False), kafka=kafka)
        for name in names:
            if name not in cards:
                _fail(self, f"no agent {name!r} in the registry")
            client = factory.create(cards[name])
            try:
                found = await client.get_task(
                    GetTaskRequest(id=task_id), context=call_context(token)
                )
            except AuthenticationError as exc:
                _fail(self, f"{name}: {exc}")
            except (A2AClientError, A2AError):
                continue
            finally:
                await client.close()
            self.say(MessageToJson(found))
            return
        _fail(self, f"task {task_id} not found")

    @app.command(
        option("--host", type=str, default="127.0.0.1", help="Address to bind."),
        option("--port", type=int, default=8080, help="Port to bind."),
        option("--agent", type=str, default=None, help="Serve only this agent, at /."),
        option(
            "--public-url",
            type=str,
            default=None,
            help="The gateway's URL as callers reach it; default http://HOST:PORT.",
        ),
        option("--timeout", type=float, default=40.0, help="Deadline of every call, seconds."),
    )
    async def gateway(
        self: AppCommand,
        host: str,
        port: int,
        agent: str | None,
        public_url: str | None,
        timeout: float,
    ) -> None:
        """Serve every agent of agent.registry over A2A HTTP (JSON-RPC and HTTP+JSON)."""
        try:
            from app.gateway import GatewayConfig, serve
        except ImportError as exc:
            _fail(self, f"the gateway needs: pip install 'faust-a2a[gateway]' ({exc})")
        config = GatewayConfig(
            bootstrap_servers=kafka.bootstrap_servers,
            public_url=(public_url or f"http://{host}:{port}").rstrip("/"),
            agent=agent,
            timeout=timeout,
            max_body_bytes=worker.settings.max_request_bytes,
        )
        self.say(f"gateway: {config.public_url} (agents from {kafka.bootstrap_servers})")
        await serve(config, host, port)

"""Transport equivalence: the same scenarios through a2a-sdk's HTTP JSON-RPC server
(in this process, Starlette under uvicorn on 127.0.0.1, a2a-sdk's own
``DefaultRequestHandler``) and through Kafka (the worker's lean handler) give the same
event kinds, task states, histories and errors."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
import uvicorn
from a2a.client import Client, ClientConfig, ClientFactory
from a2a.helpers import new_text_message
from a2a.server.request_handlers import DefaultRequestHandler
from a2a.server.routes.jsonrpc_routes import create_jsonrpc_routes
from a2a.server.tasks import InMemoryPushNotificationConfigStore, InMemoryTaskStore
from a2a.types import (
    AgentCapabilities,
    AgentCard,
    AgentInterface,
    CancelTaskRequest,
    GetTaskRequest,
    Role,
    SendMessageRequest,
    StreamResponse,
    SubscribeToTaskRequest,
    Task,
    TaskState,
)
from a2a.utils.constants import TransportProtocol
from a2a.utils.errors import A2AError
from starlette.applications import Starlette
from support.clients import Connect
from support.slow_agent import SPEC as SLOW
from support.turns_agent import FAULTY, TURNS

from agents import AGENTS
from app.cards import agent_card

pytestmark = pytest.mark.kafka

Step = tuple[str, str]


async def _no_peers(agent: str, text: str) -> str:
    raise AssertionError("scenarios here do not call peers")


@pytest.fixture
async def http_connect() -> AsyncIterator[Connect]:
    """``http_connect(agent)``: a Client over a2a-sdk's JSON-RPC HTTP server."""
    handlers, clients = [], []
    routes = []
    specs = {**AGENTS, "slow": SLOW, "turns": TURNS, "faulty": FAULTY}
    for name in ("data", "cs", "slow", "turns", "faulty"):
        spec = specs[name]
        card = agent_card(spec, "127.0.0.1:1")
        handler = DefaultRequestHandler(
            agent_executor=spec.make_executor(_no_peers),
            task_store=InMemoryTaskStore(),
            agent_card=card,
            extended_agent_card=card,
            push_config_store=InMemoryPushNotificationConfigStore(),
        )
        handlers.append(handler)
        routes += create_jsonrpc_routes(handler, f"/{name}")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(Starlette(routes=routes), host="127.0.0.1", port=port, log_level="warning")
    )
    serving = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.05)

    def _connect(agent: str, **config: object) -> Client:
        card = AgentCard(
            name=agent,
            capabilities=AgentCapabilities(streaming=True),
            supported_interfaces=[
                AgentInterface(
                    url=f"http://127.0.0.1:{port}/{agent}",
                    protocol_binding=TransportProtocol.JSONRPC,
                    protocol_version="1.0",
                )
            ],
        )
        client = ClientFactory(ClientConfig(**config)).create(card)  # type: ignore[arg-type]
        clients.append(client)
        return client

    yield _connect
    for client in clients:
        await client.close()
    server.should_exit = True
    await serving
    for handler in handlers:
        await handler.aclose()


def _steps(events: list[StreamResponse]) -> list[Step]:
    steps: list[Step] = []
    for event in events:
        kind = event.WhichOneof("payload") or ""
        if event.HasField("task"):
            detail = TaskState.Name(event.task.status.state)
        elif event.HasField("status_update"):
            detail = TaskState.Name(event.status_update.status.state)
        elif event.HasField("artifact_update"):
            detail = event.artifact_update.artifact.name
        else:
            detail = ""
        steps.append((kind, detail))
    return steps


async def _conversation(connect: Connect, streaming: bool) -> list[list[Step]]:
    """Three scenarios: multi-turn data (input-required → follow-up), cs stream, unary data."""
    data = connect("data", streaming=streaming)
    first = [e async for e in data.send_message(_ask("What is the average game length?"))]
    last = first[-1]
    task = last.task if last.HasField("task") else None
    ids = (
        {"context_id": task.context_id, "task_id": task.id}
        if task
        else {"context_id": last.status_update.context_id, "task_id": last.status_update.task_id}
    )
    second = [e async for e in data.send_message(_ask("Protoss", **ids))]
    cs = connect("cs", streaming=streaming)
    third = [e async for e in cs.send_message(_ask("Complaints about Terran"))]
    return [_steps(first), _steps(second), _steps(third)]


def _ask(text: str, **ids: str) -> SendMessageRequest:
    return SendMessageRequest(message=new_text_message(text, role=Role.ROLE_USER, **ids))


@pytest.mark.parametrize("streaming", [True, False], ids=["streaming", "unary"])
async def test_kafka_and_http_give_the_same_events(
    connect: Connect, http_connect: Connect, streaming: bool
) -> None:
    over_http = await _conversation(http_connect, streaming)
    over_kafka = await _conversation(connect, streaming)
    assert over_kafka == over_http
    assert over_http[0][-1][1] == "TASK_STATE_INPUT_REQUIRED"
    assert over_http[1][-1][1] == "TASK_STATE_COMPLETED"


Observation = tuple[object, ...]


def _outcome(error: BaseException) -> Observation:
    """An A2A error as both transports must report it: its type (hence its code)."""
    assert isinstance(error, A2AError), error
    return ("error", type(error).__name__)


def _first_task(events: list[StreamResponse]) -> Task:
    return next(e.task for e in events if e.HasField("task"))


async def _turns(connect: Connect) -> list[Observation]:
    """Multi-turn with both ids, historyLength 0 and 2, a contradicting contextId."""
    client = connect("turns", streaming=False)
    seen: list[Observation] = []
    first = _first_task([e async for e in client.send_message(_ask("first"))])
    ids = {"context_id": first.context_id, "task_id": first.id}
    for text, length in (("second", 0), ("third", 2), ("fourth", None)):
        request = _ask(text, **ids)
        if length is not None:
            request.configuration.history_length = length
        task = _first_task([e async for e in client.send_message(request)])
        seen.append((TaskState.Name(task.status.state), len(task.history)))
    done = _first_task([e async for e in client.send_message(_ask("done", **ids))])
    stored = await client.get_task(GetTaskRequest(id=first.id))
    seen.append((TaskState.Name(done.status.state), [m.role for m in stored.history]))
    try:
        await client.send_message(_ask("x", context_id="other", task_id=first.id)).__anext__()
    except A2AError as error:
        seen.append(_outcome(error))
    return seen


async def _return_immediately(connect: Connect) -> list[Observation]:
    """``returnImmediately`` answers the first task state; the task goes on."""
    client = connect("slow", streaming=False)
    request = _ask("5")
    request.configuration.return_immediately = True
    task = _first_task([e async for e in client.send_message(request)])
    seen: list[Observation] = [(TaskState.Name(task.status.state),)]
    for _ in range(100):
        stored = await client.get_task(GetTaskRequest(id=task.id))
        if stored.status.state == TaskState.TASK_STATE_COMPLETED:
            break
        await asyncio.sleep(0.1)
    seen.append((TaskState.Name(stored.status.state), len(stored.artifacts[0].parts)))
    return seen


async def _cancel_and_subscribe(connect: Connect) -> list[Observation]:
    """Subscribe to a running task, cancel it; errors on a terminal task."""
    client = connect("slow", streaming=True)
    request = _ask("50")
    request.configuration.return_immediately = True
    unary = connect("slow", streaming=False)
    task = _first_task([e async for e in unary.send_message(request)])
    subscription = client.subscribe(SubscribeToTaskRequest(id=task.id))
    first = await subscription.__anext__()
    canceled = await client.cancel_task(CancelTaskRequest(id=task.id))
    rest = [e async for e in subscription]
    stored = await client.get_task(GetTaskRequest(id=task.id))
    seen: list[Observation] = [
        (first.WhichOneof("payload"),),
        (TaskState.Name(canceled.status.state), TaskState.Name(stored.status.state)),
        (all(e.WhichOneof("payload") in ("artifact_update", "status_update") for e in rest),),
    ]
    for call in (
        lambda: client.cancel_task(CancelTaskRequest(id=task.id)),
        lambda: client.subscribe(SubscribeToTaskRequest(id=task.id)).__anext__(),
        lambda: client.get_task(GetTaskRequest(id=task.id + "-unknown")),
        lambda: client.get_task(GetTaskRequest(id=task.id, history_length=-1)),
    ):
        try:
            await call()
            seen.append(("no error",))
        except A2AError as error:
            seen.append(_outcome(error))
    return seen


async def _executor_error(connect: Connect) -> list[Observation]:
    """An executor that raises: the caller gets an internal error, unary and streaming."""
    seen: list[Observation] = []
    for streaming in (False, True):
        client = connect("faulty", streaming=streaming)
        try:
            _ = [e async for e in client.send_message(_ask("go"))]
            seen.append(("no error",))
        except A2AError as error:
            seen.append((*_outcome(error), "the model crashed" in str(error)))
    return seen


@pytest.mark.parametrize(
    "scenario",
    [_turns, _return_immediately, _cancel_and_subscribe, _executor_error],
    ids=[
        "turns-and-history-length",
        "return-immediately",
        "cancel-subscribe-errors",
        "executor-error",
    ],
)
async def test_kafka_and_http_agree_on(
    connect: Connect,
    http_connect: Connect,
    scenario: Callable[[Connect], Awaitable[list[Observation]]],
) -> None:
    over_http = await scenario(http_connect)
    over_kafka = await scenario(connect)
    assert over_kafka == over_http

"""Transport equivalence: the same scenarios through a2a-sdk's HTTP JSON-RPC server
(in this process, Starlette under uvicorn on 127.0.0.1) and through Kafka give the
same sequence of event kinds and task states."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest
import uvicorn
from a2a.client import Client, ClientConfig, ClientFactory
from a2a.helpers import new_text_message
from a2a.server.request_handlers import DefaultRequestHandler
from a2a.server.routes.jsonrpc_routes import create_jsonrpc_routes
from a2a.server.tasks import InMemoryTaskStore
from a2a.types import (
    AgentCapabilities,
    AgentCard,
    AgentInterface,
    Role,
    SendMessageRequest,
    StreamResponse,
    TaskState,
)
from a2a.utils.constants import TransportProtocol
from starlette.applications import Starlette
from support.clients import Connect

from agents import AGENTS

pytestmark = pytest.mark.kafka

Step = tuple[str, str]


async def _no_peers(agent: str, text: str) -> str:
    raise AssertionError("scenarios here do not call peers")


@pytest.fixture
async def http_connect() -> AsyncIterator[Connect]:
    """``http_connect(agent)``: a Client over a2a-sdk's JSON-RPC HTTP server."""
    handlers, clients = [], []
    routes = []
    for name in ("data", "cs"):
        spec = AGENTS[name]
        handler = DefaultRequestHandler(
            agent_executor=spec.make_executor(_no_peers),
            task_store=InMemoryTaskStore(),
            agent_card=AgentCard(name=name, capabilities=AgentCapabilities(streaming=True)),
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

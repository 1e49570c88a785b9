"""The HTTP gateway: the same A2A answers over JSON-RPC and HTTP+JSON through a real
gateway process as over Kafka directly, for every operation; service parameters,
registry changes, bad input and the binding's legacy identifier."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from a2a.client import Client, ClientConfig
from a2a.client.client import ClientCallContext
from a2a.helpers import get_artifact_text, new_text_message
from a2a.server.request_handlers import DefaultRequestHandler
from a2a.server.request_handlers.response_helpers import build_error_response
from a2a.server.routes import create_jsonrpc_routes, create_rest_routes
from a2a.server.tasks import InMemoryTaskStore
from a2a.types import (
    AgentCapabilities,
    AgentCard,
    CancelTaskRequest,
    DeleteTaskPushNotificationConfigRequest,
    GetExtendedAgentCardRequest,
    GetTaskPushNotificationConfigRequest,
    GetTaskRequest,
    ListTaskPushNotificationConfigsRequest,
    ListTasksRequest,
    Message,
    Role,
    SendMessageRequest,
    StreamResponse,
    SubscribeToTaskRequest,
    Task,
    TaskPushNotificationConfig,
    TaskState,
)
from a2a.utils.error_handlers import build_rest_error_payload
from a2a.utils.errors import InvalidRequestError
from aiokafka import AIOKafkaProducer
from google.protobuf.json_format import MessageToDict, MessageToJson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.routing import Mount
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.types import Message as AsgiMessage
from support.clients import Connect
from support.gateway import GatewayProcess
from support.processes import FAUST, TESTS, WorkerProcess, free_port
from support.records import RawPeer, header

from agents import AGENTS
from app import binding
from app.gateway import gateway_card
from app.transport import kafka_client_factory

pytestmark = pytest.mark.kafka

#: How a test reaches an agent: Kafka directly, or the gateway over JSON-RPC or HTTP+JSON.
BINDINGS = ("kafka", "JSONRPC", "HTTP+JSON")
MAX_BODY = 1 << 20  # the gateway's default (FAUST_A2A_MAX_REQUEST_BYTES unset)

Via = Callable[..., Awaitable[Client]]


@pytest.fixture(scope="module")
def gateway(
    worker: WorkerProcess, bootstrap_servers: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GatewayProcess]:
    """A gateway process serving every agent of the session worker."""
    process = GatewayProcess(bootstrap_servers, tmp_path_factory.mktemp("gw") / "gateway.log")
    process.start()
    yield process
    process.stop()


@pytest.fixture
async def via(connect: Connect, gateway: GatewayProcess) -> AsyncIterator[Via]:
    """``await via(binding, agent, **ClientConfig fields)`` → an a2a-sdk ``Client``."""
    clients: list[Client] = []

    async def _via(name: str, agent: str, **config: Any) -> Client:
        if name == "kafka":
            return connect(agent, **config)
        client = await gateway.client(agent, name, **config)
        clients.append(client)
        return client

    yield _via
    for client in clients:
        await client.close()


def _ask(text: str, **ids: str) -> SendMessageRequest:
    return SendMessageRequest(message=new_text_message(text, role=Role.ROLE_USER, **ids))


def _state(state: int) -> str:
    return TaskState.Name(state)


def _steps(events: list[StreamResponse]) -> list[tuple[str, str]]:
    """Event kinds with their task state or artifact name."""
    steps = []
    for event in events:
        if event.HasField("task"):
            detail = _state(event.task.status.state)
        elif event.HasField("status_update"):
            detail = _state(event.status_update.status.state)
        elif event.HasField("artifact_update"):
            detail = event.artifact_update.artifact.name
        else:
            detail = ""
        steps.append((event.WhichOneof("payload") or "", detail))
    return steps


def _ids(event: StreamResponse) -> dict[str, str]:
    if event.HasField("task"):
        return {"task_id": event.task.id, "context_id": event.task.context_id}
    update = event.status_update
    return {"task_id": update.task_id, "context_id": update.context_id}


def _task_view(task: Task) -> tuple[Any, ...]:
    return (
        _state(task.status.state),
        [get_artifact_text(a) for a in task.artifacts],
        [(Role.Name(m.role), m.parts[0].text) for m in task.history],
    )


async def _events(stream: AsyncIterator[StreamResponse]) -> list[StreamResponse]:
    return [event async for event in stream]


async def _error(call: Awaitable[Any]) -> str:
    """The name of the A2A error ``call`` raises (``"ok"`` when it raises none)."""
    try:
        await call
    except Exception as exc:
        return type(exc).__name__
    return "ok"


async def _stream_error(stream: AsyncIterator[StreamResponse]) -> str:
    async def drain() -> None:
        async for _ in stream:
            pass

    return await _error(drain())


# --------------------------------------------------------------- scenarios


async def multi_turn(via: Via, name: str, streaming: bool) -> list[Any]:
    """input-required, then a follow-up in the same task completes it."""
    client = await via(name, "data", streaming=streaming)
    first = await _events(client.send_message(_ask("What is the average game length?")))
    ids = _ids(first[-1])
    second = await _events(client.send_message(_ask("Protoss", **ids)))
    task = await client.get_task(GetTaskRequest(id=ids["task_id"]))
    return [_steps(first), _steps(second), _task_view(task)]


async def multi_turn_unary(via: Via, name: str) -> list[Any]:
    return await multi_turn(via, name, streaming=False)


async def multi_turn_streaming(via: Via, name: str) -> list[Any]:
    return await multi_turn(via, name, streaming=True)


async def streaming(via: Via, name: str) -> list[Any]:
    """A streamed answer: every event, in order, with its artifact text."""
    client = await via(name, "cs", streaming=True)
    events = await _events(client.send_message(_ask("Complaints about Zerg?")))
    texts = [
        get_artifact_text(e.artifact_update.artifact)
        for e in events
        if e.HasField("artifact_update")
    ]
    return [_steps(events), texts]


async def cancel(via: Via, name: str) -> list[Any]:
    """Cancel a running task; a second cancel is refused."""
    poller = await via(name, "slow", streaming=False, polling=True)
    (event,) = await _events(poller.send_message(_ask("50")))
    task_id = event.task.id
    canceled = await poller.cancel_task(CancelTaskRequest(id=task_id))
    again = await _error(poller.cancel_task(CancelTaskRequest(id=task_id)))
    fetched = await poller.get_task(GetTaskRequest(id=task_id))
    return [_state(canceled.status.state), again, _state(fetched.status.state)]


async def subscribe(via: Via, name: str) -> list[Any]:
    """Subscribe to a running task: its snapshot first, then events until completed."""
    poller = await via(name, "slow", streaming=False, polling=True)
    (event,) = await _events(poller.send_message(_ask("15")))
    client = await via(name, "slow", streaming=True)
    events = await _events(client.subscribe(SubscribeToTaskRequest(id=event.task.id)))
    task = await client.get_task(GetTaskRequest(id=event.task.id))
    return [
        events[0].WhichOneof("payload"),
        events[0].task.id == event.task.id,
        _steps(events)[-1],
        {kind for kind, _ in _steps(events)} <= {"task", "artifact_update", "status_update"},
        _task_view(task)[:2],
    ]


async def list_with_paging(via: Via, name: str) -> list[Any]:
    """Three tasks of one conversation in pages of two; an unfiltered page (fan-out)."""
    client = await via(name, "data", streaming=False)
    context_id = uuid.uuid4().hex
    created = set()
    for race in ("Zerg", "Protoss", "Terran"):
        (event,) = await _events(
            client.send_message(_ask(f"{race} win rate", context_id=context_id))
        )
        created.add(event.task.id)
    first = await client.list_tasks(ListTasksRequest(context_id=context_id, page_size=2))
    second = await client.list_tasks(
        ListTasksRequest(context_id=context_id, page_size=2, page_token=first.next_page_token)
    )
    listed = [t.id for t in (*first.tasks, *second.tasks)]
    everywhere = await client.list_tasks(ListTasksRequest(page_size=2))
    return [
        len(first.tasks),
        bool(first.next_page_token),
        len(second.tasks),
        second.next_page_token,
        sorted(listed) == sorted(created),
        sorted(_state(t.status.state) for t in (*first.tasks, *second.tasks)),
        len(everywhere.tasks),
        bool(everywhere.next_page_token),
    ]


async def push_config_crud(via: Via, name: str) -> list[Any]:
    """Create, get, list, delete, list a push-notification config."""
    client = await via(name, "data", streaming=False)
    (event,) = await _events(client.send_message(_ask("Which race is best?")))
    task_id = event.task.id
    created = await client.create_task_push_notification_config(
        TaskPushNotificationConfig(task_id=task_id, id="hook-1", url="https://example.test/hook")
    )
    got = await client.get_task_push_notification_config(
        GetTaskPushNotificationConfigRequest(task_id=task_id, id="hook-1")
    )
    listed = await client.list_task_push_notification_configs(
        ListTaskPushNotificationConfigsRequest(task_id=task_id)
    )
    await client.delete_task_push_notification_config(
        DeleteTaskPushNotificationConfigRequest(task_id=task_id, id="hook-1")
    )
    emptied = await client.list_task_push_notification_configs(
        ListTaskPushNotificationConfigsRequest(task_id=task_id)
    )
    return [
        created.task_id == task_id,
        created.id,
        got.url,
        [c.id for c in listed.configs],
        list(emptied.configs),
    ]


async def extended_card(via: Via, name: str) -> list[Any]:
    client = await via(name, "balance")
    card = await client.get_extended_agent_card(GetExtendedAgentCardRequest())
    return [card.name, [s.id for s in card.skills], card.capabilities.streaming]


async def errors(via: Via, name: str) -> list[Any]:
    """Every A2A error code the hosted agents give, by operation."""
    client = await via(name, "data", streaming=False)
    streamer = await via(name, "data", streaming=True)
    unknown = "0" * 32 + ".no-such-context"
    (done,) = await _events(client.send_message(_ask("Terran win rate")))
    task = done.task
    old = ClientCallContext(service_parameters={"A2A-Version": "0.2"})
    return [
        await _error(client.get_task(GetTaskRequest(id=unknown))),  # -32001
        await _error(client.cancel_task(CancelTaskRequest(id=unknown))),  # -32001
        await _stream_error(streamer.subscribe(SubscribeToTaskRequest(id=unknown))),
        await _error(
            client.get_task_push_notification_config(
                GetTaskPushNotificationConfigRequest(task_id=unknown, id="x")
            )
        ),
        await _error(client.cancel_task(CancelTaskRequest(id=task.id))),  # -32002
        await _stream_error(  # -32004
            client.send_message(_ask("again", task_id=task.id, context_id=task.context_id))
        ),
        await _error(client.get_task(GetTaskRequest(id=task.id), context=old)),  # -32009
        await _stream_error(  # -32602
            client.send_message(SendMessageRequest(message=Message(role=Role.ROLE_USER)))
        ),
        await _error(client.list_tasks(ListTasksRequest(page_size=1000))),  # -32602
        await _error(client.list_tasks(ListTasksRequest(page_token="garbage"))),  # -32602
    ]


SCENARIOS = {
    f.__name__: f
    for f in (
        multi_turn_unary,
        multi_turn_streaming,
        streaming,
        cancel,
        subscribe,
        list_with_paging,
        push_config_crud,
        extended_card,
        errors,
    )
}

#: What every binding must give (checked on the Kafka answer; the others must equal it).
EXPECTED: dict[str, Callable[[list[Any]], None]] = {
    "multi_turn_unary": lambda r: (
        r[0] == [("task", "TASK_STATE_INPUT_REQUIRED")]
        and r[1] == [("task", "TASK_STATE_COMPLETED")]
        and r[2][0] == "TASK_STATE_COMPLETED"
    ),
    "multi_turn_streaming": lambda r: (
        r[0][-1] == ("status_update", "TASK_STATE_INPUT_REQUIRED")
        and r[1][-1] == ("status_update", "TASK_STATE_COMPLETED")
    ),
    "streaming": lambda r: r[0][0][0] == "task" and len(r[1]) >= 2,
    "cancel": lambda r: (
        r
        == [
            "TASK_STATE_CANCELED",
            "TaskNotCancelableError",
            "TASK_STATE_CANCELED",
        ]
    ),
    "subscribe": lambda r: r[:4] == ["task", True, ("status_update", "TASK_STATE_COMPLETED"), True],
    "list_with_paging": lambda r: (
        r
        == [
            2,
            True,
            1,
            "",
            True,
            ["TASK_STATE_COMPLETED"] * 3,
            2,
            True,
        ]
    ),
    "push_config_crud": lambda r: (
        r == [True, "hook-1", "https://example.test/hook", ["hook-1"], []]
    ),
    "extended_card": lambda r: r[0] == "balance" and r[1] == ["balance-review"],
    "errors": lambda r: (
        r
        == [
            "TaskNotFoundError",
            "TaskNotFoundError",
            "TaskNotFoundError",
            "TaskNotFoundError",
            "TaskNotCancelableError",
            "UnsupportedOperationError",
            "VersionNotSupportedError",
            "InvalidParamsError",
            "InvalidParamsError",
            "InvalidParamsError",
        ]
    ),
}


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
async def test_gateway_bindings_answer_like_kafka(via: Via, scenario: str) -> None:
    results = {name: await SCENARIOS[scenario](via, name) for name in BINDINGS}
    assert EXPECTED[scenario](results["kafka"]), results["kafka"]
    assert results["JSONRPC"] == results["kafka"]
    assert results["HTTP+JSON"] == results["kafka"]


# ------------------------------------------------------- the gateway itself


@pytest.mark.parametrize("name", ["JSONRPC", "HTTP+JSON"])
async def test_streams_pass_events_on_as_they_come(via: Via, name: str) -> None:
    client = await via(name, "slow", streaming=True)
    arrivals = []
    async for _ in client.send_message(_ask("10")):  # ten ticks, 0.2 s apart
        arrivals.append(asyncio.get_running_loop().time())
    assert len(arrivals) >= 12
    assert arrivals[-1] - arrivals[0] >= 1.0  # not held back until the task ended


async def test_card_lists_gateway_interfaces_then_kafka(gateway: GatewayProcess) -> None:
    card = await gateway.card("data")
    interfaces = [(i.protocol_binding, i.url) for i in card.supported_interfaces]
    assert interfaces == [
        ("JSONRPC", f"{gateway.url}/data"),
        ("HTTP+JSON", f"{gateway.url}/data"),
        (binding.KAFKA_PROTOCOL_BINDING, interfaces[2][1]),
    ]
    assert binding.parse_kafka_url(interfaces[2][1]).agent == "data"
    assert card.documentation_url.endswith("docs/kafka-binding.md")


async def test_unknown_agent_is_404(gateway: GatewayProcess) -> None:
    async with httpx.AsyncClient(base_url=gateway.url, timeout=10) as http:
        card = await http.get("/nobody/.well-known/agent-card.json")
        rpc = await http.post("/nobody", json={"jsonrpc": "2.0", "id": 1, "method": "GetTask"})
        rest = await http.get("/nobody/tasks/abc")
    assert [card.status_code, rpc.status_code, rest.status_code] == [404, 404, 404]
    assert "nobody" in rpc.json()["error"]["message"]


async def test_two_gateways_give_the_same_answers(
    gateway: GatewayProcess, bootstrap_servers: str, tmp_path: Path
) -> None:
    other = GatewayProcess(bootstrap_servers, tmp_path / "gateway-2.log").start()
    clients: list[Client] = []
    try:
        for g in (gateway, other):
            for name in ("JSONRPC", "HTTP+JSON"):
                clients.append(await g.client("data", name, streaming=False))
        a, b = clients[0], clients[3]  # JSON-RPC on one, HTTP+JSON on the other
        (first,) = await _events(a.send_message(_ask("Which race is best?")))
        task = first.task
        seen = [MessageToDict(await c.get_task(GetTaskRequest(id=task.id))) for c in clients]
        assert all(s == seen[0] for s in seen), seen
        (second,) = await _events(
            b.send_message(_ask("Zerg", task_id=task.id, context_id=task.context_id))
        )
        assert second.task.status.state == TaskState.TASK_STATE_COMPLETED
        seen = [MessageToDict(await c.get_task(GetTaskRequest(id=task.id))) for c in clients]
        assert all(s == seen[0] for s in seen), seen
        assert seen[0]["status"]["state"] == "TASK_STATE_COMPLETED"
        pages = [
            MessageToDict(await c.list_tasks(ListTasksRequest(context_id=task.context_id)))
            for c in clients
        ]
        assert all(p == pages[0] for p in pages)
        assert [t["id"] for t in pages[0]["tasks"]] == [task.id]
    finally:
        for client in clients:
            await client.close()
        other.stop()


async def test_service_parameters_reach_the_agent_unchanged(
    gateway: GatewayProcess, bootstrap_servers: str
) -> None:
    peer = await RawPeer(bootstrap_servers, binding.requests_topic("data")).start()
    sent = {
        "authorization": "Bearer not-checked-by-the-gateway",
        "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        "a2a-extensions": "urn:example:one, urn:example:two",
    }
    message_id = uuid.uuid4().hex
    body = {
        "jsonrpc": "2.0",
        "id": 7,
        "method": "SendMessage",
        "params": {
            "message": {
                "role": "ROLE_USER",
                "messageId": message_id,
                "parts": [{"text": "Zerg win rate"}],
            }
        },
    }
    try:
        async with httpx.AsyncClient(timeout=60) as http:
            response = await http.post(
                f"{gateway.url}/data", json=body, headers={"A2A-Version": "1.0", **sent}
            )
        assert response.status_code == 200
        assert response.json()["result"]["task"]["status"]["state"] == "TASK_STATE_COMPLETED"
        record = await peer.wait_for(lambda r: message_id.encode() in (r.value or b""))
    finally:
        await peer.stop()
    for name, value in sent.items():
        assert header(record, name) == value
    assert header(record, "a2a-version") == "1.0"


async def test_gateway_learns_new_and_retired_agents(
    gateway: GatewayProcess, cards: dict[str, AgentCard], bootstrap_servers: str
) -> None:
    name = f"ghost-{uuid.uuid4().hex[:6]}"
    card = AgentCard()
    card.CopyFrom(cards["data"])
    card.name = name
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers)
    await producer.start()
    path = f"{gateway.url}/{name}/.well-known/agent-card.json"
    try:
        await producer.send_and_wait(
            binding.REGISTRY_TOPIC, MessageToJson(card, indent=None).encode(), key=name.encode()
        )
        assert await _status_becomes(path, 200)
        await producer.send_and_wait(binding.REGISTRY_TOPIC, None, key=name.encode())
        assert await _status_becomes(path, 404)
    finally:
        await producer.stop()


async def _status_becomes(url: str, status: int, timeout: float = 30.0) -> bool:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    async with httpx.AsyncClient(timeout=10) as http:
        while loop.time() < deadline:
            if (await http.get(url)).status_code == status:
                return True
            await asyncio.sleep(0.3)
    return False


async def test_card_with_legacy_kafka_identifier_still_works(cards: dict[str, AgentCard]) -> None:
    legacy = AgentCard()
    legacy.CopyFrom(cards["data"])
    legacy.supported_interfaces[0].protocol_binding = "KAFKA"
    client = kafka_client_factory(ClientConfig(streaming=False)).create(legacy)
    try:
        (event,) = await _events(client.send_message(_ask("Terran win rate")))
    finally:
        await client.close()
    assert event.task.status.state == TaskState.TASK_STATE_COMPLETED
    served = gateway_card(legacy, "http://gw.test/data")
    assert [i.protocol_binding for i in served.supported_interfaces] == [
        "JSONRPC",
        "HTTP+JSON",
        "KAFKA",
    ]


# ------------------------------------------------------------- bad input


class _ReferenceBodyLimit:
    """How a Starlette app signals an oversized body to a2a-sdk: HTTP 413 while reading."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        seen = 0

        async def limited() -> AsgiMessage:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise HTTPException(status_code=413)
            return message

        await self.app(scope, limited, send)


async def _no_peers(agent: str, text: str) -> str:
    raise AssertionError("no peer calls here")


@pytest.fixture
async def reference() -> AsyncIterator[str]:
    """a2a-sdk's own server (DefaultRequestHandler, the ``data`` executor) on 127.0.0.1:
    JSON-RPC at ``/data``, HTTP+JSON under ``/data``; bodies over MAX_BODY get a 413."""
    handler = DefaultRequestHandler(
        agent_executor=AGENTS["data"].make_executor(_no_peers),
        task_store=InMemoryTaskStore(),
        agent_card=AgentCard(name="data", capabilities=AgentCapabilities(streaming=True)),
    )
    routes = [
        *create_jsonrpc_routes(handler, "/data"),
        Mount("/data", routes=create_rest_routes(handler)),
    ]
    port = free_port()
    app = _ReferenceBodyLimit(Starlette(routes=routes), MAX_BODY)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    serving = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await serving
    await handler.aclose()


BAD_INPUT = {
    "jsonrpc-not-json": ("POST", "", b"{not json"),
    "jsonrpc-not-an-object": ("POST", "", b'"hello"'),
    "jsonrpc-batch": ("POST", "", b"[1, 2]"),
    "jsonrpc-no-jsonrpc": ("POST", "", b'{"id": 1, "method": "GetTask"}'),
    "jsonrpc-unknown-method": (
        "POST",
        "",
        b'{"jsonrpc": "2.0", "id": 3, "method": "tasks/doSomething", "params": {}}',
    ),
    "jsonrpc-bad-params": (
        "POST",
        "",
        b'{"jsonrpc": "2.0", "id": 4, "method": "GetTask", "params": {"id": {"x": 1}}}',
    ),
    "jsonrpc-too-large": (
        "POST",
        "",
        json.dumps(
            {"jsonrpc": "2.0", "id": 5, "method": "SendMessage", "x": "y" * MAX_BODY}
        ).encode(),
    ),
    "rest-not-json": ("POST", "/message:send", b"{not json"),
    "rest-bad-field": ("POST", "/message:send", b'{"message": 5}'),
    "rest-unknown-method": ("POST", "/tasks/abc:pause", b"{}"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUT))
async def test_bad_input_gets_a2a_sdks_own_answer(
    gateway: GatewayProcess, reference: str, case: str
) -> None:
    method, path, body = BAD_INPUT[case]
    headers = {"Content-Type": "application/json", "A2A-Version": "1.0"}
    async with httpx.AsyncClient(timeout=30) as http:
        ours = await http.request(
            method, f"{gateway.url}/data{path}", content=body, headers=headers
        )
        theirs = await http.request(
            method, f"{reference}/data{path}", content=body, headers=headers
        )
    assert ours.status_code == theirs.status_code
    assert _body(ours) == _body(theirs)
    assert ours.status_code in (200, 400, 404, 405)


def _body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text


async def test_oversized_bodies_are_refused_as_a2a_sdk_refuses_a_413(
    gateway: GatewayProcess,
) -> None:
    big = {"message": {"role": "ROLE_USER", "messageId": "m", "parts": [{"text": "y" * MAX_BODY}]}}
    headers = {"A2A-Version": "1.0"}
    async with httpx.AsyncClient(timeout=30) as http:
        rpc = await http.post(
            f"{gateway.url}/data",
            json={"jsonrpc": "2.0", "id": 9, "method": "SendMessage", "params": big},
            headers=headers,
        )
        rest = await http.post(f"{gateway.url}/data/message:send", json=big, headers=headers)
    too_large = InvalidRequestError(message="Payload too large")
    assert (rpc.status_code, rpc.json()) == (200, build_error_response(None, too_large))
    assert (rest.status_code, rest.json()) == (400, build_rest_error_payload(too_large))


def test_missing_gateway_extra_fails_with_an_install_hint(
    worker: WorkerProcess, tmp_path: Path
) -> None:
    shadow = tmp_path / "shadow" / "uvicorn"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ImportError('No module named uvicorn')\n")
    env = {
        **worker.env,
        "PYTHONPATH": os.pathsep.join([str(shadow.parent), worker.env["PYTHONPATH"]]),
    }
    result = subprocess.run(
        [str(FAUST), "-A", "support.worker_app", "gateway", "--port", str(free_port())],
        cwd=TESTS,
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert result.returncode == 1
    assert "pip install 'faust-a2a[gateway]'" in result.stderr
    assert "Traceback" not in result.stderr

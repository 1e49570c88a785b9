"""Caller authentication and owner scoping on a real worker with authentication on."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import urllib.error
import urllib.request
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from a2a.client import Client, ClientCallContext, ClientConfig
from a2a.helpers import get_artifact_text, new_text_message
from a2a.types import (
    AgentCard,
    CancelTaskRequest,
    GetExtendedAgentCardRequest,
    GetTaskPushNotificationConfigRequest,
    GetTaskRequest,
    ListTaskPushNotificationConfigsRequest,
    ListTasksRequest,
    Role,
    SendMessageRequest,
    SubscribeToTaskRequest,
    TaskPushNotificationConfig,
    TaskState,
)
from a2a.utils.errors import TaskNotFoundError
from support.clients import retire_cards, wait_for_cards
from support.processes import FAUST, TESTS, WorkerProcess
from support.records import RawPeer, header, jsonrpc, user_message
from support.slow_agent import EXTENDED_SKILL
from support.tokens import AUTH_ENV, mint, unsigned

from app.auth import AUTHENTICATION_ERROR_CODE, AuthenticationError
from app.transport import kafka_client_factory

pytestmark = pytest.mark.kafka

PREFIX = f"a{uuid.uuid4().hex[:6]}-"
ALICE, BOB = f"Bearer {mint('alice')}", f"Bearer {mint('bob')}"


def _name(agent: str) -> str:
    return f"{PREFIX}{agent}"


@pytest.fixture(scope="module")
def auth_worker(
    bootstrap_servers: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WorkerProcess]:
    """One worker hosting ``<prefix>data|cs|balance|slow`` with authentication on."""
    base: Path = tmp_path_factory.mktemp("auth-worker")
    process = WorkerProcess(
        "support.auth_app",
        bootstrap_servers=bootstrap_servers,
        app_id=f"{PREFIX}app",
        datadir=base / "data",
        log_path=base / "worker.log",
        env={"TEST_AGENT_PREFIX": PREFIX, **AUTH_ENV},
    )
    process.start()
    names = {_name(n) for n in ("data", "cs", "balance", "slow")}
    asyncio.run(wait_for_cards(bootstrap_servers, names))
    yield process
    process.stop()
    asyncio.run(retire_cards(bootstrap_servers, names))


@pytest.fixture
async def cards(auth_worker: WorkerProcess, bootstrap_servers: str) -> dict[str, AgentCard]:
    return await wait_for_cards(bootstrap_servers, {_name("data"), _name("slow")})


@pytest.fixture
async def client(cards: dict[str, AgentCard]) -> AsyncIterator[Any]:
    """``client(agent, streaming=False)`` → an a2a-sdk Client, closed after the test."""
    clients: list[Client] = []

    def make(agent: str, streaming: bool = False, polling: bool = False) -> Client:
        config = ClientConfig(streaming=streaming, polling=polling)
        made = kafka_client_factory(config).create(cards[_name(agent)])
        clients.append(made)
        return made

    yield make
    for made in clients:
        await made.close()


def _as(authorization: str) -> ClientCallContext:
    return ClientCallContext(service_parameters={"authorization": authorization})


def _ask(text: str, **ids: str) -> SendMessageRequest:
    return SendMessageRequest(message=new_text_message(text, role=Role.ROLE_USER, **ids))


async def _task(client: Client, text: str, authorization: str, **ids: str) -> Any:
    events = [e async for e in client.send_message(_ask(text, **ids), context=_as(authorization))]
    return events[-1].task


def _faust(worker: WorkerProcess, *args: str, env: dict[str, str] | None = None) -> Any:
    return subprocess.run(
        [str(FAUST), "-A", "support.auth_app", *args],
        cwd=TESTS,
        env={**worker.env, **(env or {})},
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )


def _get(worker: WorkerProcess, path: str, authorization: str | None) -> tuple[int, Any, Any]:
    """``GET path`` with an optional ``Authorization``: (status, JSON body, headers)."""
    request = urllib.request.Request(worker.url + path)
    if authorization:
        request.add_header("Authorization", authorization)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read()), response.headers
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read()), error.headers


def test_worker_says_authentication_is_on(auth_worker: WorkerProcess) -> None:
    log = auth_worker.log_path.read_text(errors="replace")
    assert "caller authentication is on: bearer JWT, algorithms HS256" in log


async def test_cards_declare_bearer_jwt(cards: dict[str, AgentCard]) -> None:
    card = cards[_name("data")]
    scheme = card.security_schemes["bearer"].http_auth_security_scheme
    assert (scheme.scheme, scheme.bearer_format) == ("Bearer", "JWT")
    assert list(card.security_requirements[0].schemes) == ["bearer"]


def test_cli_ask_needs_a_valid_token_and_task_is_per_owner(auth_worker: WorkerProcess) -> None:
    data = _name("data")
    refused = _faust(auth_worker, "ask", data, "Terran win rate")
    assert refused.returncode == 1
    assert "Authentication required: no bearer token" in refused.stderr
    assert "Traceback" not in refused.stderr

    expired = mint("alice", expires_in=-3600)
    late = _faust(auth_worker, "ask", data, "Terran win rate", env={"A2A_TOKEN": expired})
    assert late.returncode == 1
    assert "token expired" in late.stderr

    answered = _faust(auth_worker, "ask", data, "Terran win rate", "--token", mint("alice"))
    assert answered.returncode == 0, answered.stderr
    assert "Terran win rate: 53.9%" in answered.stdout
    task_id = re.search(r"task id:\s+(\S+)", answered.stdout)
    assert task_id is not None

    for_bob = _faust(auth_worker, "task", task_id.group(1), "--agent", data, "--token", mint("bob"))
    assert for_bob.returncode == 1
    assert f"task {task_id.group(1)} not found" in for_bob.stderr
    for_alice = _faust(
        auth_worker, "task", task_id.group(1), "--agent", data, env={"A2A_TOKEN": mint("alice")}
    )
    assert for_alice.returncode == 0, for_alice.stderr
    assert '"TASK_STATE_COMPLETED"' in for_alice.stdout


async def test_client_gets_the_challenge(client: Any) -> None:
    with pytest.raises(AuthenticationError) as caught:
        await _task(client("data"), "Zerg win rate", f"Bearer {mint('alice', expires_in=-60)}")
    assert caught.value.message == "token expired"
    assert 'error="invalid_token"' in caught.value.challenge


async def test_another_owners_task_is_not_found(client: Any) -> None:
    data = client("data")
    task = await _task(data, "Protoss win rate", ALICE)
    assert task.status.state == TaskState.TASK_STATE_COMPLETED
    mine = await data.get_task(GetTaskRequest(id=task.id), context=_as(ALICE))
    assert mine.id == task.id
    config = TaskPushNotificationConfig(task_id=task.id, id="hook", url="http://127.0.0.1:9/x")
    await data.create_task_push_notification_config(config, context=_as(ALICE))
    calls = {
        "GetTask": data.get_task(GetTaskRequest(id=task.id), context=_as(BOB)),
        "CancelTask": data.cancel_task(CancelTaskRequest(id=task.id), context=_as(BOB)),
        "CreatePush": data.create_task_push_notification_config(config, context=_as(BOB)),
        "GetPush": data.get_task_push_notification_config(
            GetTaskPushNotificationConfigRequest(task_id=task.id, id="hook"), context=_as(BOB)
        ),
        "ListPush": data.list_task_push_notification_configs(
            ListTaskPushNotificationConfigsRequest(task_id=task.id), context=_as(BOB)
        ),
    }
    calls["SendMessage to the task"] = _task(data, "Zerg win rate", BOB, task_id=task.id)
    for name, call in calls.items():
        with pytest.raises(TaskNotFoundError):
            await call
            pytest.fail(f"{name} of another owner's task succeeded")
    listed = await data.list_task_push_notification_configs(
        ListTaskPushNotificationConfigsRequest(task_id=task.id), context=_as(ALICE)
    )
    assert [c.id for c in listed.configs] == ["hook"]


async def test_cancel_and_subscribe_of_a_running_task_of_another_owner(client: Any) -> None:
    poller = client("slow", polling=True)  # return_immediately
    task_id = (await _task(poller, "25", ALICE)).id
    slow = client("slow", streaming=True)
    with pytest.raises(TaskNotFoundError):
        await slow.cancel_task(CancelTaskRequest(id=task_id), context=_as(BOB))
    with pytest.raises(TaskNotFoundError):
        async for _ in slow.subscribe(SubscribeToTaskRequest(id=task_id), context=_as(BOB)):
            pytest.fail("another owner received an event")
    canceled = await slow.cancel_task(CancelTaskRequest(id=task_id), context=_as(ALICE))
    assert canceled.status.state == TaskState.TASK_STATE_CANCELED


async def test_list_tasks_shows_only_the_callers_tasks(client: Any) -> None:
    data = client("data")
    carol, dave = f"Bearer {mint('carol')}", f"Bearer {mint('dave')}"
    context_id = uuid.uuid4().hex
    carols = await _task(data, "Terran win rate", carol, context_id=context_id)
    daves = await _task(data, "Zerg win rate", dave, context_id=context_id)
    for_dave = await data.list_tasks(ListTasksRequest(), context=_as(dave))
    assert [t.id for t in for_dave.tasks] == [daves.id]
    in_context = await data.list_tasks(ListTasksRequest(context_id=context_id), context=_as(carol))
    assert [t.id for t in in_context.tasks] == [carols.id]


async def test_extended_card_needs_authentication(client: Any, cards: dict[str, AgentCard]) -> None:
    slow = client("slow")
    assert EXTENDED_SKILL.id not in [s.id for s in cards[_name("slow")].skills]
    with pytest.raises(AuthenticationError):
        await slow.get_extended_agent_card(GetExtendedAgentCardRequest())
    card = await slow.get_extended_agent_card(GetExtendedAgentCardRequest(), context=_as(ALICE))
    assert EXTENDED_SKILL.id in [s.id for s in card.skills]


async def test_views_ask_for_the_bearer_token(client: Any, auth_worker: WorkerProcess) -> None:
    context_id = uuid.uuid4().hex
    task = await _task(client("data"), "Terran win rate", ALICE, context_id=context_id)
    for path in (f"/tasks/{task.id}", f"/contexts/{context_id}"):
        status, body, headers = _get(auth_worker, path, None)
        assert status == 401, body
        assert headers["WWW-Authenticate"].startswith('Bearer realm="faust-a2a"')
        status, body, _ = _get(auth_worker, path, f"Bearer {mint('alice', expires_in=-60)}")
        assert status == 401
        assert 'error="invalid_token"' in _get(auth_worker, path, "Bearer x")[2]["WWW-Authenticate"]
        assert _get(auth_worker, path, BOB)[0] == 404
        status, body, _ = _get(auth_worker, path, ALICE)
        assert status == 200, body
    assert _get(auth_worker, f"/tasks/{task.id}", ALICE)[1]["task"]["id"] == task.id


async def test_balance_forwards_the_callers_token_to_its_peers(client: Any) -> None:
    erin = f"Bearer {mint('erin')}"
    task = await _task(client("balance"), "Is Terran too strong?", erin)
    assert task.status.state == TaskState.TASK_STATE_COMPLETED, task.status
    assert "Terran" in get_artifact_text(task.artifacts[0])
    # The peers' tasks belong to the same caller: erin sees them, nobody else does.
    for peer in ("data", "cs"):
        listed = await client(peer).list_tasks(ListTasksRequest(), context=_as(erin))
        assert len(listed.tasks) == 1, peer
        others = await client(peer).list_tasks(ListTasksRequest(), context=_as(BOB))
        assert all(t.id != listed.tasks[0].id for t in others.tasks)


REQUESTS, RESPONSES, DLQ = (
    f"agent.{PREFIX}data.{kind}" for kind in ("requests", "responses", "dlq")
)


@pytest.fixture
async def peer(auth_worker: WorkerProcess, bootstrap_servers: str) -> AsyncIterator[RawPeer]:
    raw = await RawPeer(bootstrap_servers, RESPONSES, DLQ).start()
    yield raw
    await raw.stop()


def _reply_to(correlation_id: str, topic: str = RESPONSES) -> Any:
    return lambda r: r.topic == topic and header(r, "correlation-id") == correlation_id


def _headers(authorization: bytes | None) -> list[tuple[str, bytes]]:
    base = [("a2a-version", b"1.0")]
    return base if authorization is None else [*base, ("authorization", authorization)]


BAD_TOKENS: dict[str, bytes | None] = {
    "none": None,
    "not a JWT": b"Bearer not.a-jwt",
    "wrong key": f"Bearer {mint('alice', key='another-secret-of-sufficient-length!!')}".encode(),
    "alg none": f"Bearer {unsigned('alice')}".encode(),
    "other audience": f"Bearer {mint('alice', aud='someone-else')}".encode(),
    "10,000 characters": b"Bearer " + b"a" * 10_000,
    "non-ASCII": "Bearer jéton".encode(),
    "not UTF-8": b"Bearer \xff\xfe",
}


async def _good_request_is_answered(peer: RawPeer) -> None:
    context_id = uuid.uuid4().hex
    value = jsonrpc(
        "SendMessage", {"message": user_message("Terran win rate", contextId=context_id)}
    )
    await peer.send(
        REQUESTS,
        value,
        key=context_id.encode(),
        correlation_id=context_id,
        headers=_headers(ALICE.encode()),
    )
    answer = json.loads((await peer.wait_for(_reply_to(context_id), timeout=60)).value)
    assert answer["result"]["task"]["status"]["state"] == "TASK_STATE_COMPLETED"


@pytest.mark.parametrize("case", sorted(BAD_TOKENS))
async def test_bad_token_is_answered_not_dead_lettered(peer: RawPeer, case: str) -> None:
    correlation_id = context_id = uuid.uuid4().hex
    value = jsonrpc("SendMessage", {"message": user_message("Zerg win rate", contextId=context_id)})
    await peer.send(
        REQUESTS,
        value,
        key=context_id.encode(),
        correlation_id=correlation_id,
        headers=_headers(BAD_TOKENS[case]),
    )
    reply = await peer.wait_for(_reply_to(correlation_id), timeout=60)
    assert header(reply, "a2a-final") == "1"
    error = json.loads(reply.value)["error"]
    assert error["code"] == AUTHENTICATION_ERROR_CODE
    assert error["data"][0]["metadata"]["www-authenticate"].startswith("Bearer realm=")
    await _good_request_is_answered(peer)
    with pytest.raises(TimeoutError):
        await peer.wait_for(_reply_to(correlation_id, DLQ), timeout=1.5)


async def test_dead_letters_carry_no_credentials(peer: RawPeer) -> None:
    token = ALICE.encode()
    bad_params = jsonrpc("GetTask", {"id": {"nested": "object"}})
    for value in (b"\xff not json", bad_params):
        correlation_id = uuid.uuid4().hex
        await peer.send(
            REQUESTS,
            value,
            key=b"bad-input",
            correlation_id=correlation_id,
            headers=_headers(token),
        )
        dead = await peer.wait_for(_reply_to(correlation_id, DLQ), timeout=60)
        assert dead.value == value
        assert header(dead, "dlq-reason")
        assert header(dead, "a2a-version") == "1.0"
        names = [name.lower() for name, _ in dead.headers]
        assert "authorization" not in names
        assert all(token not in raw for _, raw in dead.headers)


async def test_another_owners_message_id_never_reaches_the_first_owners_task(
    peer: RawPeer,
) -> None:
    context_id = uuid.uuid4().hex
    value = jsonrpc(
        "SendMessage", {"message": user_message("Protoss win rate", contextId=context_id)}
    )
    answers = {}
    for who, authorization in (("alice", ALICE), ("bob", BOB), ("alice again", ALICE)):
        correlation_id = uuid.uuid4().hex
        await peer.send(
            REQUESTS,
            value,
            key=context_id.encode(),
            correlation_id=correlation_id,
            headers=_headers(authorization.encode()),
        )
        reply = await peer.wait_for(_reply_to(correlation_id), timeout=60)
        answers[who] = json.loads(reply.value)["result"]["task"]["id"]
    assert answers["bob"] != answers["alice"], "bob's messageId reached alice's task"
    assert answers["alice again"] == answers["alice"], "a redelivery is still recognised"


def test_worker_log_holds_no_credentials(auth_worker: WorkerProcess) -> None:
    """Runs last in this module: after every call above, no token reached the log."""
    log = auth_worker.log_path.read_text(errors="replace")
    assert "refused: token expired" in log, "refusals are logged, by reason"
    sent = [ALICE, BOB, *(t.decode(errors="replace") for t in BAD_TOKENS.values() if t)]
    for token in (t.removeprefix("Bearer ")[:60] for t in sent):
        assert len(token) < 8 or token not in log

"""Continuing a task turn by turn (A2A 1.0 §3.4), and a task whose executor fails.

The ``turns`` agent answers ``input-required`` until told ``done``; follow-ups name only
the ``taskId``, so the server must take the context from the task.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from a2a.client import Client
from a2a.helpers import get_message_text, new_text_message
from a2a.types import (
    GetTaskRequest,
    ListTasksRequest,
    Role,
    SendMessageConfiguration,
    SendMessageRequest,
    StreamResponse,
    Task,
    TaskState,
)
from a2a.utils.errors import A2AError, InvalidParamsError
from support.clients import Connect
from support.processes import ROOT, TESTS
from support.turns_agent import CRASH

pytestmark = pytest.mark.kafka


async def _send(client: Client, text: str, history_length: int | None = None, **ids: str) -> Task:
    """Sends one message and returns the task as the last event reports it."""
    configuration = SendMessageConfiguration()
    if history_length is not None:
        configuration.history_length = history_length
    request = SendMessageRequest(
        message=new_text_message(text, role=Role.ROLE_USER, **ids), configuration=configuration
    )
    events: list[StreamResponse] = [e async for e in client.send_message(request)]
    last = events[-1]
    if last.HasField("task"):
        return last.task
    update = last.status_update
    return Task(id=update.task_id, context_id=update.context_id, status=update.status)


def _user_texts(task: Task) -> list[str]:
    return [get_message_text(m) for m in task.history if m.role == Role.ROLE_USER]


@pytest.mark.parametrize("streaming", [False, True], ids=["unary", "streaming"])
async def test_five_follow_ups_by_task_id_alone_keep_every_message(
    connect: Connect, streaming: bool
) -> None:
    client = connect("turns", streaming=streaming)
    first = await _send(client, "first")
    assert first.status.state == TaskState.TASK_STATE_INPUT_REQUIRED
    for turn in range(1, 6):
        follow_up = await _send(client, f"hist {turn}", task_id=first.id)
        assert follow_up.id == first.id
        assert follow_up.context_id == first.context_id
        assert follow_up.status.state == TaskState.TASK_STATE_INPUT_REQUIRED
    done = await _send(client, "done", task_id=first.id)
    assert done.status.state == TaskState.TASK_STATE_COMPLETED
    assert get_message_text(done.status.message) == "finished after 7 turns"

    task = await client.get_task(GetTaskRequest(id=first.id))
    assert _user_texts(task) == ["first", *(f"hist {n}" for n in range(1, 6)), "done"]
    # Every agent answer is kept too, each right after the message it answered.
    texts = [get_message_text(m) for m in task.history]
    assert texts[:4] == ["first", "got first", "hist 1", "got hist 1"]
    assert texts[-2:] == ["got hist 5", "done"]
    limited = await client.get_task(GetTaskRequest(id=first.id, history_length=3))
    assert [get_message_text(m) for m in limited.history] == texts[-3:]


async def test_history_length_on_a_follow_up(connect: Connect) -> None:
    client = connect("turns", streaming=False)
    first = await _send(client, "first")
    none = await _send(client, "second", history_length=0, task_id=first.id)
    assert list(none.history) == []
    two = await _send(client, "third", history_length=2, task_id=first.id)
    assert [get_message_text(m) for m in two.history] == ["got second", "third"]


async def test_a_context_id_that_contradicts_the_task_is_refused(connect: Connect) -> None:
    client = connect("turns", streaming=False)
    first = await _send(client, "first")
    with pytest.raises(A2AError) as raised:
        await _send(client, "second", task_id=first.id, context_id="not-the-tasks-context")
    assert isinstance(raised.value, InvalidParamsError)
    task = await client.get_task(GetTaskRequest(id=first.id))
    assert _user_texts(task) == ["first"]


@pytest.mark.parametrize("streaming", [False, True], ids=["unary", "streaming"])
async def test_an_executor_that_raises_fails_its_task(connect: Connect, streaming: bool) -> None:
    client = connect("faulty", streaming=streaming)
    context_id = uuid.uuid4().hex
    message = new_text_message("go", role=Role.ROLE_USER, context_id=context_id)
    with pytest.raises(A2AError) as raised:
        async for _ in client.send_message(SendMessageRequest(message=message)):
            pass
    assert CRASH in str(raised.value)
    (task,) = (await client.list_tasks(ListTasksRequest(context_id=context_id))).tasks
    assert task.status.state == TaskState.TASK_STATE_FAILED
    assert get_message_text(task.status.message) == CRASH
    # The worker carries on.
    turns = connect("turns", streaming=False)
    assert (await _send(turns, "still there?")).status.state == TaskState.TASK_STATE_INPUT_REQUIRED


def test_cli_continues_a_waiting_task_by_context_id(worker, bootstrap_servers: str) -> None:  # type: ignore[no-untyped-def]
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap_servers,
        "PYTHONPATH": os.pathsep.join([str(TESTS), str(ROOT)]),
        "FAUST_A2A_DATADIR": str(Path(worker.datadir).parent / "cli"),
    }
    faust = [str(Path(sys.executable).parent / "faust"), "-A", "support.worker_app"]

    def ask(*args: str) -> dict[str, str]:
        done = subprocess.run(
            [*faust, "ask", "turns", *args], env=env, cwd=TESTS, capture_output=True, timeout=120
        )
        assert done.returncode == 0, done.stderr.decode()
        lines = done.stdout.decode().splitlines()
        return dict(
            (key.strip(), value.strip())
            for key, _, value in (line.partition(":") for line in lines)
            if key.strip() in ("task id", "context id", "state")
        )

    first = ask("first")
    assert first["state"] == "input-required"
    second = ask("done", "--context-id", first["context id"])
    assert second["task id"] == first["task id"]
    assert second["state"] == "completed"

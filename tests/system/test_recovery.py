"""Tasks outlive the worker that ran them: orphans after SIGKILL, hand-over on rebalance.

Real workers (``support.cluster_app``) on the real broker, killed and started by PID.
The ``slow`` agent streams N ticks 0.2 s apart; its recovery policy comes from
``TEST_SLOW_RECOVERY``.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Callable

import pytest
from a2a.client import Client
from a2a.helpers import get_artifact_text, get_message_text, new_text_message
from a2a.types import (
    GetTaskRequest,
    Role,
    SendMessageConfiguration,
    SendMessageRequest,
    StreamResponse,
    SubscribeToTaskRequest,
    TaskState,
)
from support.cluster import Cluster

from app.handler import ORPHAN_MESSAGE

pytestmark = pytest.mark.kafka


def _state(event: StreamResponse) -> int:
    if event.HasField("task"):
        return event.task.status.state
    if event.HasField("status_update"):
        return event.status_update.status.state
    return TaskState.TASK_STATE_UNSPECIFIED


async def _stream_until_ticks(
    client: Client, ticks: int, seen: list[StreamResponse], started: asyncio.Event
) -> None:
    """Streams a ``slow`` task of ``ticks`` ticks into ``seen``; sets ``started`` at tick 3."""
    message = new_text_message(str(ticks), role=Role.ROLE_USER)
    async for event in client.send_message(SendMessageRequest(message=message)):
        seen.append(event)
        if event.HasField("artifact_update") and "tick 2" in get_artifact_text(
            event.artifact_update.artifact
        ):
            started.set()


def _wait_healthy(workers: list, timeout: float = 90.0) -> None:  # type: ignore[type-arg]
    deadline = time.monotonic() + timeout
    while any(w.get("/health")[0] != 200 for w in workers):
        assert time.monotonic() < deadline, [w.log_tail(5) for w in workers]
        time.sleep(0.5)


@pytest.mark.parametrize("recovery", ["fail", "rerun"])
async def test_a_killed_workers_task_is_ended_or_run_again_and_the_caller_told(
    make_cluster: Callable[..., Cluster], recovery: str
) -> None:
    cluster = make_cluster(env={"TEST_SLOW_RECOVERY": recovery})
    worker = cluster.start_worker()
    client = await cluster.client("slow", timeout=120.0, streaming=True)
    seen: list[StreamResponse] = []
    started = asyncio.Event()
    call = asyncio.create_task(_stream_until_ticks(client, 25, seen, started))
    await asyncio.wait_for(started.wait(), 60)
    task_id = next(e.task.id for e in seen if e.HasField("task"))

    worker.stop(signal.SIGKILL)
    cluster.start_worker(0)
    await asyncio.wait_for(call, 120)

    stored = await client.get_task(GetTaskRequest(id=task_id))
    # The caller's last word is the stored state: nothing it was told is taken back.
    assert _state(seen[-1]) == stored.status.state
    if recovery == "fail":
        assert stored.status.state == TaskState.TASK_STATE_FAILED
        assert get_message_text(stored.status.message) == ORPHAN_MESSAGE
    else:
        assert stored.status.state == TaskState.TASK_STATE_COMPLETED
        assert get_artifact_text(stored.artifacts[0]).endswith("tick 24")


async def test_subscribe_on_the_new_owner_follows_the_task(
    make_cluster: Callable[..., Cluster],
) -> None:
    cluster = make_cluster(env={"TEST_SLOW_RECOVERY": "rerun"})
    first = cluster.start_worker()
    client = await cluster.client("slow", timeout=120.0, streaming=False)
    request = SendMessageRequest(
        message=new_text_message("40", role=Role.ROLE_USER),
        configuration=SendMessageConfiguration(return_immediately=True),
    )
    (answer,) = [e async for e in client.send_message(request)]
    task_id = answer.task.id
    await asyncio.sleep(4)  # the request's offset is committed: it is not redelivered

    first.stop(signal.SIGKILL)
    second = cluster.start_worker()
    _wait_healthy([second])
    subscriber = await cluster.client("slow", timeout=120.0, streaming=True)
    events = [e async for e in subscriber.subscribe(SubscribeToTaskRequest(id=task_id))]

    assert events[0].HasField("task")
    assert len(events) > 1, "a subscriber gets the task's further events, not only a snapshot"
    assert _state(events[-1]) == TaskState.TASK_STATE_COMPLETED
    stored = await client.get_task(GetTaskRequest(id=task_id))
    assert stored.status.state == TaskState.TASK_STATE_COMPLETED


async def test_a_rebalance_stops_executions_past_the_bound_and_the_new_owner_reruns_them(
    make_cluster: Callable[..., Cluster],
) -> None:
    cluster = make_cluster(env={"TEST_SLOW_RECOVERY": "rerun", "FAUST_A2A_HANDOVER_TIMEOUT": "1"})
    first = cluster.start_worker()
    client = await cluster.client("slow", timeout=200.0, streaming=True)
    seen: list[StreamResponse] = []
    started = asyncio.Event()
    ticks = 150  # 30 s: still running when the second worker joins
    call = asyncio.create_task(_stream_until_ticks(client, ticks, seen, started))
    await asyncio.wait_for(started.wait(), 60)
    task_id = next(e.task.id for e in seen if e.HasField("task"))

    second = cluster.start_worker()  # the group rebalances: every partition is revoked
    _wait_healthy([first, second])
    await asyncio.wait_for(call, 200)

    assert _state(seen[-1]) == TaskState.TASK_STATE_COMPLETED
    stored = await client.get_task(GetTaskRequest(id=task_id))
    assert stored.status.state == TaskState.TASK_STATE_COMPLETED
    assert get_artifact_text(stored.artifacts[0]).endswith(f"tick {ticks - 1}")
    handed = [
        line
        for line in first.log_path.read_text(errors="replace").splitlines()
        if "hand-over of partitions" in line
    ]
    assert any("0 executions finished, 1 stopped" in line for line in handed), handed


async def test_sigterm_lets_running_executions_finish_within_the_bound(
    make_cluster: Callable[..., Cluster],
) -> None:
    cluster = make_cluster(env={"FAUST_A2A_HANDOVER_TIMEOUT": "15"})
    workers = [cluster.start_worker(), cluster.start_worker()]
    _wait_healthy(workers)
    client = await cluster.client("slow", timeout=120.0, streaming=True)
    seen: list[StreamResponse] = []
    started = asyncio.Event()
    call = asyncio.create_task(_stream_until_ticks(client, 30, seen, started))
    await asyncio.wait_for(started.wait(), 60)
    task_id = next(e.task.id for e in seen if e.HasField("task"))
    _, view = workers[0].get(f"/tasks/{task_id}")
    owner = next(w for w in workers if w.url == view["owner"])

    owner.stop(signal.SIGTERM, timeout=60)
    await asyncio.wait_for(call, 120)

    assert _state(seen[-1]) == TaskState.TASK_STATE_COMPLETED
    stored = await client.get_task(GetTaskRequest(id=task_id))
    assert stored.status.state == TaskState.TASK_STATE_COMPLETED
    assert get_artifact_text(stored.artifacts[0]).endswith("tick 29")
    handed = [
        line
        for line in owner.log_path.read_text(errors="replace").splitlines()
        if "hand-over of partitions" in line
    ]
    assert any("1 executions finished, 0 stopped" in line for line in handed), handed

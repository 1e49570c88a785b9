"""A2A state across real worker processes: restarts, scale-out, listing, cancel.

Every test runs its own workers (``support.cluster_app``) on its own topics, with
RocksDB tables on disk and 8 partitions.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Callable

import pytest
from a2a.client import Client
from a2a.helpers import get_artifact_text, new_text_message
from a2a.types import (
    CancelTaskRequest,
    GetTaskRequest,
    ListTasksRequest,
    Role,
    SendMessageRequest,
    SubscribeToTaskRequest,
    Task,
    TaskState,
)
from a2a.utils.errors import TaskNotFoundError
from support.cluster import Cluster
from support.dataset import win_rate_line
from support.processes import WorkerProcess

pytestmark = pytest.mark.kafka

RACES = ("Terran", "Zerg", "Protoss")


async def send(client: Client, text: str, **ids: str) -> Task:
    """Sends a message (unary client) and returns the task it ended in."""
    request = SendMessageRequest(message=new_text_message(text, role=Role.ROLE_USER, **ids))
    (event,) = [e async for e in client.send_message(request)]
    return event.task


def start_two_workers(cluster: Cluster, timeout: float = 60.0) -> list[WorkerProcess]:
    """Starts two workers and waits until both say ready after their rebalance."""
    workers = [cluster.start_worker(), cluster.start_worker()]
    deadline = time.monotonic() + timeout
    while any(w.get("/health")[0] != 200 for w in workers):
        assert time.monotonic() < deadline, [w.log_tail(5) for w in workers]
        time.sleep(0.5)
    return workers


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
async def test_restart_keeps_tasks_and_conversations(
    make_cluster: Callable[..., Cluster], sig: signal.Signals
) -> None:
    cluster = make_cluster()
    worker = cluster.start_worker()
    client = await cluster.client("data", streaming=False)
    first = await send(client, "What is the win rate?")
    assert first.status.state == TaskState.TASK_STATE_INPUT_REQUIRED
    done = await send(client, "Terran", context_id=first.context_id, task_id=first.id)
    assert done.status.state == TaskState.TASK_STATE_COMPLETED
    before = await client.get_task(GetTaskRequest(id=done.id))

    worker.stop(sig)
    worker = cluster.start_worker(0)

    after = await client.get_task(GetTaskRequest(id=done.id))
    assert after.SerializeToString(deterministic=True) == before.SerializeToString(
        deterministic=True
    )
    status, body = worker.get(f"/tasks/{done.id}")
    assert status == 200
    assert body["task"]["status"]["state"] == "TASK_STATE_COMPLETED"
    # The conversation goes on in the same context, with its history.
    follow_up = await send(client, "What is the win rate?", context_id=first.context_id)
    assert follow_up.status.state == TaskState.TASK_STATE_INPUT_REQUIRED
    last = await send(client, "Zerg", context_id=first.context_id)
    assert get_artifact_text(last.artifacts[0]) == win_rate_line("Zerg")
    status, body = worker.get(f"/contexts/{first.context_id}")
    assert status == 200
    assert len(body["conversations"][0]["tasks"]) == 3


async def test_two_workers_200_conversations_of_3_turns(
    make_cluster: Callable[..., Cluster],
) -> None:
    cluster = make_cluster()
    start_two_workers(cluster)
    client = await cluster.client("data", streaming=False)

    async def conversation(i: int) -> list[Task]:
        race = RACES[i % 3]
        asked = await send(client, "What is the win rate?")
        answered = await send(client, race, context_id=asked.context_id)
        third = await send(client, f"{RACES[(i + 1) % 3]} win rate", context_id=asked.context_id)
        assert asked.status.state == TaskState.TASK_STATE_INPUT_REQUIRED
        # The follow-up needs the first turn's question: it lands where that task is.
        assert get_artifact_text(answered.artifacts[0]) == win_rate_line(race)
        assert get_artifact_text(third.artifacts[0]) == win_rate_line(RACES[(i + 1) % 3])
        return [asked, answered, third]

    conversations = await asyncio.gather(*(conversation(i) for i in range(200)))
    owners: set[str] = set()
    for tasks in conversations:
        for task in tasks:
            for worker in cluster.workers:
                status, body = worker.get(f"/tasks/{task.id}")
                assert status == 200, body
                assert body["task"]["id"] == task.id
                owners.add(body["owner"])
    assert len(owners) == 2, "both workers own conversations"


async def test_list_tasks_with_two_workers_returns_each_task_once(
    make_cluster: Callable[..., Cluster],
) -> None:
    cluster = make_cluster()
    start_two_workers(cluster)
    client = await cluster.client("data", streaming=False)
    created = await asyncio.gather(*(send(client, f"{RACES[i % 3]} win rate") for i in range(30)))
    seen: list[str] = []
    token = ""
    for _ in range(10):
        page = await client.list_tasks(ListTasksRequest(page_size=7, page_token=token))
        assert page.total_size == 30
        seen += [task.id for task in page.tasks]
        token = page.next_page_token
        if not token:
            break
    assert sorted(seen) == sorted(task.id for task in created)


async def test_cancel_and_subscribe_reach_the_worker_running_the_task(
    make_cluster: Callable[..., Cluster],
) -> None:
    cluster = make_cluster()
    start_two_workers(cluster)
    starter = await cluster.client("slow", streaming=False, polling=True)
    watcher = await cluster.client("slow")
    started = await asyncio.gather(*(send(starter, "100") for _ in range(8)))
    for task in started:
        stream = watcher.subscribe(SubscribeToTaskRequest(id=task.id))
        snapshot = await anext(stream)
        assert snapshot.task.id == task.id
        tick = await anext(stream)
        assert tick.HasField("artifact_update") or tick.HasField("status_update")
        await stream.aclose()
        canceled = await watcher.cancel_task(CancelTaskRequest(id=task.id))
        assert canceled.status.state == TaskState.TASK_STATE_CANCELED


@pytest.mark.parametrize("standby", ["0", "1"], ids=["no-standby", "standby-replica"])
async def test_failover_to_the_surviving_worker(
    make_cluster: Callable[..., Cluster],
    standby: str,
    record_property: Callable[[str, object], None],
) -> None:
    cluster = make_cluster(env={"FAUST_A2A_STANDBY_REPLICAS": standby})
    _, victim = start_two_workers(cluster)
    client = await cluster.client("data", streaming=False)
    waiting = await asyncio.gather(*(send(client, "What is the win rate?") for _ in range(40)))
    owned_by_victim = [
        task for task in waiting if victim.url in victim.get(f"/tasks/{task.id}")[1]["owner"]
    ]
    assert owned_by_victim, "the victim owns some conversations"

    killed_at = time.monotonic()
    victim.stop(signal.SIGKILL)
    await client.get_task(GetTaskRequest(id=owned_by_victim[0].id))
    record_property("takeover_seconds", round(time.monotonic() - killed_at, 2))

    for i, task in enumerate(waiting):
        fetched = await client.get_task(GetTaskRequest(id=task.id))
        assert fetched.status.state == TaskState.TASK_STATE_INPUT_REQUIRED
        race = RACES[i % 3]
        done = await send(client, race, context_id=task.context_id, task_id=task.id)
        assert get_artifact_text(done.artifacts[0]) == win_rate_line(race)


async def test_finished_tasks_expire_after_the_retention(
    make_cluster: Callable[..., Cluster],
) -> None:
    cluster = make_cluster(env={"FAUST_A2A_TASK_RETENTION": "2"})
    worker = cluster.start_worker()
    client = await cluster.client("data", streaming=False)
    waiting = await send(client, "What is the win rate?")
    finished = await send(client, "Zerg win rate", context_id=waiting.context_id)
    assert finished.status.state == TaskState.TASK_STATE_COMPLETED
    deadline = time.monotonic() + 30
    while worker.get(f"/tasks/{finished.id}")[0] != 404:
        assert time.monotonic() < deadline, "the finished task was not deleted"
        await asyncio.sleep(0.5)
    with pytest.raises(TaskNotFoundError):
        await client.get_task(GetTaskRequest(id=finished.id))
    assert (await client.get_task(GetTaskRequest(id=waiting.id))).id == waiting.id
    status, body = worker.get(f"/contexts/{waiting.context_id}")
    assert status == 200
    assert [t["id"] for t in body["conversations"][0]["tasks"]] == [waiting.id]

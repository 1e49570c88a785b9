"""Standby replicas (``FAUST_A2A_STANDBY_REPLICAS=1``): what the README promises of them.

A standby is a warm copy of another worker's table partitions, kept from the
changelog. The test reads the standby worker's own RocksDB files (read-only, after a
clean stop) before the owner is killed, then kills the owner and checks that the
standby takes its conversations over.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from a2a.client import Client
from a2a.helpers import get_artifact_text, new_text_message
from a2a.types import GetTaskRequest, Role, SendMessageRequest, Task, TaskState
from rocksdict import AccessType, Options, Rdict
from support.cluster import Cluster
from support.dataset import win_rate_line

from app.binding import partition_for

pytestmark = pytest.mark.kafka

PARTITIONS = 8
RACES = ("Terran", "Zerg", "Protoss")


async def send(client: Client, text: str, **ids: str) -> Task:
    """Sends a message (unary client) and returns the task it ended in."""
    request = SendMessageRequest(message=new_text_message(text, role=Role.ROLE_USER, **ids))
    (event,) = [e async for e in client.send_message(request)]
    return event.task


def stored_tasks(datadir: Path, partition: int) -> dict[str, Task]:
    """The tasks in a worker's ``tasks`` table files of ``partition``, by id, read-only.

    Faust keeps one RocksDB per table partition (``…/tasks-<partition>.db``): raw keys
    (``<agent>/…<task id>``) → the serialized Task, beside Faust's own offset key.
    """
    found: dict[str, Task] = {}
    for path in datadir.rglob(f"tasks-{partition}.db"):
        db = Rdict(str(path), Options(raw_mode=True), access_type=AccessType.read_only())
        try:
            for key, value in db.items():
                if isinstance(key, bytes) and b"/" in key:
                    task = Task()
                    task.ParseFromString(value)
                    found[task.id] = task
        finally:
            db.close()
    return found


async def test_standby_holds_the_tables_before_takeover(
    make_cluster: Callable[..., Cluster], record_property: Callable[[str, object], None]
) -> None:
    cluster = make_cluster(env={"FAUST_A2A_STANDBY_REPLICAS": "1"})
    workers = [cluster.start_worker(), cluster.start_worker()]
    deadline = time.monotonic() + 90
    while any(w.get("/health")[0] != 200 for w in workers):
        assert time.monotonic() < deadline, [w.log_tail(5) for w in workers]
        await asyncio.sleep(0.5)
    survivor, victim = workers
    client = await cluster.client("data", streaming=False)
    waiting = await asyncio.gather(*(send(client, "What is the win rate?") for _ in range(24)))
    owners = {task.id: victim.get(f"/tasks/{task.id}")[1]["owner"] for task in waiting}
    on_victim = [task for task in waiting if owners[task.id].endswith(f":{victim.web_port}")]
    assert on_victim, "the victim owns some conversations"

    # Before takeover: the survivor holds the victim's tasks in its own tables. Faust
    # applies standby records to RocksDB in batches (``standby_buffer_size``, 1000) and
    # when it stops, so the files are read after a clean stop, before any takeover.
    # A standby follows the changelog asynchronously: give it a moment to read the tail.
    await asyncio.sleep(3)
    survivor.stop(signal.SIGTERM)
    for task in on_victim:
        partition = partition_for(task.context_id, PARTITIONS)
        stored = stored_tasks(survivor.datadir, partition).get(task.id)
        assert stored is not None, f"the standby lacks {task.id}"
        assert stored.status.state == TaskState.TASK_STATE_INPUT_REQUIRED
    survivor = cluster.start_worker(0)
    deadline = time.monotonic() + 90
    while any(w.get("/health")[0] != 200 for w in (survivor, victim)):
        assert time.monotonic() < deadline, [w.log_tail(5) for w in (survivor, victim)]
        await asyncio.sleep(0.5)

    # The restart moved partitions: take over the ones the victim owns now.
    owners = {task.id: victim.get(f"/tasks/{task.id}")[1]["owner"] for task in waiting}
    still_on_victim = [t for t in waiting if owners[t.id].endswith(f":{victim.web_port}")]
    assert still_on_victim, "the victim owns no conversation after the restart"
    killed_at = time.monotonic()
    victim.stop(signal.SIGKILL)
    await client.get_task(GetTaskRequest(id=still_on_victim[0].id))
    record_property("takeover_seconds", round(time.monotonic() - killed_at, 2))

    for i, task in enumerate(still_on_victim):
        race = RACES[i % 3]
        done = await send(client, race, context_id=task.context_id, task_id=task.id)
        assert done.status.state == TaskState.TASK_STATE_COMPLETED
        assert get_artifact_text(done.artifacts[0]) == win_rate_line(race)
        status, body = survivor.get(f"/tasks/{task.id}")
        assert status == 200
        assert body["owner"].endswith(f":{survivor.web_port}")

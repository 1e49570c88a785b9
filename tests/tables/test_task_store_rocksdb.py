"""FaustTaskStore through a2a-sdk's TaskStore interface, on RocksDB, over 4 partitions.

The calls run inside a real worker while a record of a given partition is handled,
exactly where the A2A request handler calls the store.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from a2a.types import Task, TaskState, TaskStatus
from google.protobuf.json_format import MessageToDict
from google.protobuf.timestamp_pb2 import Timestamp
from support.processes import WorkerProcess
from support.records import RawPeer

from app import binding

pytestmark = pytest.mark.kafka

PARTITIONS = 4
#: The probe's RocksDB memory settings (not the defaults, so the test sees them arrive).
WRITE_BUFFER_BYTES = 3 << 20
BLOCK_CACHE_BYTES = 5 << 20
Call = Callable[..., Awaitable[dict[str, Any]]]


@pytest.fixture(scope="module")
def probe(
    bootstrap_servers: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WorkerProcess]:
    base: Path = tmp_path_factory.mktemp("store")
    prefix = f"s{uuid.uuid4().hex[:6]}-"
    process = WorkerProcess(
        "support.store_probe_app",
        bootstrap_servers=bootstrap_servers,
        app_id=f"{prefix}app",
        datadir=base / "data",
        log_path=base / "probe.log",
        env={
            "TEST_AGENT_PREFIX": prefix,
            "FAUST_A2A_PARTITIONS": str(PARTITIONS),
            "FAUST_A2A_ROCKSDB_WRITE_BUFFER_BYTES": str(WRITE_BUFFER_BYTES),
            "FAUST_A2A_ROCKSDB_BLOCK_CACHE_BYTES": str(BLOCK_CACHE_BYTES),
        },
    )
    process.start()
    yield process
    process.stop()


@pytest.fixture
async def call(probe: WorkerProcess, bootstrap_servers: str) -> AsyncIterator[Call]:
    """``call(routing_key, op, **args)`` → the probe's answer, handled in the key's partition."""
    prefix = probe.env["TEST_AGENT_PREFIX"]
    peer = await RawPeer(bootstrap_servers, f"{prefix}store-results").start()

    async def _call(routing_key: str, op: str, **args: Any) -> dict[str, Any]:
        ref = uuid.uuid4().hex
        body = json.dumps({"op": op, "ref": ref, **args}).encode()
        await peer.send(f"{prefix}store-ops", body, key=routing_key.encode())
        record = await peer.wait_for(lambda r: r.key == ref.encode(), timeout=60)
        answer = json.loads(record.value)
        assert answer["partition"] == binding.partition_for(routing_key, PARTITIONS)
        assert "error" not in answer, answer
        return answer

    yield _call
    await peer.stop()


def keys_in_distinct_partitions(n: int) -> list[str]:
    """``n`` context ids that the default partitioner puts in ``n`` distinct partitions."""
    found: dict[int, str] = {}
    while len(found) < n:
        key = uuid.uuid4().hex
        found.setdefault(binding.partition_for(key, PARTITIONS), key)
    return list(found.values())


def make_task(context_id: str, state: TaskState, seconds: int) -> dict[str, Any]:
    task = Task(
        id=f"{uuid.uuid4().hex}.{context_id}",
        context_id=context_id,
        status=TaskStatus(state=state, timestamp=Timestamp(seconds=seconds)),
    )
    return MessageToDict(task)


async def test_save_then_get_round_trips_in_the_owning_partition(call: Call) -> None:
    (context_id,) = keys_in_distinct_partitions(1)
    task = make_task(context_id, TaskState.TASK_STATE_WORKING, 1_700_000_000)
    await call(context_id, "save", task=task)
    assert (await call(context_id, "get", id=task["id"]))["result"] == task


async def test_a_read_in_another_partition_does_not_see_the_task(call: Call) -> None:
    """Why requests are keyed by routing key: RocksDB reads are partition-local."""
    owner, other = keys_in_distinct_partitions(2)
    task = make_task(owner, TaskState.TASK_STATE_COMPLETED, 1_700_000_001)
    await call(owner, "save", task=task)
    assert (await call(other, "get", id=task["id"]))["result"] is None
    assert (await call(owner, "get", id=task["id"]))["result"] == task


async def test_every_partition_database_is_opened_with_the_memory_settings(
    call: Call, probe: WorkerProcess
) -> None:
    """``FAUST_A2A_ROCKSDB_*`` reach RocksDB itself: the OPTIONS file RocksDB writes for
    each tasks database (the options it was opened with) has the memtable size and two
    memtables at most; Faust's store opens them with the block cache's size (which the
    OPTIONS file does not record)."""
    (context_id,) = keys_in_distinct_partitions(1)
    await call(context_id, "save", task=make_task(context_id, TaskState.TASK_STATE_WORKING, 0))
    databases = sorted(probe.datadir.glob("**/tables/tasks-*.db"))
    assert len(databases) == PARTITIONS, databases
    for database in databases:
        options = max(database.glob("OPTIONS-*"), key=lambda path: int(path.name[8:]))
        lines = {line.strip() for line in options.read_text().splitlines()}
        assert f"write_buffer_size={WRITE_BUFFER_BYTES}" in lines, options
        assert "max_write_buffer_number=2" in lines, options
    assert (await call(context_id, "block_cache_size"))["result"] == BLOCK_CACHE_BYTES


async def test_update_overwrites_and_delete_removes(call: Call) -> None:
    (context_id,) = keys_in_distinct_partitions(1)
    task = make_task(context_id, TaskState.TASK_STATE_WORKING, 1_700_000_002)
    await call(context_id, "save", task=task)
    task["status"]["state"] = "TASK_STATE_COMPLETED"
    await call(context_id, "save", task=task)
    assert (await call(context_id, "get", id=task["id"]))["result"]["status"]["state"] == (
        "TASK_STATE_COMPLETED"
    )
    await call(context_id, "delete", id=task["id"])
    assert (await call(context_id, "get", id=task["id"]))["result"] is None


async def test_list_filters_orders_and_pages_within_a_partition(call: Call) -> None:
    (context_id,) = keys_in_distinct_partitions(1)
    tasks = [
        make_task(context_id, state, 1_800_000_000 + i)
        for i, state in enumerate(
            [TaskState.TASK_STATE_COMPLETED, TaskState.TASK_STATE_WORKING] * 3
        )
    ]
    for task in tasks:
        await call(context_id, "save", task=task)
    newest_first = [t["id"] for t in reversed(tasks)]
    listed: list[str] = []
    token = ""
    while True:
        params = {"contextId": context_id, "pageSize": 4, "pageToken": token}
        page = (await call(context_id, "list", params=params))["result"]
        assert page["totalSize"] == 6
        listed += [t["id"] for t in page["tasks"]]
        token = page.get("nextPageToken", "")
        if not token:
            break
    assert listed == newest_first
    completed = await call(
        context_id, "list", params={"contextId": context_id, "status": "TASK_STATE_COMPLETED"}
    )
    assert [t["id"] for t in completed["result"]["tasks"]] == newest_first[1::2]


async def test_unfiltered_list_answers_for_the_record_partition_only(call: Call) -> None:
    keys = keys_in_distinct_partitions(PARTITIONS)
    saved = {key: make_task(key, TaskState.TASK_STATE_COMPLETED, 1_900_000_000) for key in keys}
    for key, task in saved.items():
        await call(key, "save", task=task)
    for key in keys:
        page = (await call(key, "list", params={"pageSize": 100}))["result"]
        ids = {t["id"] for t in page.get("tasks", [])}
        assert saved[key]["id"] in ids
        assert not ids & {t["id"] for k, t in saved.items() if k != key}

"""a2a-sdk's ``TaskStore`` on a Faust table (task id → ``Task`` protobuf bytes)."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from a2a.server.context import ServerCallContext
from a2a.server.tasks import TaskStore
from a2a.types import ListTasksRequest, ListTasksResponse, Task
from a2a.utils.constants import DEFAULT_LIST_TASKS_PAGE_SIZE
from a2a.utils.errors import InvalidParamsError
from a2a.utils.task import ListTasksCursor, decode_list_tasks_cursor, encode_list_tasks_cursor

from tables.keys import scoped


def _sort_key(task: Task) -> tuple[bool, int, str]:
    """``ListTasks`` order (A2A 1.0 §3.1.4): newest status first, then task id, descending."""
    has_timestamp = task.HasField("status") and task.status.HasField("timestamp")
    timestamp = task.status.timestamp.ToNanoseconds() if has_timestamp else 0
    return (has_timestamp, timestamp, task.id)


class FaustTaskStore(TaskStore):
    """Tasks of one agent in a Faust table keyed ``<agent>/<task id>``.

    The table is a ``MutableMapping`` of ``bytes`` values: in the worker a Faust
    ``Table`` with ``key_type=bytes`` and ``value_type=bytes`` (raw codecs; ``str``
    keys are stored as UTF-8 and read back as ``bytes``). With the
    RocksDB store, :meth:`get` and :meth:`save` during a request see the partition of
    that request only, which is why requests are keyed by routing key.

    This store is unversioned (a2a-sdk wraps it in ``LegacyTaskStoreAdapter``): the
    routing rule makes the partition owner the only writer of a task, and a version
    check against a worker-local RocksDB copy could not see a competing writer on
    another worker anyway.

    Args:
        table: The ``tasks`` table.
        agent: The agent whose tasks this store holds.
    """

    def __init__(self, table: MutableMapping[Any, bytes], agent: str) -> None:
        self._table = table
        self._agent = agent

    async def save(self, task: Task, context: ServerCallContext) -> None:
        """Writes ``task`` (a changelog record in the current request's partition)."""
        self._table[scoped(self._agent, task.id)] = task.SerializeToString()

    async def get(self, task_id: str, context: ServerCallContext) -> Task | None:
        """The task ``task_id`` of this agent, or ``None``."""
        raw = self._table.get(scoped(self._agent, task_id))
        return None if raw is None else Task.FromString(raw)

    async def delete(self, task_id: str, context: ServerCallContext) -> None:
        """Deletes the task (a changelog tombstone); a missing task is not an error."""
        self._table.pop(scoped(self._agent, task_id), None)

    def tasks(self) -> list[Task]:
        """Every task of this agent in the partitions this worker holds."""
        prefix = scoped(self._agent, "").encode()
        return [
            Task.FromString(raw)
            for key, raw in self._table.items()
            if (key if isinstance(key, bytes) else key.encode()).startswith(prefix)
        ]

    async def list(self, params: ListTasksRequest, context: ServerCallContext) -> ListTasksResponse:
        """Filters, orders and pages the tasks this worker holds (A2A 1.0 ``ListTasks``).

        Filters: ``context_id``, ``status``, ``status_timestamp_after``. Order: newest
        status timestamp first. ``page_token`` is a2a-sdk's opaque cursor.

        Raises:
            InvalidParamsError: ``page_token`` is not a cursor this store issued.
        """
        tasks = [task for task in self.tasks() if _matches(task, params)]
        tasks.sort(key=_sort_key, reverse=True)
        total = len(tasks)
        start = 0
        if params.page_token:
            cursor = decode_list_tasks_cursor(params.page_token)
            if cursor is None:
                raise InvalidParamsError(message=f"Invalid page token: {params.page_token}")
            after = cursor.sort_key()
            start = next((i for i, task in enumerate(tasks) if _sort_key(task) < after), total)
        page_size = params.page_size or DEFAULT_LIST_TASKS_PAGE_SIZE
        page = tasks[start : start + page_size]
        next_token = ""
        if start + page_size < total:
            has_ts, ts, task_id = _sort_key(page[-1])
            next_token = encode_list_tasks_cursor(
                ListTasksCursor(timestamp_ns=ts if has_ts else None, task_id=task_id)
            )
        return ListTasksResponse(
            tasks=page, next_page_token=next_token, total_size=total, page_size=page_size
        )


def _matches(task: Task, params: ListTasksRequest) -> bool:
    if params.context_id and task.context_id != params.context_id:
        return False
    if params.status and task.status.state != params.status:
        return False
    if params.HasField("status_timestamp_after"):
        after = params.status_timestamp_after.ToNanoseconds()
        if not task.status.HasField("timestamp") or task.status.timestamp.ToNanoseconds() < after:
            return False
    return True

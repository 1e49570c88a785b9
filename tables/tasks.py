"""a2a-sdk's ``TaskStore`` on a Faust table (task id → ``Task`` protobuf bytes)."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from a2a.server.context import ServerCallContext
from a2a.server.tasks import TaskStore
from a2a.types import ListTasksRequest, ListTasksResponse, Task
from a2a.utils.constants import DEFAULT_LIST_TASKS_PAGE_SIZE
from faust import current_event

from app import binding, listing
from tables.keys import scoped


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
        partitions: The number of partitions of the requests topic; with it,
            :meth:`list` inside a request answers for that request's partition only.
    """

    def __init__(
        self, table: MutableMapping[Any, bytes], agent: str, *, partitions: int | None = None
    ) -> None:
        self._table = table
        self._agent = agent
        self._partitions = partitions

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

    def tasks(self, partition: int | None = None) -> list[Task]:
        """This agent's tasks in the partitions this worker holds, or in ``partition``.

        The partition is read off the table key (the task id carries its routing
        key), so tasks of other partitions are not even parsed.
        """
        prefix = scoped(self._agent, "").encode()
        found = []
        for key, raw in self._table.items():
            key_bytes = key if isinstance(key, bytes) else key.encode()
            if not key_bytes.startswith(prefix):
                continue
            if partition is not None and self._partitions is not None:
                task_id = key_bytes[len(prefix) :].decode()
                owner = binding.partition_for(binding.task_routing_key(task_id), self._partitions)
                if owner != partition:
                    continue
            found.append(Task.FromString(raw))
        return found

    async def list(self, params: ListTasksRequest, context: ServerCallContext) -> ListTasksResponse:
        """Filters, orders and pages this agent's tasks (A2A 1.0 ``ListTasks``).

        Filters: ``context_id``, ``status``, ``status_timestamp_after``; order and
        page tokens: :mod:`app.listing`. While a request record is handled, only the
        tasks of that record's partition are listed: a client lists every partition
        (``KafkaTransport.list_tasks`` asks each one and merges), and each task is
        answered by exactly one partition owner.

        Raises:
            InvalidParamsError: ``page_token`` is not a cursor this store issued.
        """
        event = current_event()
        partition = None if event is None else event.message.partition
        tasks = [t for t in self.tasks(partition) if _matches(t, params)]
        return listing.page(
            tasks, params.page_token, params.page_size or DEFAULT_LIST_TASKS_PAGE_SIZE
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

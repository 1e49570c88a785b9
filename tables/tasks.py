"""a2a-sdk's ``TaskStore`` on a Faust table (task id → ``Task`` protobuf bytes)."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from a2a.server.context import ServerCallContext
from a2a.server.owner_resolver import OwnerResolver, resolve_user_scope
from a2a.server.tasks import TaskStore
from a2a.types import ListTasksRequest, ListTasksResponse, Task
from a2a.utils.constants import DEFAULT_LIST_TASKS_PAGE_SIZE
from a2a.utils.errors import InternalError
from faust import current_event

from app import binding, listing
from tables.keys import scoped, split

#: Default largest stored task, bytes: a changelog record must fit Faust's producer
#: (``producer_max_request_size`` 1,000,000), with room for the key and headers.
MAX_TASK_BYTES = 1_000_000 - 8192


class TaskTooLarge(InternalError):
    """A task grew larger than a stored task may be (:data:`MAX_TASK_BYTES`)."""


class FaustTaskStore(TaskStore):
    """Tasks of one agent in a Faust table keyed by owner and task id (:mod:`tables.keys`).

    The table is a ``MutableMapping`` of ``bytes`` values: in the worker a Faust
    ``Table`` with ``key_type=bytes`` and ``value_type=bytes`` (raw codecs; ``str``
    keys are stored as UTF-8 and read back as ``bytes``). With the
    RocksDB store, :meth:`get` and :meth:`save` during a request see the partition of
    that request only, which is why requests are keyed by routing key.

    This store is unversioned (a2a-sdk wraps it in ``LegacyTaskStoreAdapter``): the
    routing rule makes the partition owner the only writer of a task, and a version
    check against a worker-local RocksDB copy could not see a competing writer on
    another worker anyway.

    Every read and write is scoped by the owner ``owner_resolver`` finds in the call's
    ``ServerCallContext`` (a2a-sdk's convention, A2A 1.0 §13.1): another owner's task
    is simply absent, so ``GetTask``, ``CancelTask``, ``SubscribeToTask`` and the
    push-config operations answer ``TaskNotFoundError`` for it, and ``ListTasks``
    never shows it.

    Args:
        table: The ``tasks`` table.
        agent: The agent whose tasks this store holds.
        partitions: The number of partitions of the requests topic; with it,
            :meth:`list` inside a request answers for that request's partition only.
        owner_resolver: The owner of a call (default: the user name of
            ``ServerCallContext.user``, ``""`` when unauthenticated).
        max_task_bytes: The largest task stored, bytes; default 1,000,000 less 8 KiB
            for the record's key and headers (Faust's ``producer_max_request_size``,
            Kafka's ``max.request.size``).
    """

    def __init__(
        self,
        table: MutableMapping[Any, bytes],
        agent: str,
        *,
        partitions: int | None = None,
        owner_resolver: OwnerResolver = resolve_user_scope,
        max_task_bytes: int = MAX_TASK_BYTES,
    ) -> None:
        self._table = table
        self._max_task_bytes = max_task_bytes
        self._agent = agent
        self._partitions = partitions
        self._owner = owner_resolver

    async def save(self, task: Task, context: ServerCallContext) -> None:
        """Writes ``task`` for the call's owner (a changelog record in the current
        request's partition).

        Raises:
            TaskTooLarge: the task is larger than a changelog record may be.
        """
        self.put(task.id, self.encode(task), context)

    def encode(self, task: Task) -> bytes:
        """The task as stored (protobuf bytes).

        Raises:
            TaskTooLarge: it is larger than ``max_task_bytes``: Kafka would refuse its
                changelog record, and Faust's producer would stop with it.
        """
        data = task.SerializeToString()
        if len(data) > self._max_task_bytes:
            raise TaskTooLarge(
                message=f"task {task.id} is {len(data)} bytes, more than a stored task may "
                f"be ({self._max_task_bytes})"
            )
        return data

    def put(self, task_id: str, data: bytes, context: ServerCallContext) -> None:
        """Writes encoded task ``data`` (:meth:`encode`) synchronously, for writes held
        to the end of an event-loop step."""
        self._table[self._key(task_id, context)] = data

    async def get(self, task_id: str, context: ServerCallContext) -> Task | None:
        """The task ``task_id`` of this agent and the call's owner, or ``None``."""
        raw = self._table.get(self._key(task_id, context))
        return None if raw is None else Task.FromString(raw)

    async def delete(self, task_id: str, context: ServerCallContext) -> None:
        """Deletes the owner's task (a changelog tombstone); a missing task is not an error."""
        self._table.pop(self._key(task_id, context), None)

    def _key(self, task_id: str, context: ServerCallContext) -> str:
        return scoped(self._agent, task_id, self._owner(context))

    def owned_tasks(
        self, partition: int | None = None, *, owner: str | None = None
    ) -> list[tuple[str, Task]]:
        """``(owner, task)`` of this agent's tasks in the partitions this worker holds,
        or in ``partition``; of every owner (retention, operators) or only ``owner``.

        The partition and owner are read off the table key (the task id carries its
        routing key), so other partitions' and owners' tasks are not even parsed.
        """
        found = []
        for key, raw in self._table.items():
            try:
                agent, who, task_id = split(key)
            except (ValueError, UnicodeDecodeError):
                continue
            if agent != self._agent or (owner is not None and who != owner):
                continue
            if partition is not None and self._partitions is not None:
                home = binding.partition_for(binding.task_routing_key(task_id), self._partitions)
                if home != partition:
                    continue
            found.append((who, Task.FromString(raw)))
        return found

    def tasks(self, partition: int | None = None, *, owner: str | None = None) -> list[Task]:
        """The tasks of :meth:`owned_tasks`, of every owner or only of ``owner``."""
        return [task for _, task in self.owned_tasks(partition, owner=owner)]

    async def list(self, params: ListTasksRequest, context: ServerCallContext) -> ListTasksResponse:
        """Filters, orders and pages this agent's tasks (A2A 1.0 ``ListTasks``).

        Filters: ``context_id``, ``status``, ``status_timestamp_after``; order and
        page tokens: :mod:`app.listing`. While a request record is handled, only the
        tasks of that record's partition are listed: a client lists every partition
        (``KafkaTransport.list_tasks`` asks each one and merges), and each task is
        answered by exactly one partition owner. Only the call's owner's tasks are
        listed (A2A 1.0 §13.1).

        Raises:
            InvalidParamsError: ``page_token`` is not a cursor this store issued.
        """
        event = current_event()
        partition = None if event is None else event.message.partition
        owned = self.tasks(partition, owner=self._owner(context))
        tasks = [t for t in owned if _matches(t, params)]
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

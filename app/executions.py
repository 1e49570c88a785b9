"""The executions this worker is running, by task id, and how they end.

An execution is one run of an agent's ``AgentExecutor`` for one task. The lean request
handler (:mod:`app.handler`) starts them; the registry is what lets a later request
reach a running task (``CancelTask``, ``SubscribeToTask``, a redelivered message), what
tells an orphaned task (non-terminal in the table, run by nobody) from a running one,
and what the worker stops when Kafka takes a partition away (hand-over).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection
from dataclasses import dataclass, field

from a2a.server.events import Event, EventQueue
from a2a.types import Message, Task

logger = logging.getLogger(__name__)


class _End(Exception):
    """Marks the end of an execution's items (never raised)."""


#: What a subscriber receives: ``(event, task snapshot after it)``, an exception that
#: ends the call, or :data:`END`.
Item = tuple[Event, Task | None] | BaseException
#: The item after an execution's last one.
END = _End()


@dataclass(eq=False)
class Execution:
    """One running execution.

    Attributes:
        task_id: The task it runs.
        partition: The request partition that owns the task (its routing key's).
        message_id: The id of the message that started it ("" for a re-run).
        task: The task as last applied (``None`` until the executor publishes it).
        result: A ``Message`` the executor answered with instead of a task.
        subscribers: Queues of the calls that follow it (the caller, subscribers).
        runner: The asyncio task running the executor.
        events: The ``EventQueue`` the executor writes to.
        finished: Set once the execution has ended and every subscriber got :data:`END`.
        handed_over: Set when the execution was stopped because its partition was revoked.
        has_push_configs: Whether the task has push-notification configs, as last read
            (``None``: not read yet, or a config changed since).
    """

    task_id: str
    partition: int
    message_id: str = ""
    task: Task | None = None
    result: Message | None = None
    subscribers: list[asyncio.Queue[Item]] = field(default_factory=list)
    runner: asyncio.Task[None] | None = None
    events: EventQueue | None = None
    finished: asyncio.Event = field(default_factory=asyncio.Event)
    handed_over: bool = False
    has_push_configs: bool | None = None

    def subscribe(self, first: Item | None = None) -> asyncio.Queue[Item]:
        """A new queue that receives ``first`` (if given), then every later item."""
        queue: asyncio.Queue[Item] = asyncio.Queue()
        if first is not None:
            queue.put_nowait(first)
        if self.finished.is_set():
            queue.put_nowait(END)
        else:
            self.subscribers.append(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[Item]) -> None:
        """Stops delivering items to ``queue`` (its call ended or went away)."""
        if queue in self.subscribers:
            self.subscribers.remove(queue)

    def publish(self, item: Item) -> None:
        """Delivers ``item`` to every subscriber."""
        for queue in self.subscribers:
            queue.put_nowait(item)


class Executions:
    """The live executions of one worker, by task id and by starting message id."""

    def __init__(self) -> None:
        self._by_task: dict[str, Execution] = {}
        self._by_message: dict[str, Execution] = {}

    def __len__(self) -> int:
        return len(self._by_task)

    def get(self, task_id: str) -> Execution | None:
        """The live execution of ``task_id``, or ``None``."""
        return self._by_task.get(task_id)

    def for_message(self, message_id: str) -> Execution | None:
        """The live execution that message ``message_id`` started, or ``None``."""
        return self._by_message.get(message_id) if message_id else None

    def add(self, execution: Execution) -> None:
        """Registers a started execution."""
        self._by_task[execution.task_id] = execution
        if execution.message_id:
            self._by_message[execution.message_id] = execution

    def discard(self, execution: Execution) -> None:
        """Forgets an execution that has ended."""
        if self._by_task.get(execution.task_id) is execution:
            del self._by_task[execution.task_id]
        if execution.message_id and self._by_message.get(execution.message_id) is execution:
            del self._by_message[execution.message_id]

    def in_partitions(self, partitions: Collection[int]) -> list[Execution]:
        """The live executions whose task belongs to one of ``partitions``."""
        return [e for e in self._by_task.values() if e.partition in partitions]

    async def hand_over(self, partitions: Collection[int], timeout: float) -> tuple[int, int]:
        """Lets the executions of revoked ``partitions`` finish, then stops the rest.

        Waits up to ``timeout`` seconds for them to end on their own; the ones still
        running are cancelled and marked handed over (``tables.changelog.HandedOver``), so they
        write nothing more and their callers are not answered by this worker.

        Returns:
            ``(finished, stopped)``: how many ended within the bound, how many were stopped.
        """
        running = self.in_partitions(partitions)
        if not running:
            return 0, 0
        waiters = [asyncio.ensure_future(e.finished.wait()) for e in running]
        _, pending = await asyncio.wait(waiters, timeout=timeout)
        for waiter in pending:
            waiter.cancel()
        stopped = [e for e in running if not e.finished.is_set()]
        for execution in stopped:
            execution.handed_over = True
            if execution.runner is not None:
                execution.runner.cancel()
        if stopped:
            await asyncio.wait([asyncio.ensure_future(e.finished.wait()) for e in stopped])
        logger.info(
            "hand-over of partitions %s: %d executions finished, %d stopped",
            sorted(partitions),
            len(running) - len(stopped),
            len(stopped),
        )
        return len(running) - len(stopped), len(stopped)

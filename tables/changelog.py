"""Durable, owner-only table writes: what a crash may not take back, and who may write.

Two rules of the failure model (``docs/kafka-binding.md``, Delivery) rest on the
tables:

* **No answer ahead of the state.** A Faust table write is a changelog record that
  the producer sends later; a response produced before it is acknowledged can outrun
  it, and a crash in between leaves the caller told a state the table lost.
  :class:`TrackedTable` keeps the future of each partition's latest changelog record
  (Faust's public ``send_changelog`` returns it), and :meth:`Changelogs.acknowledged`
  waits for them before an answer is produced.
* **No zombie writes.** Once Kafka has taken a partition away, this worker must not
  write it: the new owner is already reading its changelog. :class:`Ownership` is the
  set of partitions this worker may write; a write outside it raises
  :class:`HandedOver`.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Callable, Hashable, Iterable
from typing import Any

import faust
from faust import current_event
from faust.types import FutureMessage

logger = logging.getLogger(__name__)


class HandedOver(Exception):
    """The partition of this write (or execution) now belongs to another worker.

    Nothing more is written or answered for it here: the new owner runs or ends the
    task and answers the redelivered request.
    """


class Ownership:
    """The partitions (numbers, shared by co-partitioned topics) this worker may write."""

    def __init__(self) -> None:
        self._partitions: set[int] = set()

    def assign(self, partitions: Iterable[int]) -> None:
        """Opens ``partitions`` for writes (Kafka assigned them to this worker)."""
        self._partitions.update(partitions)

    def revoke(self, partitions: Iterable[int]) -> None:
        """Closes ``partitions`` (Kafka is giving them to another worker)."""
        self._partitions.difference_update(partitions)

    def owns(self, partition: int) -> bool:
        """Whether this worker may write ``partition``."""
        return partition in self._partitions

    def check(self) -> None:
        """Raises :class:`HandedOver` unless the current event's partition is owned.

        Outside a stream event (no current event) Faust itself refuses the write.
        """
        event = current_event()
        if event is not None and event.message.partition not in self._partitions:
            raise HandedOver(
                f"partition {event.message.partition} of {event.message.topic} is no longer "
                "assigned to this worker"
            )


class TrackedTable(faust.Table):
    """A Faust ``Table`` that remembers each partition's latest changelog write.

    Writes are refused (:class:`HandedOver`) when ``ownership`` does not hold the
    current event's partition.

    Attributes:
        ownership: The partitions this worker may write; ``None`` allows every write.
        latest_writes: Partition → future of the latest changelog record sent for it.
    """

    ownership: Ownership | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.latest_writes: dict[int, FutureMessage] = {}

    def __setitem__(self, key: Any, value: Any) -> None:
        if self.ownership is not None:
            self.ownership.check()
        super().__setitem__(key, value)

    def __delitem__(self, key: Any) -> None:
        if self.ownership is not None:
            self.ownership.check()
        super().__delitem__(key)

    def get(self, key: Any, default: Any = None) -> Any:
        """The value of ``key`` in the current event's partition, or ``default``.

        One read of the store (Faust's public ``data``). Faust's own ``get`` reads it
        twice (``key in data``, then ``data[key]``) and raises ``KeyError`` through
        ``__missing__`` on a miss; both showed in the worker's profile. Faust's table
        sensors do not count these reads.
        """
        return self.data.get(key, default)

    def send_changelog(
        self,
        partition: int | None,
        key: Any,
        value: Any,
        key_serializer: Any = None,
        value_serializer: Any = None,
    ) -> FutureMessage:
        """Faust's ``send_changelog``, keeping the returned future per partition."""
        future = super().send_changelog(partition, key, value, key_serializer, value_serializer)
        if future.message.partition is not None:
            self.latest_writes[future.message.partition] = future
        return future


class Changelogs:
    """The changelogs of a worker's tracked tables.

    Args:
        tables: The tables whose writes must be durable before an answer.
    """

    def __init__(self, tables: Iterable[TrackedTable]) -> None:
        self._tables = list(tables)

    async def acknowledged(self, partition: int) -> None:
        """Returns once every changelog record written so far for ``partition`` is
        acknowledged by Kafka (``acks=all``: on every in-sync replica).

        Raises:
            Exception: a changelog record could not be produced (the producer's error).
        """
        for table in self._tables:
            future = table.latest_writes.get(partition)
            if future is None:
                continue
            if not future.done():
                await asyncio.shield(future)
            future.result()
            if table.latest_writes.get(partition) is future:
                del table.latest_writes[partition]


class WriteBehind:
    """Table writes held to the end of the event loop's current step.

    An executor often applies several events in one step of the event loop (a status,
    an artifact, the final status, with nothing awaited in between); writing the task
    once, at the end of the step, costs one changelog record instead of one per event.
    Each write runs in the ``contextvars`` context it was deferred from, so it lands in
    the partition of the request that made it. :meth:`flush` runs the pending writes at
    once: call it before an answer is produced (the answer must not run ahead of the
    state it reports) and before a partition is handed over.
    """

    def __init__(self) -> None:
        self._pending: dict[Hashable, tuple[contextvars.Context, Callable[[], Any]]] = {}
        self._scheduled = False

    def defer(self, key: Hashable, write: Callable[[], Any]) -> None:
        """Holds ``write``; a later write with the same ``key`` replaces it (and runs in
        the context the first one was deferred from: writes of one key are one task's)."""
        held = self._pending.get(key)
        context = contextvars.copy_context() if held is None else held[0]
        self._pending[key] = (context, write)
        if not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self._flush_later)

    def holds(self, key: Hashable) -> bool:
        """Whether a write deferred under ``key`` is still pending."""
        return key in self._pending

    def flush(self) -> None:
        """Runs every pending write now, in the order the keys were first deferred.

        A write whose partition was revoked meanwhile is not made (:class:`HandedOver`,
        logged): the partition's new owner has the task.
        """
        pending, self._pending = self._pending, {}
        for context, write in pending.values():
            try:
                context.run(write)
            except HandedOver as exc:
                logger.info("table write not made: %s", exc)

    def _flush_later(self) -> None:
        self._scheduled = False
        self.flush()

"""Acks of request records in offset order per partition.

Records of one partition are handled concurrently (a long task must not stall its
partition), so they finish out of order. faust-streaming commits the first run of
consecutive acked offsets, but it does not see an unacked record at the head of a
partition that was never committed (faust-streaming #606, open): it commits past it,
and after a crash the record is lost. Acking each partition's records only in offset
order, once every earlier record taken from it is done, leaves Faust nothing to skip:
an offset is committed only when every record before it was answered.
"""

from __future__ import annotations

from collections.abc import Iterable

from faust.types import TP, EventT


class OrderedAcks:
    """The records taken from each partition and not yet acked, in offset order."""

    def __init__(self) -> None:
        self._pending: dict[TP, dict[int, tuple[EventT, bool]]] = {}

    def taken(self, event: EventT) -> None:
        """Registers a record as it is taken from the stream (offset order per partition)."""
        message = event.message
        self._pending.setdefault(message.tp, {})[message.offset] = (event, False)

    def done(self, event: EventT) -> int:
        """Marks a record answered; acks it and the answered records right after it
        once every earlier record of its partition is acked.

        Returns:
            How many records were acked.
        """
        message = event.message
        pending = self._pending.get(message.tp)
        if pending is None or message.offset not in pending:
            return 0
        pending[message.offset] = (event, True)
        acked = 0
        while pending:
            offset, (first, answered) = next(iter(pending.items()))
            if not answered:
                break
            del pending[offset]
            first.ack()
            acked += 1
        return acked

    def forget(self, partitions: Iterable[int]) -> None:
        """Drops what was taken from ``partitions`` (revoked: the new owner reads them
        again from the committed offset)."""
        numbers = set(partitions)
        for tp in [tp for tp in self._pending if tp.partition in numbers]:
            del self._pending[tp]

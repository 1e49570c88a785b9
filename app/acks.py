"""Acks of request records in offset order per partition, from where reading resumed.

Records of one partition are handled concurrently (a long task must not stall its
partition), so they finish out of order. faust-streaming 0.15 commits the first run of
consecutive acked offsets without checking that it starts where the committed offset
is (faust-streaming #606, open; with a committed offset it lets a gap of exactly one
record through). So a record Faust never hands to the agent is committed past as soon
as a later one is acked, and it is never read again: its request is lost.

Faust does drop records of its streams (the push outbox's; request records skip the
streams, ``app.kafka_driver.Transport.deliver_directly``): after a rebalance its
``Recovery`` resumes the flow, seeks to the committed offsets, then resumes the flow
again, and every resume clears the streams' buffers (``mode``'s
``FlowControlEvent.resume``); records fetched in between are cleared while Faust's read
offset is already past them (seen in chaos runs: a request in the topic, never
answered, no task).

:class:`OrderedAcks` therefore acks a partition's records only in offset order and only
from the offset reading resumed at (:meth:`OrderedAcks.resume_at`, told by
``app.offsets`` after each of Faust's seeks): an offset is committed only when every
record from there up to it was answered. Request topics have no gaps in their offsets
(no transactions, no compaction), so a record taken past one that never arrived shows
that Faust dropped it, and :meth:`OrderedAcks.taken` asks for the partition to be read
again from the first missing offset. Records read twice are harmless: a redelivered
message is answered from its task (``app.handler``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from faust.types import TP, EventT

logger = logging.getLogger(__name__)

#: Seconds before a partition is read again from the same offset a second time; the
#: wait doubles with each further read, up to :data:`REREAD_MAX_INTERVAL`.
REREAD_INTERVAL = 1.0
REREAD_MAX_INTERVAL = 60.0


@dataclass
class _Taken:
    """A record taken from a partition and whether it was answered."""

    event: EventT
    answered: bool = False


@dataclass
class _Partition:
    """The records taken from one partition and not acked yet.

    Attributes:
        next_offset: The offset to ack next (``None`` until Faust has sought).
        records: The records taken and not acked, by offset.
        highest: The highest offset taken (``-1`` before any).
        reread: ``(offset, monotonic time, seconds to wait)`` of the last request to
            read again.
    """

    next_offset: int | None = None
    records: dict[int, _Taken] = field(default_factory=dict)
    highest: int = -1
    reread: tuple[int, float, float] | None = None

    def ack_run(self) -> int:
        """Acks the answered records from ``next_offset`` on, up to the first that is
        not; returns how many were acked."""
        if self.next_offset is None:
            return 0
        acked = 0
        while (taken := self.records.get(self.next_offset)) is not None and taken.answered:
            del self.records[self.next_offset]
            self.next_offset += 1
            taken.event.ack()
            acked += 1
        return acked

    def missing(self, below: int) -> int | None:
        """The first offset from ``next_offset`` up to ``below`` (the record just taken)
        that was not taken.

        Only offsets below the record just taken count: records read again after a
        seek back arrive in order, below the highest offset taken, and the ones not
        taken yet are still coming.
        """
        if self.next_offset is None or len(self.records) > self.highest - self.next_offset:
            return None
        offset = self.next_offset
        while offset < below and offset in self.records:
            offset += 1
        return offset if offset < below else None


class OrderedAcks:
    """The records taken from each partition and not yet acked, in offset order.

    Args:
        read_again: Called with a partition and an offset when records from that offset
            on must be read again (``app.kafka_driver.Consumer.read_again``); ``None``:
            only :meth:`taken`'s return value says so.
    """

    def __init__(self, read_again: Callable[[TP, int], object] | None = None) -> None:
        self._partitions: dict[TP, _Partition] = {}
        self._read_again = read_again

    def resume_at(self, positions: Mapping[TP, int]) -> int:
        """Sets where reading of each partition resumed after a seek of Faust's (its
        committed offset, or its earliest for one never committed): records are acked
        from there on; those taken below it were committed already and are dropped.

        Returns:
            How many records were acked (answered before the seek was known).
        """
        acked = 0
        for tp, offset in positions.items():
            partition = self._partitions.setdefault(tp, _Partition())
            partition.next_offset = offset
            partition.reread = None
            for below in [o for o in partition.records if o < offset]:
                del partition.records[below]
            acked += partition.ack_run()
        return acked

    def taken(self, event: EventT) -> int | None:
        """Registers a record as it is taken from the stream.

        Returns:
            An offset to read the record's partition again from (``read_again`` was
            called with it), when records between where reading resumed and this one
            never arrived (Faust dropped them);
            ``None`` otherwise, and again for the same offset only after
            :data:`REREAD_INTERVAL` (doubling each time): a record is never passed
            over, so a request topic must not hold transaction markers.
        """
        message = event.message
        partition = self._partitions.setdefault(message.tp, _Partition())
        offset = message.offset
        if partition.next_offset is not None and offset < partition.next_offset:
            return None
        partition.records.setdefault(offset, _Taken(event))
        partition.highest = max(partition.highest, offset)
        reread = self._reread(message.tp, partition, offset)
        if reread is not None and self._read_again is not None:
            self._read_again(message.tp, reread)
        return reread

    def done(self, event: EventT) -> int:
        """Marks a record answered; acks it and the answered records right after it
        once every earlier record of its partition since reading resumed is acked.

        Returns:
            How many records were acked.
        """
        message = event.message
        partition = self._partitions.get(message.tp)
        if partition is None or message.offset not in partition.records:
            return 0
        partition.records[message.offset] = _Taken(event, answered=True)
        return partition.ack_run()

    def forget(self, partitions: Iterable[int]) -> None:
        """Drops what was taken from ``partitions`` (revoked: the new owner reads them
        again from the committed offset)."""
        numbers = set(partitions)
        for tp in [tp for tp in self._partitions if tp.partition in numbers]:
            del self._partitions[tp]

    def _reread(self, tp: TP, partition: _Partition, taken: int) -> int | None:
        missing = partition.missing(taken)
        if missing is None:
            return None
        now, wait = time.monotonic(), REREAD_INTERVAL
        if partition.reread is not None and partition.reread[0] == missing:
            _, asked, waited = partition.reread
            if now - asked < waited:
                return None
            wait = min(waited * 2, REREAD_MAX_INTERVAL)
        partition.reread = (missing, now, wait)
        logger.info(
            "%s[%s]: records from offset %s were dropped before the agent took them "
            "(offset %s arrived); reading the partition again from %s",
            tp.topic,
            tp.partition,
            missing,
            taken,
            missing,
        )
        return missing

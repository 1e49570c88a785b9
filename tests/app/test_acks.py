"""Records are acked in offset order per partition, from where reading resumed, and a
record Faust dropped is read again (``app.acks``)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from faust.types import TP

from app import acks as acks_module
from app.acks import OrderedAcks

TOPIC = TP("agent.a.requests", 0)


@dataclass
class _Message:
    tp: TP
    offset: int


@dataclass
class _Event:
    """The two things ``OrderedAcks`` uses of a Faust event: its message and ``ack()``."""

    message: _Message
    acked: list[int] = field(default_factory=list)

    def ack(self) -> bool:
        self.acked.append(self.message.offset)
        return True


def _events(tp: TP, offsets: range, log: list[int]) -> list[_Event]:
    return [_Event(_Message(tp, offset), log) for offset in offsets]


def test_a_record_is_acked_only_after_every_earlier_one() -> None:
    acks, log = OrderedAcks(), []
    acks.resume_at({TOPIC: 0})
    first, second, third = _events(TOPIC, range(3), log)
    for event in (first, second, third):
        assert acks.taken(event) is None  # type: ignore[arg-type]
    assert acks.done(third) == 0  # type: ignore[arg-type]
    assert acks.done(second) == 0  # type: ignore[arg-type]
    assert log == [], "nothing may be acked while the head of the partition is in flight"
    assert acks.done(first) == 3  # type: ignore[arg-type]
    assert log == [0, 1, 2]


def test_nothing_is_acked_before_faust_says_where_reading_resumed() -> None:
    """Records taken after a rebalance but before Faust's seek are acked once the seek
    says where the partition resumed; those below it were committed already."""
    acks, log = OrderedAcks(), []
    stale, first, second = _events(TOPIC, range(4, 7), log)
    for event in (stale, first, second):
        acks.taken(event)  # type: ignore[arg-type]
    assert acks.done(first) == 0  # type: ignore[arg-type]
    assert acks.done(stale) == 0  # type: ignore[arg-type]
    assert log == []
    assert acks.resume_at({TOPIC: 5}) == 1
    assert acks.done(second) == 1  # type: ignore[arg-type]
    assert log == [5, 6]


def test_a_dropped_record_is_read_again_and_nothing_is_acked_past_it() -> None:
    """Offsets 0 and 2 arrive, 1 never did: 2 asks for a read from 1, acks stop at 1
    until it is taken and answered (the duplicate of 2 changes nothing)."""
    acks, log = OrderedAcks(), []
    acks.resume_at({TOPIC: 0})
    first, dropped, after = _events(TOPIC, range(3), log)
    assert acks.taken(first) is None  # type: ignore[arg-type]
    assert acks.taken(after) == 1  # type: ignore[arg-type]
    assert acks.taken(after) is None, "asked again within the interval"  # type: ignore[arg-type]
    assert acks.done(first) == 1  # type: ignore[arg-type]
    assert acks.done(after) == 0, "acked past a record that was never answered"  # type: ignore[arg-type]
    assert acks.taken(dropped) is None  # type: ignore[arg-type]
    assert acks.taken(after) is None  # type: ignore[arg-type]
    assert acks.done(dropped) == 2  # type: ignore[arg-type]
    assert log == [0, 1, 2]


def test_records_read_again_in_order_ask_for_no_further_read() -> None:
    """Offset 5 arrives before 1-4: one read from 1. The records read again then arrive
    in order, each with every earlier one taken, and ask for nothing more (the ones
    after them are still coming, not dropped)."""
    acks, log = OrderedAcks(), []
    acks.resume_at({TOPIC: 0})
    events = _events(TOPIC, range(6), log)
    assert acks.taken(events[0]) is None  # type: ignore[arg-type]
    assert acks.taken(events[5]) == 1  # type: ignore[arg-type]
    assert [acks.taken(e) for e in events[1:5]] == [None] * 4  # type: ignore[arg-type]
    for event in events:
        acks.done(event)  # type: ignore[arg-type]
    assert log == list(range(6))


def test_reads_of_an_offset_that_does_not_arrive_back_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An offset still missing is asked for again after the interval, which doubles;
    it is never passed over (acks wait for it)."""
    clock = [100.0]
    monkeypatch.setattr(acks_module.time, "monotonic", lambda: clock[0])
    acks, log = OrderedAcks(), []
    acks.resume_at({TOPIC: 0})
    (after,) = _events(TOPIC, range(1, 2), log)
    asked = []
    for step in (0.0, 0.5, 0.6, 1.0, 0.9, 1.2):
        clock[0] += step
        asked.append(acks.taken(after))  # type: ignore[arg-type]
    assert asked == [0, None, 0, None, None, 0]
    assert acks.done(after) == 0  # type: ignore[arg-type]
    assert log == []


def test_partitions_are_independent_and_forgotten_on_revoke() -> None:
    acks, log = OrderedAcks(), []
    acks.resume_at({TP("t", 0): 0, TP("t", 1): 0})
    (slow,) = _events(TP("t", 0), range(1), log)
    (fast,) = _events(TP("t", 1), range(1), log)
    acks.taken(slow)  # type: ignore[arg-type]
    acks.taken(fast)  # type: ignore[arg-type]
    assert acks.done(fast) == 1  # type: ignore[arg-type]
    acks.forget([0])
    assert acks.done(slow) == 0  # type: ignore[arg-type]
    assert log == [0]

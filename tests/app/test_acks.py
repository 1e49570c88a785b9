"""Records are acked in offset order per partition (``app.acks``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from faust.types import TP

from app.acks import OrderedAcks


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
    first, second, third = _events(TP("t", 0), range(3), log)
    for event in (first, second, third):
        acks.taken(event)  # type: ignore[arg-type]
    assert acks.done(third) == 0  # type: ignore[arg-type]
    assert acks.done(second) == 0  # type: ignore[arg-type]
    assert log == [], "nothing may be acked while the head of the partition is in flight"
    assert acks.done(first) == 3  # type: ignore[arg-type]
    assert log == [0, 1, 2]


def test_partitions_are_independent_and_forgotten_on_revoke() -> None:
    acks, log = OrderedAcks(), []
    (slow,) = _events(TP("t", 0), range(1), log)
    (fast,) = _events(TP("t", 1), range(1), log)
    acks.taken(slow)  # type: ignore[arg-type]
    acks.taken(fast)  # type: ignore[arg-type]
    assert acks.done(fast) == 1  # type: ignore[arg-type]
    acks.forget([0])
    assert acks.done(slow) == 0  # type: ignore[arg-type]
    assert log == [0]

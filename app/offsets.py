"""Where reading of each request partition resumes after Faust seeks, and the rewind
of never-committed partitions.

faust-streaming 0.15 drops records it fetches while a rebalance is settling and then
re-positions each partition with ``seek_to_committed``. A partition that has no
committed offset yet (a new topic, or a worker killed before its first commit) is
not re-positioned — aiokafka seeks only to committed offsets above 0 — so the
dropped records are never read again: after a fail-over, requests that waited in the
topic were lost. Seen here with two workers, 8 partitions and a SIGKILL.

:func:`guard_request_offsets` makes that re-positioning also rewind such partitions of
the request topics to their earliest offset, which is what
``auto_offset_reset="earliest"`` promises, and tells ``app.acks`` the offset each
partition resumes at: records are acked in order from there, so none that Faust drops
later is committed past. Records read twice are harmless: a redelivered message is
answered from its task (``app.handler``).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any, cast

import faust
from faust.transport.consumer import ThreadDelegateConsumer
from faust.types import TP


def guard_request_offsets(
    app: faust.App, topics: Collection[str], on_seek: Callable[[Mapping[TP, int]], object]
) -> None:
    """Whenever Faust seeks to committed offsets (after every rebalance), rewinds the
    partitions of ``topics`` without a committed offset to their earliest offset, then
    calls ``on_seek`` with the offset each partition of ``topics`` resumes at (its
    committed offset, or its earliest if there is none or the log starts above it).

    The seek is wrapped when the first rebalance starts (revoked or assigned
    partitions, whichever Faust signals first), before Faust's first seek.
    """

    async def install(sender: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
        consumer = cast(ThreadDelegateConsumer, app.consumer)
        seek_to_committed = consumer.seek_to_committed
        if getattr(seek_to_committed, "guards_request_offsets", False):
            return

        async def seek_and_rewind() -> Mapping[TP, int]:
            committed = await seek_to_committed()
            ours = [tp for tp in committed if tp.topic in topics]
            if ours:
                earliest = await consumer.earliest_offsets(*ours)
                fresh = {tp: earliest[tp] for tp in ours if not committed[tp]}
                if fresh:
                    await consumer.seek_wait(fresh)
                on_seek({tp: max(committed[tp] or 0, earliest[tp]) for tp in ours})
            return committed

        seek_and_rewind.guards_request_offsets = True  # type: ignore[attr-defined]
        consumer.seek_to_committed = seek_and_rewind  # type: ignore[method-assign]

    app.on_partitions_revoked.connect(install)
    app.on_partitions_assigned.connect(install)

"""Keeps request records of never-committed partitions from being skipped.

faust-streaming 0.15 drops records it fetches while a rebalance is settling and then
re-positions each partition with ``seek_to_committed``. A partition that has no
committed offset yet (a new topic, or a worker killed before its first commit) is
not re-positioned — aiokafka seeks only to committed offsets above 0 — so the
dropped records are never read again: after a fail-over, requests that waited in the
topic were lost. Seen here with two workers, 8 partitions and a SIGKILL.

:func:`guard_uncommitted_partitions` makes that re-positioning also rewind such
partitions of the request topics to their earliest offset, which is what
``auto_offset_reset="earliest"`` promises. Records read twice are harmless: a
redelivered message is answered from its task (``app.handler``).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any, cast

import faust
from faust.transport.consumer import ThreadDelegateConsumer
from faust.types import TP


def guard_uncommitted_partitions(app: faust.App, topics: Collection[str]) -> None:
    """Rewinds partitions of ``topics`` without a committed offset whenever Faust
    seeks to committed offsets (after every rebalance)."""

    async def install(sender: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
        consumer = cast(ThreadDelegateConsumer, app.consumer)
        seek_to_committed = consumer.seek_to_committed
        if getattr(seek_to_committed, "rewinds_uncommitted", False):
            return

        async def seek_and_rewind() -> Mapping[TP, int]:
            committed = await seek_to_committed()
            fresh = [tp for tp, offset in committed.items() if not offset and tp.topic in topics]
            if fresh:
                await consumer.seek_wait(await consumer.earliest_offsets(*fresh))
            return committed

        seek_and_rewind.rewinds_uncommitted = True  # type: ignore[attr-defined]
        consumer.seek_to_committed = seek_and_rewind  # type: ignore[method-assign]

    app.on_partitions_assigned.connect(install)

"""The ``contexts`` table: context id → the ordered task ids of that conversation."""

from __future__ import annotations

import json
from collections.abc import MutableMapping

from tables.keys import scoped


class ConversationIndex:
    """The task ids of each conversation (A2A ``context_id``), oldest first.

    Values are JSON arrays of task ids (``bytes``), small enough to rewrite on every
    new task. Co-partitioned with the tasks because both are keyed by the same
    routing key at write time.

    Args:
        table: The ``contexts`` table (``MutableMapping[str, bytes]``).
        agent: The agent whose conversations this index holds.
    """

    def __init__(self, table: MutableMapping[str, bytes], agent: str) -> None:
        self._table = table
        self._agent = agent

    def task_ids(self, context_id: str) -> list[str]:
        """The conversation's task ids, oldest first (empty for an unknown context)."""
        raw = self._table.get(scoped(self._agent, context_id))
        return [] if raw is None else list(json.loads(raw))

    def remove(self, context_id: str, task_id: str) -> None:
        """Drops ``task_id`` from the conversation; an emptied conversation is deleted."""
        key = scoped(self._agent, context_id)
        ids = [i for i in self.task_ids(context_id) if i != task_id]
        if ids:
            self._table[key] = json.dumps(ids).encode()
        else:
            self._table.pop(key, None)

    def add(self, context_id: str, task_id: str) -> None:
        """Appends ``task_id`` to the conversation unless it is already there."""
        ids = self.task_ids(context_id)
        if task_id not in ids:
            ids.append(task_id)
            self._table[scoped(self._agent, context_id)] = json.dumps(ids).encode()

"""The ``contexts`` table: (owner, context id) → the ordered task ids of that conversation."""

from __future__ import annotations

import json
from collections.abc import MutableMapping

from tables.keys import scoped


class ConversationIndex:
    """The task ids of each conversation (A2A ``context_id``), oldest first, per owner.

    Values are JSON arrays of task ids (``bytes``), small enough to rewrite on every
    new task. Co-partitioned with the tasks because both are keyed by the same
    routing key at write time. Each owner (the ``OwnerResolver`` value of the call,
    ``""`` when unauthenticated; :mod:`tables.keys`) has its own conversations: two
    owners using the same ``context_id`` never see each other's tasks.

    Args:
        table: The ``contexts`` table (``MutableMapping[str, bytes]``).
        agent: The agent whose conversations this index holds.
    """

    def __init__(self, table: MutableMapping[str, bytes], agent: str) -> None:
        self._table = table
        self._agent = agent

    def task_ids(self, context_id: str, owner: str = "") -> list[str]:
        """The owner's task ids of the conversation, oldest first (empty when unknown)."""
        raw = self._table.get(scoped(self._agent, context_id, owner))
        return [] if raw is None else list(json.loads(raw))

    def remove(self, context_id: str, task_id: str, owner: str = "") -> None:
        """Drops ``task_id`` from the conversation; an emptied conversation is deleted."""
        key = scoped(self._agent, context_id, owner)
        ids = [i for i in self.task_ids(context_id, owner) if i != task_id]
        if ids:
            self._table[key] = json.dumps(ids).encode()
        else:
            self._table.pop(key, None)

    def add(self, context_id: str, task_id: str, owner: str = "") -> None:
        """Appends ``task_id`` to the owner's conversation unless it is already there."""
        ids = self.task_ids(context_id, owner)
        if task_id not in ids:
            ids.append(task_id)
            self._table[scoped(self._agent, context_id, owner)] = json.dumps(ids).encode()

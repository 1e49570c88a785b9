"""The ``contexts`` table: (owner, context id) → the later task ids of that conversation."""

from __future__ import annotations

import json
from collections.abc import MutableMapping

from app import binding
from tables.keys import owner_prefix, scoped


class ConversationIndex:
    """The task ids of each conversation (A2A ``context_id``), oldest first, per owner.

    A conversation's first task has an id derived from the conversation
    (:meth:`first_task_id`), so it needs no entry here: starting a conversation
    writes one changelog record (the task), not two. Only the tasks after the first
    are stored, as a JSON array of task ids (``bytes``), small enough to rewrite on
    every new task; an index written before this rule may also hold a first task of
    its own. Co-partitioned with the tasks because both are keyed by the same routing
    key at write time. Each owner (the ``OwnerResolver`` value of the call, ``""``
    when unauthenticated; :mod:`tables.keys`) has its own conversations: two owners
    using the same ``context_id`` never see each other's tasks.

    Args:
        table: The ``contexts`` table (``MutableMapping[str, bytes]``).
        agent: The agent whose conversations this index holds.
    """

    def __init__(self, table: MutableMapping[str, bytes], agent: str) -> None:
        self._table = table
        self._agent = agent

    def first_task_id(self, context_id: str, owner: str = "") -> str:
        """The id the owner's first task of the conversation has, or gets when it is
        started (:func:`app.binding.first_task_id`)."""
        return binding.first_task_id(owner_prefix(self._agent, owner), context_id)

    def task_ids(self, context_id: str, owner: str = "") -> list[str]:
        """The owner's task ids of the conversation, oldest first: :meth:`first_task_id`,
        then the stored later tasks.

        The first id is listed whether or not its task exists (the conversation may
        not have started, or retention deleted the task): look each id up.
        """
        first = self.first_task_id(context_id, owner)
        return [first, *(i for i in self._later(context_id, owner) if i != first)]

    def remove(self, context_id: str, task_id: str, owner: str = "") -> None:
        """Drops ``task_id`` from the conversation; an emptied entry is deleted."""
        key = scoped(self._agent, context_id, owner)
        stored = self._later(context_id, owner)
        ids = [i for i in stored if i != task_id]
        if len(ids) == len(stored):
            return
        if ids:
            self._table[key] = json.dumps(ids).encode()
        else:
            self._table.pop(key, None)

    def add(self, context_id: str, task_id: str, owner: str = "") -> None:
        """Records ``task_id`` as the conversation's newest task (nothing is written for
        its first task, :meth:`first_task_id`, or a task already recorded)."""
        if task_id == self.first_task_id(context_id, owner):
            return
        ids = self._later(context_id, owner)
        if task_id not in ids:
            ids.append(task_id)
            self._table[scoped(self._agent, context_id, owner)] = json.dumps(ids).encode()

    def _later(self, context_id: str, owner: str) -> list[str]:
        raw = self._table.get(scoped(self._agent, context_id, owner))
        return [] if raw is None else list(json.loads(raw))

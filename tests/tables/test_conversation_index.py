"""The conversation index: a conversation's first task costs no entry, later ones do.

The index over a plain ``dict`` (the table's ``MutableMapping`` interface): what it
writes is what would become changelog records in the worker.
"""

from __future__ import annotations

import json

from app import binding
from tables import ConversationIndex


def test_the_first_task_id_is_derived_routed_and_scoped() -> None:
    index = ConversationIndex({}, "echo")
    first = index.first_task_id("ctx-1")
    assert first == index.first_task_id("ctx-1")
    assert binding.task_routing_key(first) == "ctx-1"
    assert len({first, index.first_task_id("ctx-2"), index.first_task_id("ctx-1", "alice")}) == 3
    assert first != ConversationIndex({}, "other").first_task_id("ctx-1")


def test_only_the_tasks_after_the_first_are_written() -> None:
    table: dict[str, bytes] = {}
    index = ConversationIndex(table, "echo")
    first = index.first_task_id("ctx-1")
    index.add("ctx-1", first)
    assert table == {}
    assert index.task_ids("ctx-1") == [first]
    index.add("ctx-1", "t2.ctx-1")
    index.add("ctx-1", "t2.ctx-1")
    assert json.loads(table["echo/ctx-1"]) == ["t2.ctx-1"]
    assert index.task_ids("ctx-1") == [first, "t2.ctx-1"]
    assert index.task_ids("ctx-1", "alice") == [index.first_task_id("ctx-1", "alice")]


def test_remove_deletes_an_emptied_entry_and_writes_nothing_for_the_first_task() -> None:
    table: dict[str, bytes] = {}
    index = ConversationIndex(table, "echo")
    first = index.first_task_id("ctx-1")
    index.add("ctx-1", "t2.ctx-1")
    index.remove("ctx-1", first)
    assert json.loads(table["echo/ctx-1"]) == ["t2.ctx-1"]
    index.remove("ctx-1", "t2.ctx-1")
    assert table == {}


def test_an_entry_written_before_the_rule_keeps_its_first_task() -> None:
    table = {"echo/ctx-1": json.dumps(["old.ctx-1", "t2.ctx-1"]).encode()}
    index = ConversationIndex(table, "echo")
    assert index.task_ids("ctx-1") == [index.first_task_id("ctx-1"), "old.ctx-1", "t2.ctx-1"]

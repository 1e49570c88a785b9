"""``ListTasks`` order and paging, shared by every partition and by the merging client.

A2A 1.0 §3.1.4 orders tasks by last status update, newest first. Task ids break ties,
so the order is total and one cursor — a2a-sdk's opaque ``ListTasksCursor`` of the
last task of a page — means the same position in every partition: each partition
answers the tasks after it, and the client merges the partitions' answers into one
page (see ``KafkaTransport.list_tasks``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from a2a.types import ListTasksResponse, Task
from a2a.utils.errors import InvalidParamsError
from a2a.utils.task import ListTasksCursor, decode_list_tasks_cursor, encode_list_tasks_cursor

SortKey = tuple[bool, int, str]


def sort_key(task: Task) -> SortKey:
    """``(has a status timestamp, timestamp ns, task id)``; lists sort it descending."""
    has_timestamp = task.HasField("status") and task.status.HasField("timestamp")
    timestamp = task.status.timestamp.ToNanoseconds() if has_timestamp else 0
    return (has_timestamp, timestamp, task.id)


def page_token_after(task: Task) -> str:
    """The page token that continues after ``task``."""
    has_timestamp, timestamp, task_id = sort_key(task)
    cursor = ListTasksCursor(timestamp_ns=timestamp if has_timestamp else None, task_id=task_id)
    return encode_list_tasks_cursor(cursor)


def page(tasks: Iterable[Task], page_token: str, page_size: int) -> ListTasksResponse:
    """One page of ``tasks`` in ``ListTasks`` order, starting after ``page_token``.

    ``total_size`` counts every task given (they are already filtered).

    Raises:
        InvalidParamsError: ``page_token`` is not a cursor (A2A ``-32602``).
    """
    ordered = sorted(tasks, key=sort_key, reverse=True)
    start = 0
    if page_token:
        cursor = decode_list_tasks_cursor(page_token)
        if cursor is None:
            raise InvalidParamsError(message=f"Invalid page token: {page_token}")
        after = cursor.sort_key()
        start = next((i for i, t in enumerate(ordered) if sort_key(t) < after), len(ordered))
    chunk = ordered[start : start + page_size]
    more = start + page_size < len(ordered)
    return ListTasksResponse(
        tasks=chunk,
        next_page_token=page_token_after(chunk[-1]) if more and chunk else "",
        total_size=len(ordered),
        page_size=page_size,
    )


def merge_pages(pages: Sequence[ListTasksResponse], page_size: int) -> ListTasksResponse:
    """One page from the pages that each partition answered for the same request."""
    tasks = sorted((t for p in pages for t in p.tasks), key=sort_key, reverse=True)
    chunk = tasks[:page_size]
    more = len(tasks) > page_size or any(p.next_page_token for p in pages)
    return ListTasksResponse(
        tasks=chunk,
        next_page_token=page_token_after(chunk[-1]) if more and chunk else "",
        total_size=sum(p.total_size for p in pages),
        page_size=page_size,
    )

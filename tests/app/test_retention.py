"""Which tasks the retention sweep deletes, and how often it runs."""

from __future__ import annotations

from a2a.types import Task, TaskState, TaskStatus
from google.protobuf.timestamp_pb2 import Timestamp

from app.retention import expired, sweep_interval

NOW = 1_800_000_000.0


def task(name: str, state: TaskState, age_seconds: float | None) -> Task:
    status = TaskStatus(state=state)
    if age_seconds is not None:
        status.timestamp.CopyFrom(Timestamp(seconds=int(NOW - age_seconds)))
    return Task(id=name, status=status)


def test_only_old_terminal_tasks_expire() -> None:
    tasks = [
        task("old-completed", TaskState.TASK_STATE_COMPLETED, 3600),
        task("old-failed", TaskState.TASK_STATE_FAILED, 3600),
        task("old-canceled", TaskState.TASK_STATE_CANCELED, 3600),
        task("old-input-required", TaskState.TASK_STATE_INPUT_REQUIRED, 3600),
        task("old-working", TaskState.TASK_STATE_WORKING, 3600),
        task("new-completed", TaskState.TASK_STATE_COMPLETED, 10),
        task("no-timestamp", TaskState.TASK_STATE_COMPLETED, None),
    ]
    assert [t.id for t in expired(tasks, NOW, retention=60)] == [
        "old-completed",
        "old-failed",
        "old-canceled",
    ]


def test_sweep_interval_is_a_quarter_of_the_retention_within_bounds() -> None:
    assert sweep_interval(2) == 1.0
    assert sweep_interval(400) == 100.0
    assert sweep_interval(7 * 24 * 3600) == 600.0

"""Retention of finished tasks: each partition owner deletes its old terminal tasks.

Table writes must happen while a record of the owning partition is handled, so the
sweep is itself a stream: a timer on every worker produces one tick record per
partition it owns to the internal ``<app id>-retention`` topic (partitioned like the
request topics, hence owned by the same worker), and the tick's handler deletes, in
that partition, the tasks that ended more than ``task_retention`` seconds ago, with
their conversation entries, push configs and redelivery records.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from a2a.server.agent_execution.active_task import TERMINAL_TASK_STATES
from a2a.types import Task
from faust.types import StreamT

from app.auth import owner_context
from app.worker import A2AWorker


def expired(tasks: Iterable[Task], now: float, retention: float) -> list[Task]:
    """The terminal tasks whose last status update is older than ``retention`` seconds.

    Args:
        tasks: Candidate tasks.
        now: Current time, Unix seconds.
        retention: How long a finished task is kept, seconds.
    """
    horizon_ns = int((now - retention) * 1e9)
    return [
        task
        for task in tasks
        if task.status.state in TERMINAL_TASK_STATES
        and task.status.HasField("timestamp")
        and task.status.timestamp.ToNanoseconds() < horizon_ns
    ]


def sweep_interval(retention: float) -> float:
    """Seconds between sweeps: a quarter of the retention, within [1 s, 10 min]."""
    return min(600.0, max(1.0, retention / 4))


def register_retention(worker: A2AWorker) -> None:
    """Adds the retention topic, its per-partition ticks and the sweeping agent."""
    app, settings = worker.app, worker.settings
    topic = app.topic(
        f"{settings.app_id}-retention",
        key_serializer="raw",
        value_serializer="raw",
        partitions=settings.partitions,
        internal=True,
    )

    @app.timer(sweep_interval(settings.task_retention), name="retention-ticks")
    async def tick() -> None:
        """One tick per partition of the retention topic that this worker owns."""
        now = str(time.time()).encode()
        for tp in app.assignor.assigned_actives():
            if tp.topic == topic.get_topic_name():
                await topic.send(value=now, partition=tp.partition)

    @app.agent(topic, name="retention-sweeper")
    async def sweep(stream: StreamT) -> None:
        """Deletes the expired tasks of the tick's partition."""
        async for event in stream.events():
            partition, now = event.message.partition, float(event.value)
            for hosted in worker.agents.values():
                owned = hosted.tasks.owned_tasks(partition)
                owners = {task.id: owner for owner, task in owned}
                gone = expired((task for _, task in owned), now, settings.task_retention)
                for task in gone:
                    owner = owners.get(task.id, "")
                    await hosted.tasks.delete(task.id, owner_context(owner))
                    await hosted.push_configs.delete_info(task.id, owner_context(owner))
                    hosted.conversations.remove(task.context_id, task.id, owner)

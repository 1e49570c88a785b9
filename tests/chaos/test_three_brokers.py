"""Losing a broker loses nothing (issue 14): three brokers (replication factor 3,
``min.insync.replicas`` 2), two workers with ``FAUST_A2A_REPLICATION_FACTOR=3``, the
load of ``support.chaos``; broker 2 is killed, brought back, then broker 3 is killed,
in the same run.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from support.chaos import (
    RUNS,
    EchoWorkers,
    KafkaCluster,
    Timeline,
    assert_nothing_lost,
    run_scenario,
)

BROKERS = 3
#: ERROR lines one worker may write while partition leadership moves (it recovers by
#: itself: WARNING).
MAX_ERROR_LINES = 5


@pytest.mark.parametrize("run", RUNS)
async def test_kill_a_broker_bring_it_back_kill_another(
    kafka: KafkaCluster,
    echo_workers: Callable[..., Awaitable[EchoWorkers]],
    report_path: Path,
    run: int,
) -> None:
    workers = await echo_workers(env={"FAUST_A2A_REPLICATION_FACTOR": "3"})

    async def fault(timeline: Timeline) -> list[float]:
        await asyncio.sleep(3)
        await asyncio.to_thread(kafka.kill, 2)
        first = timeline.mark("SIGKILL broker 2")
        await asyncio.sleep(7)
        timeline.mark("restarting broker 2")
        await asyncio.to_thread(kafka.start)
        timeline.mark("broker 2 answers")
        await asyncio.sleep(5)
        await asyncio.to_thread(kafka.kill, 3)
        second = timeline.mark("SIGKILL broker 3")
        await asyncio.sleep(10)
        return [first, second]

    report = await run_scenario(
        "three-brokers-kill-2-restart-kill-3", run, workers, fault, report_path
    )
    assert_nothing_lost(report)
    assert report.worker_error_lines <= MAX_ERROR_LINES, report.worker_log_during_fault

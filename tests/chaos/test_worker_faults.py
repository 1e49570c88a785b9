"""Worker crashes under load (issue 8): nothing lost, nothing left hanging, no caller
told a state the store does not hold.

Two workers, 8 partitions, ``CHAOS_CALLS`` (500) calls 64 at a time; see
``support.chaos`` for the load, the audit and the report.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from support.chaos import RUNS, EchoWorkers, Timeline, assert_nothing_lost, run_scenario


@pytest.mark.parametrize("run", RUNS)
async def test_sigkill_one_worker_then_restart_it(
    echo_workers: Callable[..., Awaitable[EchoWorkers]], report_path: Path, run: int
) -> None:
    workers = await echo_workers()

    async def fault(timeline: Timeline) -> list[float]:
        await asyncio.sleep(3)
        await workers.stop(1, signal.SIGKILL)
        started = timeline.mark("SIGKILL worker 1")
        await asyncio.sleep(7)
        timeline.mark("restarting worker 1")
        await workers.restart(1)
        timeline.mark("worker 1 ready")
        return [started]

    report = await run_scenario("worker-sigkill-restart", run, workers, fault, report_path)
    assert_nothing_lost(report)


@pytest.mark.parametrize("run", RUNS)
async def test_workers_stopped_and_restarted_as_the_load_starts(
    echo_workers: Callable[..., Awaitable[EchoWorkers]], report_path: Path, run: int
) -> None:
    """SIGTERM to one worker 0.3 s into the load and a restart, then SIGKILL to the
    other and a restart: four rebalances while most partitions have no committed offset
    yet. This is where Faust dropped records after its recovery (``app.acks``)."""
    workers = await echo_workers()

    async def fault(timeline: Timeline) -> list[float]:
        await asyncio.sleep(0.3)
        started = timeline.mark("SIGTERM worker 1")
        await workers.stop(1, signal.SIGTERM)
        timeline.mark("worker 1 exited")
        await workers.restart(1)
        timeline.mark("worker 1 ready")
        await asyncio.sleep(0.5)
        await workers.stop(0, signal.SIGKILL)
        timeline.mark("SIGKILL worker 0")
        await asyncio.sleep(1)
        await workers.restart(0)
        timeline.mark("worker 0 ready")
        await asyncio.sleep(2)
        return [started]

    report = await run_scenario("worker-restarts-at-load-start", run, workers, fault, report_path)
    assert_nothing_lost(report)

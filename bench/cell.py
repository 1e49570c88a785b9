"""One measurement (a cell): a target, a mode, a concurrency, one repeat.

:func:`run_cell` runs it from the benchmark's own process: it splits the callers over
the cell's load processes (:mod:`bench.load`), has each open its client, gives them
one start time, and reads the CPU time of the target's server processes and of the
broker at the measured window's start and end (``/proc``), the servers' peak
resident memory at its end. The load processes report their calls and their own CPU.

A cell is *client-bound* when a load process used more than :data:`SATURATION` of a
core in the window: the client, not the server, was the limit then.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

from bench import procstat
from bench.clients import CALL_TIMEOUT, ClientSpec, Mode
from bench.load import LoadResult, Share, Window, drive, prepare

#: Share of one core above which a load process is the limit.
SATURATION = 0.8
#: Calls per caller a window must see completed for its rate to mean something.
MIN_ROUNDS = 2
#: Seconds between the last client opened and the callers' start.
START_MARGIN = 0.2
#: Seconds a load process may take to open its client.
PREPARE_TIMEOUT = 120.0
#: Share of the machine's CPU time stolen by the hypervisor above which a cell's
#: figures are not comparable with the others (the machine was slower then).
STEAL_LIMIT = 0.05

#: Waits for a load process's future (and checks the servers while it waits).
Wait = Callable[[Future[Any], float], Any]


@dataclass(frozen=True)
class Cell:
    """One measurement.

    Attributes:
        target: The target's name (:mod:`bench.targets`).
        client: The client the load processes open.
        mode: ``send`` (``SendMessage``) or ``stream`` (``SendStreamingMessage``).
        concurrency: Callers in all, each with one call in flight at a time.
        duration: Measured seconds.
        warmup: Unmeasured seconds before them.
        repeat: Which repeat of this cell (0-based; -1: the broker warm-up).
        load_processes: Load processes the callers are split over.
        server_pids: The processes serving the target (their CPU and memory count).
        broker_pid: The Kafka broker's process (its CPU is reported for every cell).
        uses_broker: Whether the target's requests go through the broker (its CPU
            then counts as the target's: ``server_plus_broker``).
    """

    target: str
    client: ClientSpec
    mode: Mode
    concurrency: int
    duration: float
    warmup: float
    repeat: int
    load_processes: int
    server_pids: tuple[int, ...]
    broker_pid: int
    uses_broker: bool

    def shares(self) -> list[Share]:
        """The callers split over the load processes, as evenly as they go."""
        base, extra = divmod(self.concurrency, self.load_processes)
        shares, first = [], 0
        for index in range(self.load_processes):
            callers = base + (1 if index < extra else 0)
            shares.append(Share(self.client, self.mode, callers, first))
            first += callers
        return shares


@dataclass(frozen=True)
class Percentiles:
    """p50, p95 and p99 in milliseconds (nearest rank)."""

    p50: float
    p95: float
    p99: float

    @classmethod
    def of(cls, seconds: Sequence[float]) -> Percentiles:
        """The percentiles of ``seconds`` (NaN when empty)."""
        ordered = sorted(seconds)

        def rank(q: float) -> float:
            if not ordered:
                return math.nan
            return ordered[max(0, math.ceil(q * len(ordered)) - 1)] * 1000

        return cls(rank(0.50), rank(0.95), rank(0.99))


@dataclass(frozen=True)
class CellResult:
    """What one cell measured.

    Attributes:
        cell: The measurement.
        tasks: Calls completed in the measured window.
        errors: Calls that failed, in the whole run (warm-up and drain included).
        first_error: The first failure, as ``repr``, if any.
        seconds: Length of the measured window.
        latency: Whole-call latency of the measured calls.
        first_event: Time to the first event (or reply record) of the measured calls.
        server_cpu_seconds: CPU used in the window by each server process, in the
            order of ``cell.server_pids``.
        broker_cpu_seconds: CPU used by the broker in the window.
        client_cpu_seconds: CPU used in the window by each load process.
        server_peak_rss: Sum of the server processes' peak resident memory, bytes.
        steal_seconds: CPU time stolen by the hypervisor in the window, all CPUs
            together (:func:`bench.procstat.steal_seconds`).
    """

    cell: Cell
    tasks: int
    errors: int
    first_error: str | None
    seconds: float
    latency: Percentiles
    first_event: Percentiles
    server_cpu_seconds: tuple[float, ...]
    broker_cpu_seconds: float
    client_cpu_seconds: tuple[float, ...]
    server_peak_rss: int
    steal_seconds: float

    @property
    def server_cpu_total(self) -> float:
        """CPU used by all the server processes in the window."""
        return sum(self.server_cpu_seconds)

    @property
    def tasks_per_second(self) -> float:
        """Throughput in the measured window."""
        return self.tasks / self.seconds if self.seconds > 0 else 0.0

    def per_task_ms(self, cpu_seconds: float) -> float:
        """``cpu_seconds`` per measured task, in milliseconds (NaN without tasks)."""
        if self.tasks == 0:
            return math.nan
        return cpu_seconds * 1000 / self.tasks

    @property
    def server_cpu_ms(self) -> float:
        """The server processes' CPU per task, ms."""
        return self.per_task_ms(self.server_cpu_total)

    @property
    def broker_cpu_ms(self) -> float:
        """The broker's CPU per task, ms (whatever target the cell measured)."""
        return self.per_task_ms(self.broker_cpu_seconds)

    @property
    def server_plus_broker_cpu_ms(self) -> float:
        """The server processes' and the broker's CPU per task, ms; NaN for a target
        whose requests do not go through the broker."""
        if not self.cell.uses_broker:
            return math.nan
        return self.per_task_ms(self.server_cpu_total + self.broker_cpu_seconds)

    @property
    def client_cpu_ms(self) -> float:
        """All the load processes' CPU per task, ms."""
        return self.per_task_ms(sum(self.client_cpu_seconds))

    @property
    def client_core_share(self) -> float:
        """The busiest load process's CPU over the window's length (1.0 = a whole core)."""
        return max(self.client_cpu_seconds) / self.seconds if self.seconds > 0 else math.nan

    @property
    def steal_share(self) -> float:
        """Stolen CPU time over the window's CPU time (1.0: every CPU, the whole window)."""
        cpus = os.cpu_count() or 1
        return self.steal_seconds / (self.seconds * cpus) if self.seconds > 0 else math.nan

    @property
    def slowed(self) -> bool:
        """More than :data:`STEAL_LIMIT` of the window's CPU time was stolen."""
        return self.steal_share > STEAL_LIMIT

    @property
    def enough_rounds(self) -> bool:
        """At least :data:`MIN_ROUNDS` calls per caller completed in the window."""
        return self.tasks >= MIN_ROUNDS * self.cell.concurrency

    @property
    def client_bound(self) -> bool:
        """A load process used more than :data:`SATURATION` of a core."""
        return self.client_core_share > SATURATION


def _cpu(pids: Sequence[int]) -> list[float]:
    return [procstat.cpu_seconds(pid) for pid in pids]


def run_cell(cell: Cell, processes: Sequence[ProcessPoolExecutor], wait: Wait) -> CellResult:
    """Runs ``cell`` on the first ``cell.load_processes`` of ``processes``.

    Raises:
        RuntimeError: a load process or a server failed (from ``wait``).
    """
    shares = cell.shares()
    pools = processes[: len(shares)]
    if len(pools) < len(shares):
        raise ValueError(f"{len(shares)} load processes needed, {len(processes)} given")
    for future in [pool.submit(prepare, share) for pool, share in zip(pools, shares, strict=True)]:
        wait(future, PREPARE_TIMEOUT)
    window = Window(time.monotonic() + START_MARGIN, cell.warmup, cell.duration)
    futures = [pool.submit(drive, window) for pool in pools]
    pids = (*cell.server_pids, cell.broker_pid)
    time.sleep(max(0.0, window.measured_start - time.monotonic()))
    before, stolen, began = _cpu(pids), procstat.steal_seconds(), time.monotonic()
    time.sleep(max(0.0, window.end - time.monotonic()))
    after, seconds = _cpu(pids), time.monotonic() - began
    stolen = procstat.steal_seconds() - stolen
    rss = sum(procstat.peak_rss_bytes(pid) for pid in cell.server_pids)
    loads: list[LoadResult] = [wait(f, CALL_TIMEOUT + 60) for f in futures]
    used = [b - a for a, b in zip(before, after, strict=True)]
    return CellResult(
        cell=cell,
        tasks=sum(len(load.latencies) for load in loads),
        errors=sum(load.errors for load in loads),
        first_error=next((load.first_error for load in loads if load.first_error), None),
        seconds=seconds,
        latency=Percentiles.of([x for load in loads for x in load.latencies]),
        first_event=Percentiles.of([x for load in loads for x in load.first_events]),
        server_cpu_seconds=tuple(used[:-1]),
        broker_cpu_seconds=used[-1],
        client_cpu_seconds=tuple(load.cpu_seconds for load in loads),
        server_peak_rss=rss,
        steal_seconds=stolen,
    )

"""The closed-loop load generator, run in a client process of its own.

One measurement, a :class:`Cell`, keeps ``concurrency`` callers busy against one
target: each sends a message, waits for the whole answer, and sends the next. The
first ``warmup`` seconds are not measured; then for ``duration`` seconds every call
that completes is counted, with its latency (start to last event) and its time to
first event. CPU time of the server process(es), of the broker and of this client
process is read at the start and the end of the measured window; the servers' peak
resident memory at its end. After the window no new call starts; calls under way
finish (and count as errors if they fail). Every call must succeed: any exception,
or an answer that is not a completed task echoing the text, is an error.

:func:`run_cell` and :func:`probe` are the entry points the benchmark submits to a
client process (``ProcessPoolExecutor``); both run their own event loop.
"""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass

from bench import procstat
from bench.targets import Mode, TargetSpec, open_target


@dataclass(frozen=True)
class Cell:
    """One measurement: a target, a mode, a concurrency, for a while.

    Attributes:
        target: The system under test.
        mode: ``send`` (``SendMessage``) or ``stream`` (``SendStreamingMessage``).
        concurrency: Callers, each with one call in flight at a time.
        duration: Measured seconds.
        warmup: Unmeasured seconds before them.
        server_pids: The processes serving the target (their CPU and memory count).
        broker_pid: The Kafka broker's process, if known (its CPU is reported).
    """

    target: TargetSpec
    mode: Mode
    concurrency: int
    duration: float
    warmup: float
    server_pids: tuple[int, ...]
    broker_pid: int | None = None


@dataclass(frozen=True)
class Percentiles:
    """p50, p95 and p99 in milliseconds (nearest rank)."""

    p50: float
    p95: float
    p99: float

    @classmethod
    def of(cls, seconds: list[float]) -> Percentiles:
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
        broker_cpu_seconds: CPU used by the broker in the window (``None``: unknown).
        client_cpu_seconds: CPU used by this client process in the window.
        server_peak_rss: Sum of the server processes' peak resident memory, bytes.
    """

    cell: Cell
    tasks: int
    errors: int
    first_error: str | None
    seconds: float
    latency: Percentiles
    first_event: Percentiles
    server_cpu_seconds: tuple[float, ...]
    broker_cpu_seconds: float | None
    client_cpu_seconds: float
    server_peak_rss: int

    @property
    def server_cpu_total(self) -> float:
        """CPU used by all the server processes in the window."""
        return sum(self.server_cpu_seconds)

    @property
    def tasks_per_second(self) -> float:
        """Throughput in the measured window."""
        return self.tasks / self.seconds if self.seconds > 0 else 0.0

    def per_task_ms(self, cpu_seconds: float | None) -> float:
        """``cpu_seconds`` per measured task, in milliseconds (NaN without tasks or data)."""
        if cpu_seconds is None or self.tasks == 0:
            return math.nan
        return cpu_seconds * 1000 / self.tasks


@dataclass(frozen=True)
class _CpuSnapshot:
    server: tuple[float, ...]
    broker: float | None
    client: float

    @classmethod
    def take(cls, cell: Cell) -> _CpuSnapshot:
        return cls(
            server=tuple(procstat.cpu_seconds(pid) for pid in cell.server_pids),
            broker=None if cell.broker_pid is None else procstat.cpu_seconds(cell.broker_pid),
            client=time.process_time(),
        )


async def _measure(cell: Cell) -> CellResult:
    target = await open_target(cell.target, cell.mode, cell.concurrency)
    start = time.perf_counter()
    window_start, window_end = start + cell.warmup, start + cell.warmup + cell.duration
    latencies: list[float] = []
    first_events: list[float] = []
    failures = 0
    first_failure: str | None = None

    async def caller(index: int) -> None:
        nonlocal failures, first_failure
        sent = 0
        while time.perf_counter() < window_end:
            text = f"bench {index}.{sent}"
            sent += 1
            began = time.perf_counter()
            try:
                first = await target.call(text)
            except Exception as exc:
                failures += 1
                first_failure = first_failure or repr(exc)
                continue
            ended = time.perf_counter()
            if window_start <= ended <= window_end:
                latencies.append(ended - began)
                first_events.append(first - began)

    async def snapshots() -> tuple[float, _CpuSnapshot, _CpuSnapshot]:
        await asyncio.sleep(window_start - time.perf_counter())
        before, began = _CpuSnapshot.take(cell), time.perf_counter()
        await asyncio.sleep(window_end - time.perf_counter())
        after = _CpuSnapshot.take(cell)
        return time.perf_counter() - began, before, after

    try:
        window, _ = await asyncio.gather(
            snapshots(), asyncio.gather(*(caller(i) for i in range(cell.concurrency)))
        )
    finally:
        await target.close()
    seconds, before, after = window
    return CellResult(
        cell=cell,
        tasks=len(latencies),
        errors=failures,
        first_error=first_failure,
        seconds=seconds,
        latency=Percentiles.of(latencies),
        first_event=Percentiles.of(first_events),
        server_cpu_seconds=tuple(b - a for a, b in zip(before.server, after.server, strict=True)),
        broker_cpu_seconds=(
            None if after.broker is None or before.broker is None else after.broker - before.broker
        ),
        client_cpu_seconds=after.client - before.client,
        server_peak_rss=sum(procstat.peak_rss_bytes(pid) for pid in cell.server_pids),
    )


def run_cell(cell: Cell) -> CellResult:
    """Runs one measurement (in the calling process, with its own event loop)."""
    return asyncio.run(_measure(cell))


async def _probe(target: TargetSpec, mode: Mode, attempt_timeout: float, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            client = await open_target(target, mode, 1)
            try:
                await asyncio.wait_for(client.call("probe"), attempt_timeout)
            finally:
                await client.close()
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.5)


def probe(
    target: TargetSpec, mode: Mode, attempt_timeout: float = 5.0, timeout: float = 90.0
) -> None:
    """Waits until one call to ``target`` succeeds: the target serves end to end.

    Retries every failed or slow (``attempt_timeout`` s) call for up to
    ``timeout`` seconds, then raises the last attempt's exception.
    """
    asyncio.run(_probe(target, mode, attempt_timeout, timeout))

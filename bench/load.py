"""The closed-loop load generator, run in load processes of their own.

A cell's callers are split over one or more load processes, each running one
:class:`Share` of them: every caller sends a message, waits for the whole answer,
and sends the next. A load process first opens its client (:func:`prepare`), then,
told a common start time, runs its callers (:func:`drive`): the first ``warmup``
seconds are not measured; then for ``duration`` seconds every call that completes is
counted, with its latency (start to last event) and its time to first event, and
the process's own CPU time is read at the window's start and end. After the window
no new call starts; calls under way finish (and count as errors if they fail). Every
call must succeed: any exception, or an answer that is not a completed task echoing
the text, is an error.

These functions are what the benchmark submits to a load process (one
``ProcessPoolExecutor`` of one process each, spawned): the process keeps one event
loop and the client :func:`prepare` opened between calls, so that opening a client
(reading the registry, joining the broker) never eats into a measured window. The
window's times are ``time.monotonic()``, one clock for every process on the machine
(``CLOCK_MONOTONIC``, Linux).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from bench.clients import ClientSpec, Mode, Target, open_client


@dataclass(frozen=True)
class Share:
    """What one load process runs in a cell.

    Attributes:
        client: The client to open.
        mode: ``send`` (``SendMessage``) or ``stream`` (``SendStreamingMessage``).
        callers: Callers of this process, each with one call in flight at a time.
        first_caller: Index of its first caller in the cell (message texts are unique).
    """

    client: ClientSpec
    mode: Mode
    callers: int
    first_caller: int = 0


@dataclass(frozen=True)
class Window:
    """When the callers run, in ``time.monotonic()`` seconds.

    Attributes:
        start: When the callers start (the warm-up's start).
        warmup: Unmeasured seconds.
        duration: Measured seconds after the warm-up.
    """

    start: float
    warmup: float
    duration: float

    @property
    def measured_start(self) -> float:
        """Start of the measured window."""
        return self.start + self.warmup

    @property
    def end(self) -> float:
        """End of the measured window."""
        return self.start + self.warmup + self.duration


@dataclass(frozen=True)
class LoadResult:
    """What one load process measured in one cell.

    Attributes:
        latencies: Whole-call latency of each call completed in the window, seconds.
        first_events: Time to the first event of the same calls, seconds.
        errors: Calls that failed, warm-up and drain included.
        first_error: The first failure, as ``repr``, if any.
        cpu_seconds: CPU this process used in the measured window.
    """

    latencies: tuple[float, ...]
    first_events: tuple[float, ...]
    errors: int
    first_error: str | None
    cpu_seconds: float


class _Process:
    """This load process's event loop and the client it has open."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.share: Share | None = None
        self.client: Target | None = None

    async def close(self) -> None:
        client, self.client, self.share = self.client, None, None
        if client is not None:
            await client.close()


_process: _Process | None = None


def _this_process() -> _Process:
    global _process
    if _process is None:
        _process = _Process()
        asyncio.set_event_loop(_process.loop)
    return _process


async def _prepare(process: _Process, share: Share) -> None:
    await process.close()
    process.client = await open_client(share.client, share.mode, share.callers)
    process.share = share


def prepare(share: Share) -> None:
    """Opens ``share``'s client in this process (closing one left open before)."""
    process = _this_process()
    process.loop.run_until_complete(_prepare(process, share))


async def _drive(process: _Process, window: Window) -> LoadResult:
    share, client = process.share, process.client
    if share is None or client is None:
        raise RuntimeError("drive() without prepare()")
    latencies: list[float] = []
    first_events: list[float] = []
    failures = 0
    first_failure: str | None = None

    async def caller(index: int) -> None:
        nonlocal failures, first_failure
        sent = 0
        await asyncio.sleep(window.start - time.monotonic())
        while time.monotonic() < window.end:
            text = f"bench {index}.{sent}"
            sent += 1
            began = time.perf_counter()
            try:
                first = await client.call(text)
            except Exception as exc:
                failures += 1
                first_failure = first_failure or repr(exc)
                continue
            ended = time.perf_counter()
            if window.measured_start <= time.monotonic() <= window.end:
                latencies.append(ended - began)
                first_events.append(first - began)

    async def cpu_in_window() -> float:
        await asyncio.sleep(window.measured_start - time.monotonic())
        before = time.process_time()
        await asyncio.sleep(window.end - time.monotonic())
        return time.process_time() - before

    callers = range(share.first_caller, share.first_caller + share.callers)
    try:
        cpu, _ = await asyncio.gather(
            cpu_in_window(), asyncio.gather(*(caller(i) for i in callers))
        )
    finally:
        await process.close()
    return LoadResult(tuple(latencies), tuple(first_events), failures, first_failure, cpu)


def drive(window: Window) -> LoadResult:
    """Runs the prepared share's callers in ``window``, then closes its client."""
    process = _this_process()
    return process.loop.run_until_complete(_drive(process, window))


async def _probe(client: ClientSpec, mode: Mode, attempt_timeout: float, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            target = await open_client(client, mode, 1)
            try:
                await asyncio.wait_for(target.call("probe"), attempt_timeout)
            finally:
                await target.close()
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.5)


def probe(
    client: ClientSpec, mode: Mode, attempt_timeout: float = 5.0, timeout: float = 90.0
) -> None:
    """Waits until one call through ``client`` succeeds: the target serves end to end.

    Retries every failed or slow (``attempt_timeout`` s) call for up to
    ``timeout`` seconds, then raises the last attempt's exception.
    """
    _this_process().loop.run_until_complete(_probe(client, mode, attempt_timeout, timeout))

"""The whole benchmark, end to end: ``python -m bench.run [--quick]`` (``make bench``).

1. Starts the servers on 127.0.0.1: one faust-a2a worker hosting the ``bench``
   agent (fresh app id; its consumer group starts at the end of the request topic),
   a2a-sdk's JSON-RPC HTTP server hosting the same executor, and the raw aiokafka
   echo; and one client process per target (``ProcessPoolExecutor``, spawned).
   Each target must answer one call before anything is measured.
2. For each mode (send, stream), each concurrency and each target, runs one
   closed-loop measurement (:mod:`bench.load`) in that target's client process.
3. Profiles the worker with pyinstrument during one more faust-a2a stream run at
   the summary concurrency (a separate run: the profiler slows the worker down).
4. Starts a second worker with the same app id, waits for the rebalance, and
   measures stream mode at the summary concurrency against the two.
5. Stops every process it started by PID, prints the report (:mod:`bench.report`)
   whose last line is the summary, and leaves the same figures as JSON lines in
   ``bench/results/bench-<UTC timestamp>.jsonl`` (with the profile's files).

A broker must answer at the bootstrap servers; ``scripts/bench`` starts one.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import multiprocessing
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO, TypeVar

from bench import echo, report
from bench.http_server import endpoint
from bench.load import Cell, CellResult, probe, run_cell
from bench.profile import profile_stats, write_renderings
from bench.report import KAFKA, KINDS, ProfileSummary, ResultsFile, ScaleOut
from bench.servers import (
    EchoProcess,
    HttpServerProcess,
    ServerProcess,
    WorkerProcess,
    retire_card,
    skip_stale_requests,
    terminate_with_parent,
)
from bench.targets import CALL_TIMEOUT, Kind, Mode, TargetSpec

logger = logging.getLogger("bench")

RESULTS_DIR = Path(__file__).resolve().parent / "results"
MODES: tuple[Mode, ...] = ("send", "stream")
#: How long to wait for a target's first successful call.
READY_TIMEOUT = 120.0

T = TypeVar("T")
S = TypeVar("S", bound=ServerProcess)


@dataclass(frozen=True)
class BenchConfig:
    """What to run.

    Attributes:
        bootstrap_servers: The broker (must answer).
        concurrencies: Concurrencies of the main tables, ascending.
        duration: Measured seconds per cell.
        warmup: Unmeasured seconds before each cell's window.
        summary_concurrency: The concurrency of the summary line, the profile and the
            two-worker scenario; one of ``concurrencies``.
        profile: Whether to profile the worker.
        scale_out: Whether to run the two-worker scenario.
        broker_pid: The broker's PID, to report its CPU; ``None`` if unknown.
        results_dir: Where the JSON lines and profile files go.
    """

    bootstrap_servers: str
    concurrencies: tuple[int, ...] = (1, 16, 64, 256)
    duration: float = 10.0
    warmup: float = 2.0
    summary_concurrency: int = 64
    profile: bool = True
    scale_out: bool = True
    broker_pid: int | None = None
    results_dir: Path = RESULTS_DIR

    def __post_init__(self) -> None:
        if self.summary_concurrency not in self.concurrencies:
            raise ValueError(
                f"summary concurrency {self.summary_concurrency} not in {self.concurrencies}"
            )


#: ``--quick`` (``QUICK=1``): measured and warm-up seconds per cell, about two
#: minutes in all.
QUICK_DURATION, QUICK_WARMUP = 3.0, 1.0


@dataclass(frozen=True)
class Outcome:
    """What one run measured (also printed and written as JSON lines)."""

    results: list[CellResult]
    profile: ProfileSummary | None
    scale_out: ScaleOut | None
    summary: str
    results_path: Path


class Harness:
    """The servers and client processes of one run; everything it starts is stopped
    when ``stack`` closes (client processes first, then servers by PID), and the
    ``bench`` card is then retired from the registry.

    Args:
        config: The run's settings.
        base_dir: Scratch space: data directories and logs.
        stack: Owns every process started.
        profile_path: Where the worker saves its pyinstrument session.
    """

    def __init__(
        self,
        config: BenchConfig,
        base_dir: Path,
        stack: contextlib.ExitStack,
        profile_path: Path,
    ) -> None:
        self.config = config
        self._base_dir = base_dir
        self._stack = stack
        self._profile_path = profile_path
        self.app_id = f"bench-{uuid.uuid4().hex[:12]}"
        servers = config.bootstrap_servers
        asyncio.run(skip_stale_requests(servers, self.app_id))
        stack.callback(lambda: asyncio.run(retire_card(servers)))
        self.workers = [self._start(self._worker(1))]
        http = self._start(HttpServerProcess(base_dir))
        self.servers: dict[Kind, ServerProcess] = {
            "faust-a2a": self.workers[0],
            "a2a-http": http,
            "raw-kafka": self._start(EchoProcess(servers, base_dir)),
        }
        self.specs: dict[Kind, TargetSpec] = {
            "faust-a2a": TargetSpec("faust-a2a", servers),
            "a2a-http": TargetSpec("a2a-http", endpoint(http.port)),
            "raw-kafka": TargetSpec("raw-kafka", servers),
        }
        spawn = multiprocessing.get_context("spawn")
        self.pools = {
            kind: stack.enter_context(
                ProcessPoolExecutor(1, mp_context=spawn, initializer=terminate_with_parent)
            )
            for kind in KINDS
        }
        self.workers[0].wait_ready()
        for kind in KINDS:
            self._wait(self.pools[kind].submit(probe, self.specs[kind], "send"), READY_TIMEOUT)

    def _worker(self, index: int) -> WorkerProcess:
        return WorkerProcess(
            self.config.bootstrap_servers,
            self.app_id,
            self._base_dir,
            index,
            profile_path=self._profile_path,
        )

    def _start(self, server: S) -> S:
        server.start()
        self._stack.callback(server.stop)
        return server

    def _wait(self, future: Future[T], timeout: float) -> T:
        """The future's result; raises if a server dies or ``timeout`` s pass first."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                return future.result(timeout=1.0)
            except TimeoutError:
                for server in (*self.servers.values(), *self.workers):
                    server.check_alive()
                if time.monotonic() > deadline:
                    raise RuntimeError(f"a client process did not finish in {timeout}s") from None

    def measure(self, kind: Kind, mode: Mode, concurrency: int) -> CellResult:
        """Runs one cell in ``kind``'s client process (faust-a2a: against every worker)."""
        pids = (
            tuple(w.pid for w in self.workers) if kind == "faust-a2a" else (self.servers[kind].pid,)
        )
        cell = Cell(
            target=self.specs[kind],
            mode=mode,
            concurrency=concurrency,
            duration=self.config.duration,
            warmup=self.config.warmup,
            server_pids=pids,
            broker_pid=self.config.broker_pid,
        )
        timeout = cell.warmup + cell.duration + CALL_TIMEOUT + 60
        result = self._wait(self.pools[kind].submit(run_cell, cell), timeout)
        logger.info(
            "%s %s c=%d x%d: %.1f tasks/s, p50 %.2f ms, %d errors",
            kind,
            mode,
            concurrency,
            len(pids),
            result.tasks_per_second,
            result.latency.p50,
            result.errors,
        )
        return result

    def profile(self) -> ProfileSummary:
        """Profiles the first worker during one faust-a2a stream cell."""
        worker = self.workers[0]
        if worker.get("/bench/profile/start")[0] != 200:
            raise RuntimeError(f"cannot start the profiler:\n{worker.log_tail()}")
        result = self.measure(KAFKA, "stream", self.config.summary_concurrency)
        if worker.get("/bench/profile/stop", timeout=120)[0] != 200:
            raise RuntimeError(f"cannot stop the profiler:\n{worker.log_tail()}")
        files = (self._profile_path, *write_renderings(self._profile_path))
        return ProfileSummary(result, profile_stats(self._profile_path), files)

    def scale_out(self, one_worker: Sequence[CellResult]) -> ScaleOut:
        """Adds a second worker with the same app id, then measures stream mode."""
        second = self._worker(2)
        self._start(second)
        self.workers.append(second)
        for worker in self.workers:
            worker.wait_ready()
        self._wait(self.pools[KAFKA].submit(probe, self.specs[KAFKA], "send"), READY_TIMEOUT)
        concurrency = self.config.summary_concurrency
        return ScaleOut(
            self.measure(KAFKA, "stream", concurrency),
            report.find(one_worker, KAFKA, "stream", concurrency),
        )


def run(config: BenchConfig, out: TextIO) -> Outcome:
    """Runs the benchmark, prints the report to ``out`` and writes the JSON lines."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    results_file = ResultsFile(config.results_dir / f"bench-{stamp}.jsonl", stamp)
    load_at_start = os.getloadavg()
    results_file.write(
        "start",
        config={**asdict(config), "results_dir": str(config.results_dir)},
        loadavg=load_at_start,
        cpus=os.cpu_count(),
    )
    results: list[CellResult] = []
    profile: ProfileSummary | None = None
    scale_out: ScaleOut | None = None
    with (
        tempfile.TemporaryDirectory(prefix="faust-a2a-bench-") as tmp,
        contextlib.ExitStack() as stack,
    ):
        harness = Harness(
            config, Path(tmp), stack, config.results_dir / f"bench-{stamp}-worker.pyisession"
        )
        for mode in MODES:
            for concurrency in config.concurrencies:
                for kind in KINDS:
                    result = harness.measure(kind, mode, concurrency)
                    results.append(result)
                    results_file.write("cell", **report.cell_record(result))
        if config.profile:
            profile = harness.profile()
            results_file.write(
                "profile",
                cell=report.cell_record(profile.cell),
                **asdict(profile.stats),
                files=[str(path) for path in profile.files],
            )
        if config.scale_out:
            scale_out = harness.scale_out(results)
            results_file.write(
                "scale_out",
                two_workers=report.cell_record(scale_out.two_workers),
                one_worker=report.cell_record(scale_out.one_worker),
            )
    load_at_end = os.getloadavg()
    for mode in MODES:
        for concurrency in config.concurrencies:
            tps, p50 = report.ratios(results, mode, concurrency)
            results_file.write(
                "ratio", mode=mode, concurrency=concurrency, tasks_per_s=tps, p50_latency=p50
            )
    results_file.write("end", loadavg=load_at_end)
    summary = report.summary_line(results, config.summary_concurrency, config.concurrencies[0])
    lines = [
        f"faust-a2a benchmark {stamp}: {config.duration:g} s per cell after"
        f" {config.warmup:g} s warm-up; {os.cpu_count()} CPUs; broker"
        f" {config.bootstrap_servers}; load average {_load(load_at_start)} at start,"
        f" {_load(load_at_end)} at end",
        f"fetch_max_wait_ms: faust-a2a client (KafkaTransport) and raw echo"
        f" {echo.FETCH_MAX_WAIT_MS} (explicit); worker's Faust consumer 1500 (Faust's own)",
        "",
    ]
    for mode in MODES:
        lines += [*report.mode_table(results, mode), ""]
    if scale_out is not None:
        lines += scale_out.lines()
    if profile is not None:
        lines += ["", *profile.lines()]
    lines += ["", f"results: {results_file.path}", summary]
    results_file.write("summary", line=summary)
    report.print_lines(lines, out)
    return Outcome(results, profile, scale_out, summary, results_file.path)


def _load(loadavg: tuple[float, float, float]) -> str:
    return " ".join(f"{value:.2f}" for value in loadavg)


def main(argv: list[str] | None = None) -> None:
    """Command line: ``python -m bench.run [--quick] [--bootstrap-servers …] [--broker-pid …]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 s per cell (about 2 minutes)")
    parser.add_argument(
        "--bootstrap-servers",
        default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"),
    )
    parser.add_argument("--broker-pid", type=int, help="the broker's PID, to report its CPU")
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    args = parser.parse_args(argv)
    logging.basicConfig(format="%(asctime)s %(name)s: %(message)s")
    logger.setLevel(logging.INFO)
    config = BenchConfig(
        args.bootstrap_servers, broker_pid=args.broker_pid, results_dir=args.results_dir
    )
    if args.quick:
        config = replace(config, duration=QUICK_DURATION, warmup=QUICK_WARMUP)
    run(config, sys.stdout)


if __name__ == "__main__":
    main()

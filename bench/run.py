"""The whole benchmark, end to end: ``python -m bench.run [--quick]`` (``make bench``).

1. Starts every target's servers on 127.0.0.1 (:mod:`bench.targets`: by default a
   faust-a2a worker with the project's defaults, one with
   ``FAUST_A2A_REQUEST_HANDLER=default``, a2a-sdk's JSON-RPC HTTP server on uvloop and
   httptools, and the raw aiokafka echo), and load processes (spawned,
   :mod:`bench.load`). Each target must answer one call before anything is measured.
   Finds the broker's process by its port unless told its PID: the broker's CPU is
   part of every Kafka target's cost.
2. Warms the broker up: its JVM compiles the produce and fetch paths only under load,
   and a freshly started broker spends several times more CPU per request (and
   adds milliseconds to every Kafka hop) for its first minute or two. Each target
   that uses the broker runs stream mode at the summary concurrency, unmeasured, for
   ``broker_warmup`` seconds in all (a ``warmup`` JSON line keeps the broker's CPU
   per second over it). Then measures every process's CPU with no load for a few
   seconds (the idle baseline).
3. ``repeats`` times, for each mode (send, stream) and concurrency, runs one
   closed-loop measurement (:mod:`bench.cell`) of each target, the targets' order
   rotated from one group of cells to the next and from one repeat to the next
   (faust, http, raw; http, raw, faust; …). A measurement where a load process used
   more than 80 % of a core is redone with one more load process, up to
   ``max_load_processes``; later cells of that target and mode start from there.
4. Profiles the faust-a2a worker with pyinstrument during one more stream cell at the
   summary concurrency (a separate run: the profiler slows the worker down).
5. Measures faust-a2a stream mode at the summary concurrency with the callers split
   over each of ``client_processes`` load processes: the clients' CPU per task as
   their number grows.
6. Starts a second faust-a2a worker with the same app id, waits for the rebalance,
   and measures stream mode at the summary concurrency against the two.
7. Stops every process it started by PID, prints the report (:mod:`bench.report`)
   whose last line is the summary, and leaves the same figures as JSON lines in
   ``bench/results/bench-<UTC timestamp>.jsonl`` (with the profile's files).

A broker must answer at the bootstrap servers; ``scripts/bench`` starts one.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import multiprocessing
import os
import sys
import tempfile
import time
import uuid
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO, TypeVar

from bench import report
from bench.cell import Cell, CellResult, run_cell
from bench.clients import Mode
from bench.load import probe
from bench.procstat import cpu_seconds
from bench.profile import profile_stats, write_renderings
from bench.report import ProfileSummary, ResultsFile, ScaleOut
from bench.servers import pid_listening_on, terminate_with_parent
from bench.targets import (
    DEFAULT_TARGETS,
    HTTP,
    KAFKA,
    TARGETS,
    Context,
    Deployment,
    FaustDeployment,
    HttpDeployment,
)

logger = logging.getLogger("bench")

RESULTS_DIR = Path(__file__).resolve().parent / "results"
MODES: tuple[Mode, ...] = ("send", "stream")
#: How long to wait for a target's first successful call.
READY_TIMEOUT = 120.0

T = TypeVar("T")


@dataclass(frozen=True)
class BenchConfig:
    """What to run.

    Attributes:
        bootstrap_servers: The broker (must answer).
        concurrencies: Concurrencies of the main tables, ascending.
        duration: Measured seconds per cell.
        warmup: Unmeasured seconds before each cell's window.
        repeats: Measurements of every cell, interleaved with the other targets'.
        targets: Names in :data:`bench.targets.TARGETS`; must include ``faust-a2a``
            and ``a2a-http`` (the summary compares them).
        max_load_processes: Most load processes one cell may be given.
        longer_windows: Times a cell with too few completed calls is measured again,
            its window doubled (:meth:`Harness.measure`).
        idle: Seconds of the idle baseline (0: none).
        broker_warmup: Seconds of unmeasured load on the broker before anything is
            measured, split over the targets that use it (0: none).
        client_processes: Load process counts of the client-scaling scenario (empty:
            none); each at most the summary concurrency.
        summary_concurrency: The concurrency of the summary line, the profile and the
            two-worker scenario; one of ``concurrencies``.
        profile: Whether to profile the worker.
        scale_out: Whether to run the two-worker scenario.
        broker_pid: The broker's PID; ``None``: the process listening on the first
            bootstrap server's port.
        results_dir: Where the JSON lines and profile files go.
    """

    bootstrap_servers: str
    concurrencies: tuple[int, ...] = (1, 16, 64, 256)
    duration: float = 10.0
    warmup: float = 2.0
    repeats: int = 3
    targets: tuple[str, ...] = DEFAULT_TARGETS
    max_load_processes: int = 4
    longer_windows: int = 2
    idle: float = 5.0
    broker_warmup: float = 40.0
    client_processes: tuple[int, ...] = (1, 4, 16)
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
        unknown = set(self.targets) - set(TARGETS)
        if unknown:
            raise ValueError(f"unknown targets {sorted(unknown)}; known: {sorted(TARGETS)}")
        if not {KAFKA, HTTP} <= set(self.targets):
            raise ValueError(f"the targets must include {KAFKA} and {HTTP}")
        if any(not 1 <= n <= self.summary_concurrency for n in self.client_processes):
            raise ValueError(f"client processes {self.client_processes}: 1 to summary concurrency")


def quick(config: BenchConfig) -> BenchConfig:
    """``--quick`` (``QUICK=1``): ``config`` with one repeat of short cells, no c=256
    (on a busy machine its calls outlast a short window, and its drain is the longest),
    a window lengthened at most once, a short idle baseline, and neither the
    client-scaling nor the two-worker scenario (a second worker's start and rebalance
    take longer than a cell)."""
    return replace(
        config,
        concurrencies=tuple(c for c in config.concurrencies if c <= config.summary_concurrency),
        duration=3.0,
        warmup=1.0,
        repeats=1,
        longer_windows=1,
        idle=2.0,
        broker_warmup=20.0,
        client_processes=(),
        scale_out=False,
    )


@dataclass(frozen=True)
class Outcome:
    """What one run measured (also printed and written as JSON lines).

    Attributes:
        results: Every kept measurement, all repeats.
        redone: Client-bound measurements redone with more load processes.
        client_scaling: The client-scaling scenario, one result per load process count.
    """

    results: list[CellResult]
    redone: list[CellResult]
    client_scaling: list[CellResult]
    profile: ProfileSummary | None
    scale_out: ScaleOut | None
    summary: str
    results_path: Path


def broker_pid(config: BenchConfig) -> int:
    """The broker's PID: ``config.broker_pid``, or the process listening on the port of
    the first bootstrap server (:func:`bench.servers.pid_listening_on`).

    Raises:
        LookupError: not found (without it, the broker's CPU columns would be NaN).
    """
    if config.broker_pid is not None:
        return config.broker_pid
    port = int(config.bootstrap_servers.split(",")[0].rpartition(":")[2])
    try:
        return pid_listening_on(port)
    except LookupError as error:
        raise LookupError(f"the broker's process: {error}; pass --broker-pid") from error


class Harness:
    """The targets and load processes of one run; everything it starts is stopped when
    ``stack`` closes (load processes first, then servers by PID, then cards retired).

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
        self.broker_pid = broker_pid(config)
        self._stack = stack
        self._profile_path = profile_path
        ctx = Context(
            config.bootstrap_servers,
            base_dir,
            f"bench-{uuid.uuid4().hex[:12]}",
            profile_path,
            stack,
        )
        self.deployments: dict[str, Deployment] = {}
        for name in config.targets:
            self.deployments[name] = TARGETS[name].deploy(ctx)
        self._load: list[ProcessPoolExecutor] = []
        self._spawn = multiprocessing.get_context("spawn")
        self._grow_load(1)
        for deployment in self.deployments.values():
            deployment.wait_ready()
        for deployment in self.deployments.values():
            self._wait(self._load[0].submit(probe, deployment.client, "send"), READY_TIMEOUT)
        self.facts = {name: d.facts() for name, d in self.deployments.items()}

    @property
    def kafka(self) -> FaustDeployment:
        """The faust-a2a target (profiled, scaled out)."""
        deployment = self.deployments[KAFKA]
        assert isinstance(deployment, FaustDeployment)
        return deployment

    @property
    def http_peer(self) -> dict[str, str]:
        """What the a2a-http server runs on (``{"loop", "http", …}``)."""
        deployment = self.deployments[HTTP]
        assert isinstance(deployment, HttpDeployment)
        return deployment.peer

    def _grow_load(self, count: int) -> None:
        while len(self._load) < count:
            self._load.append(
                self._stack.enter_context(
                    ProcessPoolExecutor(
                        1, mp_context=self._spawn, initializer=terminate_with_parent
                    )
                )
            )

    def _wait(self, future: Future[T], timeout: float) -> T:
        """The future's result; raises if a server dies or ``timeout`` s pass first."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                return future.result(timeout=1.0)
            except TimeoutError:
                for deployment in self.deployments.values():
                    for server in deployment.processes():
                        server.check_alive()
                if time.monotonic() > deadline:
                    raise RuntimeError(f"a load process did not finish in {timeout}s") from None

    def _cell(
        self,
        target: str,
        mode: Mode,
        concurrency: int,
        repeat: int,
        load_processes: int,
        *,
        duration: float,
        warmup: float,
    ) -> Cell:
        """One cell of ``target`` against its running servers."""
        deployment = self.deployments[target]
        return Cell(
            target=target,
            client=deployment.client,
            mode=mode,
            concurrency=concurrency,
            duration=duration,
            warmup=warmup,
            repeat=repeat,
            load_processes=load_processes,
            server_pids=tuple(p.pid for p in deployment.processes()),
            broker_pid=self.broker_pid,
            uses_broker=TARGETS[target].uses_broker,
        )

    def warm_up_broker(self, seconds: float) -> dict[str, Any]:
        """Runs unmeasured load through the broker for ``seconds`` in all: stream mode
        at the summary concurrency against each target that uses the broker, in turn.
        Returns the broker's CPU per second over it, and the calls made."""
        kafka = [name for name in self.config.targets if TARGETS[name].uses_broker]
        concurrency = self.config.summary_concurrency
        broker, began, calls = cpu_seconds(self.broker_pid), time.monotonic(), 0
        for name in kafka:
            cell = self._cell(
                name, "stream", concurrency, -1, 1, duration=seconds / len(kafka), warmup=0.0
            )
            calls += run_cell(cell, self._load, self._wait).tasks
        elapsed = time.monotonic() - began
        return {
            "seconds": elapsed,
            "targets": kafka,
            "calls": calls,
            "broker_cpu_ms_per_s": (cpu_seconds(self.broker_pid) - broker) * 1000 / elapsed,
        }

    def idle(self, seconds: float) -> dict[str, Any]:
        """CPU per second of the broker and of each target's servers, with no load."""
        pids = {name: [p.pid for p in d.processes()] for name, d in self.deployments.items()}
        before = {name: sum(map(cpu_seconds, p)) for name, p in pids.items()}
        broker, began = cpu_seconds(self.broker_pid), time.monotonic()
        time.sleep(seconds)
        elapsed = time.monotonic() - began
        return {
            "seconds": elapsed,
            "broker_cpu_ms_per_s": (cpu_seconds(self.broker_pid) - broker) * 1000 / elapsed,
            "server_cpu_ms_per_s": {
                name: (sum(map(cpu_seconds, p)) - before[name]) * 1000 / elapsed
                for name, p in pids.items()
            },
        }

    def measure(
        self,
        target: str,
        mode: Mode,
        concurrency: int,
        repeat: int,
        load_processes: int,
        longer_windows: int | None = None,
    ) -> CellResult:
        """Runs one cell of ``target`` (faust-a2a: against every worker; a2a-sdk's HTTP
        server: against a fresh process, :meth:`HttpDeployment.restart`).

        A cell in which fewer than :data:`bench.cell.MIN_ROUNDS` calls per caller
        completed within the window and none failed is measured again with a window
        twice as long, up to ``longer_windows`` times (default: the config's): on a busy machine one call
        can take as long as a short window, and a server that serves its callers in
        lock-step (asyncio's round robin) then finishes a whole round just inside or
        just outside it. ``duration`` in the result says which window it had.
        """
        load_processes = min(load_processes, concurrency)
        self._grow_load(load_processes)
        deployment = self.deployments[target]
        if isinstance(deployment, HttpDeployment):
            deployment.restart()
        cell = self._cell(
            target,
            mode,
            concurrency,
            repeat,
            load_processes,
            duration=self.config.duration,
            warmup=self.config.warmup,
        )
        result = run_cell(cell, self._load, self._wait)
        if longer_windows is None:
            longer_windows = self.config.longer_windows
        for _ in range(longer_windows):
            if result.enough_rounds or result.errors > 0:
                break
            logger.info(
                "%s %s c=%d: %d calls completed in %g s; window doubled",
                target,
                mode,
                concurrency,
                result.tasks,
                cell.duration,
            )
            cell = replace(cell, duration=cell.duration * 2)
            result = run_cell(cell, self._load, self._wait)
        logger.info(
            "%s %s c=%d repeat %d, %d server(s), %d load process(es): %.1f tasks/s, p50 %.2f ms,"
            " busiest load process %.0f%% of a core, %d errors",
            target,
            mode,
            concurrency,
            repeat,
            len(cell.server_pids),
            load_processes,
            result.tasks_per_second,
            result.latency.p50,
            result.client_core_share * 100,
            result.errors,
        )
        return result

    def profile(self, load_processes: int) -> ProfileSummary:
        """Profiles the first faust-a2a worker during one stream cell."""
        worker = self.kafka.workers[0]
        if worker.get("/bench/profile/start")[0] != 200:
            raise RuntimeError(f"cannot start the profiler:\n{worker.log_tail()}")
        concurrency = self.config.summary_concurrency
        result = self.measure(KAFKA, "stream", concurrency, 0, load_processes, longer_windows=0)
        if worker.get("/bench/profile/stop", timeout=120)[0] != 200:
            raise RuntimeError(f"cannot stop the profiler:\n{worker.log_tail()}")
        files = (self._profile_path, *write_renderings(self._profile_path))
        return ProfileSummary(result, profile_stats(self._profile_path), files)

    def scale_out(self, one_worker: list[CellResult], load_processes: int) -> ScaleOut:
        """Adds a second faust-a2a worker with the same app id, then measures stream mode."""
        self.kafka.add_worker()
        self.kafka.wait_ready()
        self._wait(self._load[0].submit(probe, self.kafka.client, "send"), READY_TIMEOUT)
        concurrency = self.config.summary_concurrency
        return ScaleOut(
            self.measure(KAFKA, "stream", concurrency, 0, load_processes),
            report.find(one_worker, KAFKA, "stream", concurrency),
        )


class Sweep:
    """The main cells: every repeat, mode, concurrency and target, interleaved, each
    measured until its load processes are not the limit (or there are as many as
    allowed); writes each measurement as it comes.

    Attributes:
        results: The kept measurements.
        redone: Client-bound measurements redone with more load processes.
    """

    def __init__(self, harness: Harness, results_file: ResultsFile) -> None:
        self._harness = harness
        self._file = results_file
        self._needed: dict[tuple[str, Mode, int], int] = {}
        self.results: list[CellResult] = []
        self.redone: list[CellResult] = []

    def load_processes(self, target: str, mode: Mode, concurrency: int) -> int:
        """Load processes to start ``target``'s cell with: the most any cell of this
        target and mode at this or a lower concurrency needed, at least one."""
        return max(
            (
                n
                for (t, m, c), n in self._needed.items()
                if (t, m) == (target, mode) and c <= concurrency
            ),
            default=1,
        )

    def run(self) -> None:
        """Measures every cell ``repeats`` times."""
        config = self._harness.config
        groups = [(mode, c) for mode in MODES for c in config.concurrencies]
        targets = list(config.targets)
        for repeat in range(config.repeats):
            for index, (mode, concurrency) in enumerate(groups):
                turn = (index + repeat) % len(targets)
                for target in targets[turn:] + targets[:turn]:
                    self._measure(target, mode, concurrency, repeat)

    def _measure(self, target: str, mode: Mode, concurrency: int, repeat: int) -> None:
        most = min(concurrency, self._harness.config.max_load_processes)
        count = min(self.load_processes(target, mode, concurrency), most)
        while True:
            result = self._harness.measure(target, mode, concurrency, repeat, count)
            if not result.client_bound or count >= most:
                break
            self.redone.append(result)
            self._file.write("client_bound", **report.cell_record(result))
            count += 1
        self._needed[(target, mode, concurrency)] = count
        self.results.append(result)
        self._file.write("cell", **report.cell_record(result))


def run(config: BenchConfig, out: TextIO) -> Outcome:
    """Runs the benchmark, prints the report to ``out`` and writes the JSON lines."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    results_file = ResultsFile(config.results_dir / f"bench-{stamp}.jsonl", stamp)
    load_at_start = os.getloadavg()
    profile: ProfileSummary | None = None
    scale_out: ScaleOut | None = None
    with (
        tempfile.TemporaryDirectory(prefix="faust-a2a-bench-") as tmp,
        contextlib.ExitStack() as stack,
    ):
        harness = Harness(
            config, Path(tmp), stack, config.results_dir / f"bench-{stamp}-worker.pyisession"
        )
        results_file.write(
            "start",
            config={**asdict(config), "results_dir": str(config.results_dir)},
            broker_pid=harness.broker_pid,
            http_peer=harness.http_peer,
            targets={
                name: {"summary": TARGETS[name].summary, **facts}
                for name, facts in harness.facts.items()
            },
            loadavg=load_at_start,
            cpus=os.cpu_count(),
        )
        warmup = harness.warm_up_broker(config.broker_warmup) if config.broker_warmup else None
        if warmup is not None:
            results_file.write("warmup", **warmup)
        idle = harness.idle(config.idle) if config.idle > 0 else None
        if idle is not None:
            results_file.write("idle", **idle)
        sweep = Sweep(harness, results_file)
        sweep.run()
        results = sweep.results
        kafka_load = sweep.load_processes(KAFKA, "stream", config.summary_concurrency)
        if config.profile:
            profile = harness.profile(kafka_load)
            results_file.write(
                "profile",
                cell=report.cell_record(profile.cell),
                **asdict(profile.stats),
                files=[str(path) for path in profile.files],
            )
        client_scaling = [
            harness.measure(KAFKA, "stream", config.summary_concurrency, 0, count)
            for count in config.client_processes
        ]
        for result in client_scaling:
            results_file.write("client_scaling", **report.cell_record(result))
        if config.scale_out:
            scale_out = harness.scale_out(results, kafka_load)
            results_file.write(
                "scale_out",
                two_workers=report.cell_record(scale_out.two_workers),
                one_worker=[report.cell_record(r) for r in scale_out.one_worker.results],
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
    peer = harness.http_peer
    lines = [
        f"faust-a2a benchmark {stamp}: {config.repeats} repeat(s) of {config.duration:g} s per"
        f" cell after {config.warmup:g} s warm-up, targets interleaved; {os.cpu_count()} CPUs;"
        f" broker {config.bootstrap_servers} (PID {harness.broker_pid}); load average"
        f" {_load(load_at_start)} at start, {_load(load_at_end)} at end",
        f"{HTTP} peer: uvicorn on {peer['loop']} ({peer['loop_class']}) with {peer['http']}"
        f" ({peer['http_class']}), a2a-sdk tracing {peer['a2a_tracing']}",
    ]
    if warmup is not None:
        lines.append(
            f"broker warm-up ({warmup['seconds']:.0f} s of unmeasured stream load at"
            f" c={config.summary_concurrency} on {', '.join(warmup['targets'])}):"
            f" broker {warmup['broker_cpu_ms_per_s']:.0f} ms CPU per s"
        )
    if idle is not None:
        lines.append(
            f"idle ({idle['seconds']:.1f} s, no load): broker {idle['broker_cpu_ms_per_s']:.1f} ms"
            " CPU per s; servers "
            + ", ".join(f"{n} {v:.1f}" for n, v in idle["server_cpu_ms_per_s"].items())
            + " ms per s (the broker's idle polling counts in every cell's brk)"
        )
    lines += ["", *report.facts_lines({n: TARGETS[n].summary for n in TARGETS}, harness.facts), ""]
    for mode in MODES:
        lines += [*report.mode_table(results, mode), ""]
    lines += report.cpu_lines(results, config.summary_concurrency)
    lines += ["", *report.saturation_lines(results, sweep.redone, config.max_load_processes)]
    if client_scaling:
        lines += ["", *report.client_scaling_lines(client_scaling)]
    if scale_out is not None:
        lines += ["", *scale_out.lines()]
    if profile is not None:
        lines += ["", *profile.lines()]
    lines += ["", f"results: {results_file.path}", summary]
    results_file.write("summary", line=summary)
    report.print_lines(lines, out)
    return Outcome(
        results, sweep.redone, client_scaling, profile, scale_out, summary, results_file.path
    )


def _load(loadavg: tuple[float, float, float]) -> str:
    return " ".join(f"{value:.2f}" for value in loadavg)


def main(argv: list[str] | None = None) -> None:
    """Command line: ``python -m bench.run [--quick] [--targets a,b,…] [--bootstrap-servers …]
    [--broker-pid …] [--repeats N] [--max-load-processes N]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="one repeat of 3 s cells (about 3 minutes)"
    )
    parser.add_argument(
        "--targets",
        default=",".join(DEFAULT_TARGETS),
        help=f"comma-separated, of {', '.join(TARGETS)}",
    )
    parser.add_argument("--repeats", type=int, help="measurements of every cell (default 3)")
    parser.add_argument("--max-load-processes", type=int, default=4)
    parser.add_argument(
        "--client-processes",
        default="1,4,16",
        help="load process counts of the client-scaling scenario (empty: none)",
    )
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
        args.bootstrap_servers,
        targets=tuple(args.targets.split(",")),
        max_load_processes=args.max_load_processes,
        client_processes=tuple(int(n) for n in args.client_processes.split(",") if n),
        broker_pid=args.broker_pid,
        results_dir=args.results_dir,
    )
    if args.quick:
        config = quick(config)
    if args.repeats is not None:
        config = replace(config, repeats=args.repeats)
    run(config, sys.stdout)


if __name__ == "__main__":
    main()

"""What the benchmark prints and writes: tables, ratios, the summary line, JSON lines.

Every figure printed is the median over a cell's repeats, with the spread
(``(max - min) / median``) of tasks/s and p50 next to it. Printed, per mode, one
table (a row per concurrency and target) and the ratios faust-a2a/a2a-http; then
server-side CPU per task (the broker's counted with the Kafka targets), the cells
where the load processes were the limit, the clients' CPU as their processes
multiply, the two-worker figure, the profile's top functions and, last, the summary
line (what each target runs with comes first)::

    kafka/http tasks/s ratio at c=64 stream: X; p50 at c=1: A ms vs B ms

(medians, stream mode: X is faust-a2a's tasks/s over a2a-http's at c=64, A and B
their p50 latencies of a whole call at c=1). The same figures go to a JSON-lines
file, one object per line, each with the run's timestamp and a ``record`` field
saying what it is: ``start``, ``idle``, ``cell`` (one per repeat, with ``repeat``),
``client_bound`` (a measurement redone with more load processes), ``profile``,
``client_scaling``, ``scale_out``, ``ratio``, ``end``, ``summary``.
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from bench.agent import PARTITIONS
from bench.cell import MIN_ROUNDS, SATURATION, CellResult
from bench.clients import Mode
from bench.profile import ProfileStats
from bench.targets import HTTP, KAFKA, TARGETS

_MODE_TITLES: dict[Mode, str] = {
    "send": "send: SendMessage, ClientConfig(streaming=False)",
    "stream": "stream: SendStreamingMessage",
}

Metric = Callable[[CellResult], float]


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator > 0 else math.nan


def _mb(size: float) -> float:
    return size / (1 << 20)


@dataclass(frozen=True)
class Repeats:
    """The repeats of one cell (same target, mode and concurrency)."""

    results: tuple[CellResult, ...]

    def median(self, metric: Metric) -> float:
        """The median of ``metric`` over the repeats (NaN values left out; NaN if all are)."""
        values = [v for v in map(metric, self.results) if not math.isnan(v)]
        return statistics.median(values) if values else math.nan

    def spread(self, metric: Metric) -> float:
        """``(max - min) / median`` of ``metric`` over the repeats; NaN with one repeat."""
        values = [v for v in map(metric, self.results) if not math.isnan(v)]
        if len(values) < 2:
            return math.nan
        return _ratio(max(values) - min(values), statistics.median(values))

    @property
    def first(self) -> CellResult:
        """The first repeat (for what all repeats share: target, mode, concurrency)."""
        return self.results[0]


def tasks_per_s(r: CellResult) -> float:
    """Metric: throughput."""
    return r.tasks_per_second


def p50(r: CellResult) -> float:
    """Metric: p50 of a whole call, ms."""
    return r.latency.p50


def find(results: Sequence[CellResult], target: str, mode: Mode, concurrency: int) -> Repeats:
    """Every repeat of one cell.

    Raises:
        KeyError: that cell was not measured.
    """
    found = tuple(
        r
        for r in results
        if (r.cell.target, r.cell.mode, r.cell.concurrency) == (target, mode, concurrency)
    )
    if not found:
        raise KeyError(f"no result for {target} {mode} c={concurrency}")
    return Repeats(found)


def _targets(results: Sequence[CellResult]) -> list[str]:
    """The targets measured, in registration order (not the interleaved order)."""
    order = list(TARGETS)
    return sorted({r.cell.target for r in results}, key=order.index)


def _num(value: float, width: int, digits: int) -> str:
    return f"{'-':>{width}}" if math.isnan(value) else f"{value:>{width}.{digits}f}"


def _pct(value: float, width: int = 5) -> str:
    return f"{'-':>{width}}" if math.isnan(value) else f"{value:>{width - 1}.0%}"


def mode_table(results: Sequence[CellResult], mode: Mode) -> list[str]:
    """The table of one mode: a row per concurrency and target (medians), then the ratios."""
    rows = [r for r in results if r.cell.mode == mode]
    concurrencies = sorted({r.cell.concurrency for r in rows})
    stream = mode == "stream"
    width = max(len(t) for t in _targets(rows))
    head = (
        f"{'target':<{width}} {'c':>4} {'load':>4} {'tasks/s':>8} {'spr':>5} {'p50 ms':>7}"
        f" {'spr':>5} {'p95 ms':>7} {'p99 ms':>7}"
    )
    if stream:
        head += f" {'1st p50':>7}"
    head += (
        f" {'srv':>6} {'brk':>6} {'srv+brk':>7} {'cli':>6} {'cli core':>8}"
        f" {'RSS MB':>6} {'errors':>6}"
    )
    lines = [_MODE_TITLES[mode], head]
    for concurrency in concurrencies:
        for target in _targets(rows):
            try:
                reps = find(rows, target, mode, concurrency)
            except KeyError:
                continue
            bound = any(r.client_bound for r in reps.results)
            line = (
                f"{target:<{width}} {concurrency:>4}"
                f" {'x' + str(max(r.cell.load_processes for r in reps.results)):>4}"
                f" {_num(reps.median(tasks_per_s), 8, 1)} {_pct(reps.spread(tasks_per_s))}"
                f" {_num(reps.median(p50), 7, 2)} {_pct(reps.spread(p50))}"
                f" {_num(reps.median(lambda r: r.latency.p95), 7, 2)}"
                f" {_num(reps.median(lambda r: r.latency.p99), 7, 2)}"
            )
            if stream:
                line += f" {_num(reps.median(lambda r: r.first_event.p50), 7, 2)}"
            line += (
                f" {_num(reps.median(lambda r: r.server_cpu_ms), 6, 2)}"
                f" {_num(reps.median(lambda r: r.broker_cpu_ms), 6, 2)}"
                f" {_num(reps.median(lambda r: r.server_plus_broker_cpu_ms), 7, 2)}"
                f" {_num(reps.median(lambda r: r.client_cpu_ms), 6, 2)}"
                f" {_pct(reps.median(lambda r: r.client_core_share), 7)}{'!' if bound else ' '}"
                f" {_num(_mb(reps.median(lambda r: float(r.server_peak_rss))), 6, 0)}"
                f" {sum(r.errors for r in reps.results):>6}"
            )
            lines.append(line)
    repeats = max(len(find(rows, r.cell.target, mode, r.cell.concurrency).results) for r in rows)
    lines.append(
        f"  (medians of {repeats} repeat(s); spr = (max - min) / median; ms; load = load"
        " processes; 1st = time to first streamed event; CPU in ms per task: srv = the"
        " target's server process(es), brk = the Kafka broker, srv+brk = both (Kafka targets),"
        " cli = the load processes; cli core = the busiest load process's share of a core,"
        f" ! = above {SATURATION:.0%} in a repeat: client-bound; RSS = server peak VmHWM)"
    )
    lines += [
        f"  errors in {r.cell.target} c={r.cell.concurrency} repeat {r.cell.repeat}:"
        f" {r.errors}, first: {r.first_error}"
        for r in rows
        if r.errors
    ]
    shortest = min(r.cell.duration for r in rows)
    lines += [
        f"  {r.cell.target} c={r.cell.concurrency} repeat {r.cell.repeat}: window lengthened to"
        f" {r.cell.duration:g} s (too few calls completed in a shorter one)"
        for r in rows
        if r.cell.duration > shortest
    ]
    lines += [
        f"  {r.cell.target} c={r.cell.concurrency} repeat {r.cell.repeat}: {r.steal_share:.0%} of"
        " the CPUs' time was stolen by the hypervisor: the machine was slower in this window"
        for r in rows
        if r.slowed
    ]
    lines += [
        f"  {r.cell.target} c={r.cell.concurrency} repeat {r.cell.repeat}: only {r.tasks} calls"
        f" completed in {r.seconds:.1f} s, fewer than {MIN_ROUNDS} per caller: its figures are"
        " rough"
        for r in rows
        if not r.enough_rounds
    ]
    lines += ratio_table(rows, mode, concurrencies)
    return lines


def ratios(results: Sequence[CellResult], mode: Mode, concurrency: int) -> tuple[float, float]:
    """faust-a2a over a2a-http at one cell, of medians: (tasks/s ratio, p50 latency ratio)."""
    kafka, http = find(results, KAFKA, mode, concurrency), find(results, HTTP, mode, concurrency)
    return (
        _ratio(kafka.median(tasks_per_s), http.median(tasks_per_s)),
        _ratio(kafka.median(p50), http.median(p50)),
    )


def ratio_table(results: Sequence[CellResult], mode: Mode, concurrencies: list[int]) -> list[str]:
    """Two lines of faust-a2a/a2a-http ratios, tasks/s and p50, one column per concurrency."""
    pairs = [ratios(results, mode, c) for c in concurrencies]
    return [
        f"{f'{KAFKA}/{HTTP}':<19}" + "".join(f" {f'c={c}':>7}" for c in concurrencies),
        f"{'  tasks/s':<19}" + "".join(f" {tps:>7.2f}" for tps, _ in pairs),
        f"{'  p50 latency':<19}" + "".join(f" {p:>7.2f}" for _, p in pairs),
    ]


def cpu_lines(results: Sequence[CellResult], concurrency: int) -> list[str]:
    """Server-side CPU per task at ``concurrency``, each mode: every target's server
    alone and, for Kafka targets, with the broker; then each Kafka target over the
    HTTP server's CPU, alone and with the broker."""
    lines = [f"server-side CPU per task at c={concurrency} (ms, medians):"]
    for mode in ("send", "stream"):
        try:
            http = find(results, HTTP, mode, concurrency).median(lambda r: r.server_cpu_ms)
        except KeyError:
            continue
        lines.append(f"  {mode}:")
        for target in _targets(results):
            reps = find(results, target, mode, concurrency)
            server = reps.median(lambda r: r.server_cpu_ms)
            line = f"    {target:<18} server {server:6.2f}"
            if reps.first.cell.uses_broker:
                both = reps.median(lambda r: r.server_plus_broker_cpu_ms)
                line += (
                    f" + broker {reps.median(lambda r: r.broker_cpu_ms):6.2f}"
                    f" = {both:6.2f}; vs {HTTP} server: x{_ratio(server, http):.2f} alone,"
                    f" x{_ratio(both, http):.2f} with the broker"
                )
            lines.append(line)
    return lines


def saturation_lines(
    results: Sequence[CellResult], redone: Sequence[CellResult], max_load_processes: int
) -> list[str]:
    """Which cells the load processes limited: those redone with more load processes,
    and those still client-bound at the most this machine was given."""
    lines = [
        f"client saturation (a load process above {SATURATION:.0%} of a core; up to"
        f" {max_load_processes} load processes per cell):"
    ]
    for r in redone:
        c = r.cell
        lines.append(
            f"  {c.target} {c.mode} c={c.concurrency} repeat {c.repeat}: x{c.load_processes}"
            f" was client-bound ({r.client_core_share:.0%} of a core), measured again with more"
        )
    for r in results:
        c = r.cell
        if r.client_bound:
            lines.append(
                f"  {c.target} {c.mode} c={c.concurrency} repeat {c.repeat}: still client-bound"
                f" at x{c.load_processes} ({r.client_core_share:.0%} of a core): the server"
                " could not be made the limit on this machine"
            )
    if len(lines) == 1:
        lines.append("  none: the server was the limit in every cell")
    return lines


def client_scaling_lines(results: Sequence[CellResult]) -> list[str]:
    """The client-scaling scenario: the same cell with more and more load processes."""
    first = results[0].cell
    lines = [
        f"client processes ({first.target} {first.mode} c={first.concurrency}, callers split"
        " over N load processes, one client each):"
    ]
    for r in results:
        lines.append(
            f"  x{r.cell.load_processes:<3} {r.tasks_per_second:8.1f} tasks/s, p50"
            f" {r.latency.p50:8.2f} ms; client CPU {r.client_cpu_ms:6.2f} ms per task in all,"
            f" busiest process {r.client_core_share:.0%} of a core; server"
            f" {r.server_cpu_ms:.2f}, broker {r.broker_cpu_ms:.2f} ms per task; errors {r.errors}"
        )
    return lines


def facts_lines(summaries: dict[str, str], facts: dict[str, dict[str, Any]]) -> list[str]:
    """What each target runs with (read from the running processes where they tell)."""
    lines = ["targets (what differs between them):"]
    for name, target_facts in facts.items():
        lines.append(f"  {name}: {summaries[name]}")
        lines.append("    " + "; ".join(f"{k} {v}" for k, v in target_facts.items()))
    return lines


@dataclass(frozen=True)
class ScaleOut:
    """The two-worker scenario: its result and the one-worker repeats it compares to."""

    two_workers: CellResult
    one_worker: Repeats

    def lines(self) -> list[str]:
        """The scenario's lines in the report."""
        two, one = self.two_workers, self.one_worker
        cpu = two.server_cpu_seconds
        split = (
            " / ".join(f"{share:.0%}" for share in (s / sum(cpu) for s in cpu)) if sum(cpu) else "-"
        )
        one_tps = one.median(tasks_per_s)
        return [
            f"two workers, one app id, {PARTITIONS} partitions, {two.cell.mode}"
            f" c={two.cell.concurrency}:"
            f" {two.tasks_per_second:.1f} tasks/s vs {one_tps:.1f} with one worker (median)"
            f" (x{_ratio(two.tasks_per_second, one_tps):.2f}); p50"
            f" {two.latency.p50:.1f} ms vs {one.median(p50):.1f} ms; worker CPU"
            f" {two.server_cpu_ms:.2f} ms/task (split {split}), with the broker"
            f" {two.server_plus_broker_cpu_ms:.2f}; errors {two.errors}",
        ]


@dataclass(frozen=True)
class ProfileSummary:
    """The worker's profile under load: the run it was taken in and what it says."""

    cell: CellResult
    stats: ProfileStats
    files: tuple[Path, ...]

    def lines(self) -> list[str]:
        """The profile's lines in the report."""
        cell, stats = self.cell.cell, self.stats
        busy = stats.sampled - stats.idle
        lines = [
            f"worker profile (pyinstrument; {cell.target} {cell.mode}"
            f" c={cell.concurrency}, {self.cell.tasks_per_second:.1f} tasks/s while profiled):"
            f" {stats.sampled:.1f} s sampled, {busy:.1f} s busy, {stats.idle:.1f} s waiting"
            " for I/O",
            "  self time by package (share of busy time): "
            + ", ".join(f"{p.name} {p.share:.0%}" for p in stats.packages if p.share >= 0.005),
            "  top functions by self time:",
            f"  {'self s':>7} {'share':>6}  function (location)",
        ]
        lines += [f"  {f.seconds:>7.2f} {f.share:>6.1%}  {f.name}" for f in stats.functions]
        lines.append("  files: " + ", ".join(str(path) for path in self.files))
        return lines


def summary_line(results: Sequence[CellResult], concurrency: int, lowest: int) -> str:
    """``kafka/http tasks/s ratio at c=<concurrency> stream: X; p50 at c=<lowest>: A ms vs B ms``
    (medians over the repeats)."""
    tps_ratio, _ = ratios(results, "stream", concurrency)
    kafka, http = find(results, KAFKA, "stream", lowest), find(results, HTTP, "stream", lowest)
    return (
        f"kafka/http tasks/s ratio at c={concurrency} stream: {tps_ratio:.2f};"
        f" p50 at c={lowest}: {kafka.median(p50):.1f} ms vs {http.median(p50):.1f} ms"
    )


def cell_record(result: CellResult) -> dict[str, Any]:
    """One measurement as a JSON object (latencies in ms, CPU in ms per task, RSS in bytes).

    ``server_plus_broker_cpu_ms_per_task`` is the server processes' and the broker's
    CPU per task for a target whose requests go through the broker, ``null`` otherwise.
    """
    cell = result.cell
    return {
        "target": cell.target,
        "mode": cell.mode,
        "concurrency": cell.concurrency,
        "repeat": cell.repeat,
        "load_processes": cell.load_processes,
        "duration_s": cell.duration,
        "warmup_s": cell.warmup,
        "servers": len(cell.server_pids),
        "uses_broker": cell.uses_broker,
        "tasks": result.tasks,
        "errors": result.errors,
        "first_error": result.first_error,
        "window_s": result.seconds,
        "tasks_per_s": result.tasks_per_second,
        "latency_ms": vars(result.latency),
        "first_event_ms": vars(result.first_event),
        "server_cpu_ms_per_task": result.server_cpu_ms,
        "server_cpu_s": list(result.server_cpu_seconds),
        "broker_cpu_ms_per_task": result.broker_cpu_ms,
        "server_plus_broker_cpu_ms_per_task": result.server_plus_broker_cpu_ms,
        "client_cpu_ms_per_task": result.client_cpu_ms,
        "client_cpu_s": list(result.client_cpu_seconds),
        "client_core_share": result.client_core_share,
        "client_bound": result.client_bound,
        "server_peak_rss_bytes": result.server_peak_rss,
        "steal_share": result.steal_share,
    }


class ResultsFile:
    """The run's JSON-lines file, written a line at a time (NaN becomes ``null``)."""

    def __init__(self, path: Path, timestamp: str) -> None:
        self.path = path
        self.timestamp = timestamp
        path.parent.mkdir(parents=True, exist_ok=True)

    def write(self, record: str, **fields: Any) -> None:
        """Appends one object: ``{"timestamp", "record", **fields}``."""
        line = json.dumps(
            _nulls({"timestamp": self.timestamp, "record": record, **fields}), allow_nan=False
        )
        with self.path.open("a") as out:
            out.write(line + "\n")


def _nulls(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _nulls(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_nulls(v) for v in value]
    return value


def print_lines(lines: Sequence[str], out: TextIO) -> None:
    """Writes the report's lines to ``out``."""
    out.write("".join(line + "\n" for line in lines))
    out.flush()

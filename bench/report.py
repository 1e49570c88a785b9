"""What the benchmark prints and writes: tables, ratios, the summary line, JSON lines.

Printed, per mode, one table (a row per target and concurrency) and the ratios
faust-a2a/a2a-http; then the two-worker figure, the profile's top functions and,
last, the summary line::

    kafka/http tasks/s ratio at c=64 stream: X; p50 at c=1: A ms vs B ms

(both from stream mode: X is faust-a2a's tasks/s over a2a-http's at c=64, A and B
their p50 latencies of a whole call at c=1). The same figures go to a JSON-lines file,
one object per line, each with the run's timestamp and a ``record`` field saying what
it is: ``start``, ``cell``, ``ratio``, ``profile``, ``scale_out``, ``end``, ``summary``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from bench.agent import PARTITIONS
from bench.load import CellResult
from bench.profile import ProfileStats
from bench.targets import Kind, Mode

#: The systems in table order; ratios compare the first two.
KINDS: tuple[Kind, ...] = ("faust-a2a", "a2a-http", "raw-kafka")
KAFKA: Kind = "faust-a2a"
HTTP: Kind = "a2a-http"

_MODE_TITLES: dict[Mode, str] = {
    "send": "send: SendMessage, ClientConfig(streaming=False)",
    "stream": "stream: SendStreamingMessage",
}


def find(results: Sequence[CellResult], kind: Kind, mode: Mode, concurrency: int) -> CellResult:
    """The result of one cell.

    Raises:
        KeyError: that cell was not measured.
    """
    for result in results:
        cell = result.cell
        if (cell.target.kind, cell.mode, cell.concurrency) == (kind, mode, concurrency):
            return result
    raise KeyError(f"no result for {kind} {mode} c={concurrency}")


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator > 0 else math.nan


def _mb(size: int) -> float:
    return size / (1 << 20)


def mode_table(results: Sequence[CellResult], mode: Mode) -> list[str]:
    """The table of one mode: a row per concurrency and target, then the ratios."""
    rows = [r for r in results if r.cell.mode == mode]
    concurrencies = sorted({r.cell.concurrency for r in rows})
    stream = mode == "stream"
    head = f"{'target':<10} {'c':>4} {'tasks/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}"
    if stream:
        head += f" {'1st p50':>8} {'1st p95':>8} {'1st p99':>8}"
    head += f" {'srv CPU':>8} {'brk CPU':>8} {'cli CPU':>8} {'srv RSS':>8} {'errors':>6}"
    lines = [_MODE_TITLES[mode], head]
    for concurrency in concurrencies:
        for kind in KINDS:
            try:
                r = find(rows, kind, mode, concurrency)
            except KeyError:
                continue
            line = (
                f"{kind:<10} {concurrency:>4} {r.tasks_per_second:>8.1f} {r.latency.p50:>8.2f}"
                f" {r.latency.p95:>8.2f} {r.latency.p99:>8.2f}"
            )
            if stream:
                line += (
                    f" {r.first_event.p50:>8.2f} {r.first_event.p95:>8.2f}"
                    f" {r.first_event.p99:>8.2f}"
                )
            line += (
                f" {r.per_task_ms(r.server_cpu_total):>8.3f}"
                f" {r.per_task_ms(r.broker_cpu_seconds):>8.3f}"
                f" {r.per_task_ms(r.client_cpu_seconds):>8.3f}"
                f" {_mb(r.server_peak_rss):>8.0f} {r.errors:>6}"
            )
            lines.append(line)
    lines.append(
        "  (ms; 1st = time to first streamed event; CPU = ms per task of the server"
        " process(es), the Kafka broker, the client process; RSS = server peak VmHWM, MB)"
    )
    lines += [
        f"  errors in {r.cell.target.kind} c={r.cell.concurrency}: {r.errors}, first: {r.first_error}"
        for r in rows
        if r.errors
    ]
    lines += ratio_table(rows, mode, concurrencies)
    return lines


def ratios(results: Sequence[CellResult], mode: Mode, concurrency: int) -> tuple[float, float]:
    """faust-a2a over a2a-http at one cell: (tasks/s ratio, p50 latency ratio)."""
    kafka, http = find(results, KAFKA, mode, concurrency), find(results, HTTP, mode, concurrency)
    return (
        _ratio(kafka.tasks_per_second, http.tasks_per_second),
        _ratio(kafka.latency.p50, http.latency.p50),
    )


def ratio_table(results: Sequence[CellResult], mode: Mode, concurrencies: list[int]) -> list[str]:
    """Two lines of faust-a2a/a2a-http ratios, tasks/s and p50, one column per concurrency."""
    pairs = [ratios(results, mode, c) for c in concurrencies]
    return [
        f"{'faust-a2a/a2a-http':<19}" + "".join(f" {f'c={c}':>7}" for c in concurrencies),
        f"{'  tasks/s':<19}" + "".join(f" {tps:>7.2f}" for tps, _ in pairs),
        f"{'  p50 latency':<19}" + "".join(f" {p50:>7.2f}" for _, p50 in pairs),
    ]


@dataclass(frozen=True)
class ScaleOut:
    """The two-worker scenario: its result and the one-worker result it compares to."""

    two_workers: CellResult
    one_worker: CellResult

    def lines(self) -> list[str]:
        """The scenario's lines in the report."""
        two, one = self.two_workers, self.one_worker
        cpu = two.server_cpu_seconds
        split = (
            " / ".join(f"{share:.0%}" for share in (s / sum(cpu) for s in cpu)) if sum(cpu) else "-"
        )
        return [
            f"two workers, one app id, {PARTITIONS} partitions, {two.cell.mode}"
            f" c={two.cell.concurrency}:"
            f" {two.tasks_per_second:.1f} tasks/s vs {one.tasks_per_second:.1f} with one worker"
            f" (x{_ratio(two.tasks_per_second, one.tasks_per_second):.2f}); p50"
            f" {two.latency.p50:.1f} ms vs {one.latency.p50:.1f} ms; worker CPU"
            f" {two.per_task_ms(two.server_cpu_total):.2f} ms/task (split {split});"
            f" errors {two.errors}",
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
            f"worker profile (pyinstrument; {cell.target.kind} {cell.mode}"
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
    """``kafka/http tasks/s ratio at c=<concurrency> stream: X; p50 at c=<lowest>: A ms vs B ms``."""
    tps_ratio, _ = ratios(results, "stream", concurrency)
    kafka, http = find(results, KAFKA, "stream", lowest), find(results, HTTP, "stream", lowest)
    return (
        f"kafka/http tasks/s ratio at c={concurrency} stream: {tps_ratio:.2f};"
        f" p50 at c={lowest}: {kafka.latency.p50:.1f} ms vs {http.latency.p50:.1f} ms"
    )


def cell_record(result: CellResult) -> dict[str, Any]:
    """One cell as a JSON object (latencies in ms, CPU in ms per task, RSS in bytes)."""
    cell = result.cell
    return {
        "target": cell.target.kind,
        "mode": cell.mode,
        "concurrency": cell.concurrency,
        "duration_s": cell.duration,
        "warmup_s": cell.warmup,
        "servers": len(cell.server_pids),
        "tasks": result.tasks,
        "errors": result.errors,
        "first_error": result.first_error,
        "window_s": result.seconds,
        "tasks_per_s": result.tasks_per_second,
        "latency_ms": vars(result.latency),
        "first_event_ms": vars(result.first_event),
        "server_cpu_ms_per_task": result.per_task_ms(result.server_cpu_total),
        "server_cpu_s": list(result.server_cpu_seconds),
        "broker_cpu_ms_per_task": result.per_task_ms(result.broker_cpu_seconds),
        "client_cpu_ms_per_task": result.per_task_ms(result.client_cpu_seconds),
        "server_peak_rss_bytes": result.server_peak_rss,
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

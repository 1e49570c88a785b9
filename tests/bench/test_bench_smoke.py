"""Smoke test of the benchmark's machinery against the real broker.

A benchmark is not a test: nothing here asserts a time or a rate. For about a second
per cell at concurrency 2, one repeat, it runs what ``make bench`` runs — every
default target (two faust-a2a workers, a2a-sdk's HTTP server, the raw Kafka echo),
driven from load processes, an idle baseline, the worker's profile and one cell split
over two load processes (not the two-worker scenario, which would add a worker's
start-up) — and checks that every
call succeeded, that the results say what the report relies on (the HTTP peer's
loop and parser, the broker's CPU with every Kafka target, the worker's real
settings, the repeat of every cell, the targets interleaved) and that the report
ends with the summary line. The broker is found by its port, as ``make bench`` does.
"""

from __future__ import annotations

import io
import json
import math
import re
from pathlib import Path

import pytest

from app.settings import Settings
from bench.run import BenchConfig, run
from bench.targets import DEFAULT_TARGETS, TARGETS

pytestmark = pytest.mark.kafka

SUMMARY = re.compile(
    r"kafka/http tasks/s ratio at c=2 stream: \d+\.\d\d; p50 at c=2: \d+\.\d ms vs \d+\.\d ms"
)


def test_every_call_succeeds_and_the_results_say_what_the_report_relies_on(
    bootstrap_servers: str, tmp_path: Path
) -> None:
    out = io.StringIO()
    config = BenchConfig(
        bootstrap_servers,
        concurrencies=(2,),
        duration=1.0,
        warmup=0.3,
        repeats=1,
        max_load_processes=2,
        idle=0.5,
        broker_warmup=1.0,
        client_processes=(2,),
        summary_concurrency=2,
        scale_out=False,
        results_dir=tmp_path,
    )

    outcome = run(config, out)

    assert outcome.profile is not None
    assert len(outcome.results) == 2 * len(DEFAULT_TARGETS)
    assert [r.cell.load_processes for r in outcome.client_scaling] == [2]
    for result in [*outcome.results, outcome.profile.cell, *outcome.client_scaling]:
        cell = result.cell
        name = f"{cell.target} {cell.mode} c={cell.concurrency}"
        assert (result.errors, result.first_error) == (0, None), name
        assert result.tasks > 0, name
    assert outcome.profile.stats.functions

    records = [json.loads(line) for line in outcome.results_path.read_text().splitlines()]
    start = records[0]
    assert start["record"] == "start"
    assert (start["http_peer"]["loop"], start["http_peer"]["http"]) == ("uvloop", "httptools")
    assert start["http_peer"]["a2a_tracing"] == "off"
    worker_facts = start["targets"]["faust-a2a"]
    assert worker_facts["worker fetch.max.wait.ms"] == Settings().fetch_max_wait_ms
    assert worker_facts["worker in-flight cap (FAUST_A2A_MAX_IN_FLIGHT)"] == (
        Settings().max_in_flight
    )
    assert worker_facts["worker event loop"] == "uvloop"
    handler = start["targets"]["faust-a2a-default"]["request handler (FAUST_A2A_REQUEST_HANDLER)"]
    assert "default" in handler
    warmup = next(r for r in records if r["record"] == "warmup")
    assert warmup["targets"] == [t for t in DEFAULT_TARGETS if TARGETS[t].uses_broker]
    assert warmup["calls"] > 0 and warmup["broker_cpu_ms_per_s"] > 0
    cells = [r for r in records if r["record"] == "cell"]
    assert len(cells) == len(outcome.results)
    faust_cells = [c for c in cells if c["target"].startswith("faust-a2a")]
    assert {c["target"] for c in faust_cells} == {"faust-a2a", "faust-a2a-default"}
    for record in cells:
        name = f"{record['target']} {record['mode']} c={record['concurrency']}"
        assert record["repeat"] == 0, name
        assert record["load_processes"] >= 1, name
        assert math.isfinite(record["broker_cpu_ms_per_task"]), name
    for record in faust_cells:
        value = record["server_plus_broker_cpu_ms_per_task"]
        assert value is not None and math.isfinite(value), record
        assert value >= record["server_cpu_ms_per_task"], record
    first_group = [c["target"] for c in cells[: len(DEFAULT_TARGETS)]]
    second_group = [c["target"] for c in cells[len(DEFAULT_TARGETS) : 2 * len(DEFAULT_TARGETS)]]
    assert first_group == list(DEFAULT_TARGETS)
    assert second_group == [*DEFAULT_TARGETS[1:], DEFAULT_TARGETS[0]]

    lines = out.getvalue().splitlines()
    assert SUMMARY.fullmatch(lines[-1]), lines[-1]
    assert records[-1] == {
        "timestamp": start["timestamp"],
        "record": "summary",
        "line": lines[-1],
    }

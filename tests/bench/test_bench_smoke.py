"""Smoke test of the benchmark's machinery against the real broker.

A benchmark is not a test: nothing here asserts a time or a rate. For about a second
per cell at concurrency 1 and 2, it runs what ``make bench`` runs — a faust-a2a
worker, a2a-sdk's HTTP server and the raw Kafka echo, each driven from its own client
process, and the worker's profile (not the two-worker scenario, which would add a
worker's start-up) — and checks only that every call succeeded and that the report
ends with the summary line.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest

from bench.run import BenchConfig, run

pytestmark = pytest.mark.kafka

SUMMARY = re.compile(
    r"kafka/http tasks/s ratio at c=2 stream: \d+\.\d\d; p50 at c=1: \d+\.\d ms vs \d+\.\d ms"
)


def test_every_call_succeeds_and_the_report_ends_with_the_summary(
    bootstrap_servers: str, tmp_path: Path
) -> None:
    out = io.StringIO()
    config = BenchConfig(
        bootstrap_servers,
        concurrencies=(1, 2),
        duration=1.0,
        warmup=0.3,
        summary_concurrency=2,
        scale_out=False,
        results_dir=tmp_path,
    )

    outcome = run(config, out)

    assert outcome.profile is not None
    cells = [*outcome.results, outcome.profile.cell]
    assert len(outcome.results) == 2 * 2 * 3
    for result in cells:
        cell = result.cell
        name = f"{cell.target.kind} {cell.mode} c={cell.concurrency}"
        assert (result.errors, result.first_error) == (0, None), name
        assert result.tasks > 0, name
    assert outcome.profile.stats.functions
    lines = out.getvalue().splitlines()
    assert SUMMARY.fullmatch(lines[-1]), lines[-1]
    records = [json.loads(line) for line in outcome.results_path.read_text().splitlines()]
    assert records[-1] == {
        "timestamp": records[0]["timestamp"],
        "record": "summary",
        "line": lines[-1],
    }

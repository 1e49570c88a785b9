"""The benchmark's bookkeeping, without servers: finding the broker by its port,
splitting callers over load processes, medians and spreads over repeats, and the
sweep's order (targets interleaved) and its answer to a client-bound cell (one more
load process). The sweep runs against a harness that only replays figures: what is
tested is which cells it asks for, in which order, with how many load processes."""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
import uvicorn
import uvloop
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from bench import echo, procstat
from bench.agent import PARTITIONS
from bench.cell import Cell, CellResult, Percentiles
from bench.clients import ClientSpec, Mode, open_client
from bench.http_server import build_app, peer_info
from bench.load import probe
from bench.report import (
    Repeats,
    ResultsFile,
    cell_record,
    mode_table,
    p50,
    summary_line,
    tasks_per_s,
)
from bench.run import BenchConfig, Harness, Sweep
from bench.servers import pid_listening_on
from bench.targets import Context, FaustEchoDeployment, HttpDeployment

#: a2a-sdk's switch for its OpenTelemetry instrumentation.
A2A_TRACING_VARIABLE = "OTEL_INSTRUMENTATION_A2A_SDK_ENABLED"


def test_the_process_listening_on_a_port_is_found_by_it() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]

        assert pid_listening_on(port) == os.getpid()


def test_a_port_nobody_listens_on_is_a_lookup_error() -> None:
    with socket.socket() as bound_only:
        bound_only.bind(("127.0.0.1", 0))
        port = bound_only.getsockname()[1]

        with pytest.raises(LookupError, match=f"nothing listens on TCP port {port}"):
            pid_listening_on(port)


@pytest.mark.parametrize(
    ("loop", "http", "run"),
    [("uvloop", "httptools", uvloop.run), ("asyncio", "h11", asyncio.run)],
)
def test_the_http_peer_names_the_running_loop_and_the_protocol_uvicorn_loaded(
    loop: str, http: str, run: Callable[[Coroutine[Any, Any, dict[str, str]]], dict[str, str]]
) -> None:
    config = uvicorn.Config(build_app(8000), loop=loop, http=http)
    config.load()

    async def read() -> dict[str, str]:
        return peer_info(config)

    assert {k: v for k, v in run(read()).items() if k in ("loop", "http")} == {
        "loop": loop,
        "http": http,
    }


def _cell(
    target: str = "faust-a2a",
    mode: Mode = "stream",
    concurrency: int = 64,
    repeat: int = 0,
    load_processes: int = 1,
) -> Cell:
    return Cell(
        target=target,
        client=ClientSpec("a2a-kafka", "127.0.0.1:1"),
        mode=mode,
        concurrency=concurrency,
        duration=10.0,
        warmup=1.0,
        repeat=repeat,
        load_processes=load_processes,
        server_pids=(1,),
        broker_pid=2,
        uses_broker=target != "a2a-http",
    )


def _result(
    cell: Cell,
    tasks: int = 100,
    p50_ms: float = 10.0,
    client_cpu: float = 1.0,
    steal_seconds: float = 0.0,
) -> CellResult:
    return CellResult(
        cell=cell,
        tasks=tasks,
        errors=0,
        first_error=None,
        seconds=10.0,
        latency=Percentiles(p50_ms, p50_ms * 2, p50_ms * 3),
        first_event=Percentiles(p50_ms / 2, p50_ms, p50_ms),
        server_cpu_seconds=(0.5,),
        broker_cpu_seconds=0.25,
        client_cpu_seconds=(client_cpu,) * cell.load_processes,
        server_peak_rss=1 << 20,
        steal_seconds=steal_seconds,
    )


def test_callers_are_split_over_load_processes_as_evenly_as_they_go() -> None:
    shares = _cell(concurrency=10, load_processes=3).shares()

    assert [s.callers for s in shares] == [4, 3, 3]
    assert [s.first_caller for s in shares] == [0, 4, 7]


def test_the_broker_counts_only_for_targets_whose_requests_go_through_it() -> None:
    kafka, http = _result(_cell("faust-a2a")), _result(_cell("a2a-http"))

    assert kafka.server_plus_broker_cpu_ms == pytest.approx(7.5)
    assert kafka.server_cpu_ms == pytest.approx(5.0)
    assert http.broker_cpu_ms == pytest.approx(2.5)
    assert math.isnan(http.server_plus_broker_cpu_ms)


def test_a_window_needs_two_completed_calls_per_caller() -> None:
    assert not _result(_cell(concurrency=64), tasks=127).enough_rounds
    assert _result(_cell(concurrency=64), tasks=128).enough_rounds


def test_a_load_process_above_80_percent_of_a_core_makes_the_cell_client_bound() -> None:
    assert _result(_cell(), client_cpu=8.1).client_bound
    assert not _result(_cell(), client_cpu=7.9).client_bound


def test_a_window_with_more_than_5_percent_of_the_cpus_stolen_is_named_in_the_report() -> None:
    window_cpu = 10.0 * (os.cpu_count() or 1)  # _result's window is 10 s
    slowed = _result(_cell(repeat=1), steal_seconds=0.06 * window_cpu)
    fine = _result(_cell(repeat=0), steal_seconds=0.04 * window_cpu)

    assert slowed.steal_share == pytest.approx(0.06)
    assert slowed.slowed and not fine.slowed
    http = _result(_cell("a2a-http"))
    notes = [line for line in mode_table([fine, slowed, http], "stream") if "stolen" in line]
    assert notes == [
        "  faust-a2a c=64 repeat 1: 6% of the CPUs' time was stolen by the hypervisor:"
        " the machine was slower in this window"
    ]
    assert cell_record(slowed)["steal_share"] == pytest.approx(0.06)


def test_stolen_cpu_time_is_read_from_proc_stat() -> None:
    first = procstat.steal_seconds()
    assert 0.0 <= first <= procstat.steal_seconds()


def test_medians_and_spread_over_repeats_and_the_summary_uses_medians() -> None:
    results = [
        _result(_cell("faust-a2a", "stream", 64, repeat), tasks=tasks)
        for repeat, tasks in enumerate((900, 1000, 1200))
    ]
    results += [_result(_cell("a2a-http", "stream", 64, r), tasks=500) for r in range(3)]
    results += [
        _result(_cell(target, "stream", 1, r), p50_ms=ms)
        for target, values in (("faust-a2a", (4.0, 2.0, 3.0)), ("a2a-http", (8.0, 8.0, 9.0)))
        for r, ms in enumerate(values)
    ]
    kafka = Repeats(tuple(results[:3]))

    assert kafka.median(tasks_per_s) == pytest.approx(100.0)
    assert kafka.spread(tasks_per_s) == pytest.approx(0.3)
    assert math.isnan(Repeats(tuple(results[:1])).spread(p50))
    assert summary_line(results, 64, 1) == (
        "kafka/http tasks/s ratio at c=64 stream: 2.00; p50 at c=1: 3.0 ms vs 8.0 ms"
    )


@dataclass
class ReplayHarness:
    """Answers ``measure`` with figures: client-bound below ``needed`` load processes."""

    config: BenchConfig
    needed: dict[str, int]
    asked: list[tuple[str, str, int, int, int]] = field(default_factory=list)

    def measure(
        self, target: str, mode: Mode, concurrency: int, repeat: int, load_processes: int
    ) -> CellResult:
        load_processes = min(load_processes, concurrency)
        self.asked.append((target, mode, concurrency, repeat, load_processes))
        bound = load_processes < self.needed.get(target, 1)
        cell = _cell(target, mode, concurrency, repeat, load_processes)
        return _result(cell, client_cpu=9.5 if bound else 2.0)


def _sweep(tmp_path: Path, needed: dict[str, int], repeats: int) -> tuple[Sweep, ReplayHarness]:
    config = BenchConfig(
        "127.0.0.1:1",
        concurrencies=(1, 64),
        repeats=repeats,
        targets=("faust-a2a", "a2a-http", "raw-kafka"),
        max_load_processes=3,
    )
    harness = ReplayHarness(config, needed)
    sweep = Sweep(cast(Harness, harness), ResultsFile(tmp_path / "r.jsonl", "t"))
    sweep.run()
    return sweep, harness


def test_targets_are_interleaved_across_cells_and_repeats(tmp_path: Path) -> None:
    sweep, harness = _sweep(tmp_path, {}, repeats=3)

    orders = [[a[0] for a in harness.asked[i : i + 3]] for i in range(0, len(harness.asked), 3)]
    assert orders[:5] == [
        ["faust-a2a", "a2a-http", "raw-kafka"],  # repeat 0, send c=1
        ["a2a-http", "raw-kafka", "faust-a2a"],  # repeat 0, send c=64
        ["raw-kafka", "faust-a2a", "a2a-http"],  # repeat 0, stream c=1
        ["faust-a2a", "a2a-http", "raw-kafka"],  # repeat 0, stream c=64
        ["a2a-http", "raw-kafka", "faust-a2a"],  # repeat 1, send c=1
    ]
    assert sorted({r.cell.repeat for r in sweep.results}) == [0, 1, 2]
    assert len(sweep.results) == 3 * 2 * 2 * 3


def test_a_client_bound_cell_is_measured_again_with_one_more_load_process(
    tmp_path: Path,
) -> None:
    sweep, harness = _sweep(tmp_path, {"raw-kafka": 2, "a2a-http": 5}, repeats=1)

    raw = [a for a in harness.asked if a[0] == "raw-kafka" and a[1] == "send"]
    assert [(c, n) for _, _, c, _, n in raw] == [(1, 1), (64, 1), (64, 2)]
    http = [a for a in harness.asked if a[0] == "a2a-http" and a[1] == "send"]
    assert [(c, n) for _, _, c, _, n in http] == [(1, 1), (64, 1), (64, 2), (64, 3)]
    kept_http = next(
        r
        for r in sweep.results
        if (r.cell.target, r.cell.mode, r.cell.concurrency) == ("a2a-http", "send", 64)
    )
    assert kept_http.client_bound  # still bound at the most allowed: the report says so
    assert len(sweep.redone) == 2 * (1 + 2)  # raw x1; http x1 and x2; both modes
    assert sweep.load_processes("raw-kafka", "stream", 64) == 2


def test_a_restarted_http_peer_is_a_fresh_process_with_an_empty_task_store(
    tmp_path: Path,
) -> None:
    """``HttpDeployment.restart``: the harness restarts a2a-sdk's HTTP server before each
    of its cells, so that no cell measures a store grown by the ones before."""
    with contextlib.ExitStack() as stack:
        ctx = Context("127.0.0.1:1", tmp_path, "test", tmp_path / "profile", stack)
        deployment = HttpDeployment(ctx, "a2a-http", loop="uvloop", http="httptools")
        deployment.wait_ready()
        first, first_url = deployment.server, deployment.client.address
        task = _jsonrpc(first_url, "SendMessage", {"message": _MESSAGE})["result"]["task"]
        assert _jsonrpc(first_url, "GetTask", {"id": task["id"]})["result"]["id"] == task["id"]

        deployment.restart()

        assert deployment.server.pid != first.pid
        with pytest.raises(RuntimeError, match="exited"):
            first.check_alive()
        missing = _jsonrpc(deployment.client.address, "GetTask", {"id": task["id"]})
        assert missing["error"]["code"] == -32001  # TaskNotFoundError


def test_the_http_peer_freezes_its_startup_heap_as_a_worker_does(tmp_path: Path) -> None:
    """``bench.http_server``: the peer gets the worker's tuning of the collector
    (``app.heap``), and the report says so."""
    with contextlib.ExitStack() as stack:
        ctx = Context("127.0.0.1:1", tmp_path, "test", tmp_path / "profile", stack)
        deployment = HttpDeployment(ctx, "a2a-http", loop="uvloop", http="httptools")
        deployment.wait_ready()
        assert deployment.facts()["startup heap frozen (objects)"] > 50_000


def test_the_http_peer_runs_a2a_sdk_with_its_tracing_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``bench``: the peer runs a2a-sdk as a worker does without a trace exporter, with
    no OpenTelemetry spans around its handlers, even when nothing in its environment
    says so (the variable is removed here; the test process's ``app`` import sets it)."""
    monkeypatch.delenv(A2A_TRACING_VARIABLE, raising=False)
    with contextlib.ExitStack() as stack:
        ctx = Context("127.0.0.1:1", tmp_path, "test", tmp_path / "profile", stack)
        deployment = HttpDeployment(ctx, "a2a-http", loop="uvloop", http="httptools")
        deployment.wait_ready()
        assert deployment.facts()["a2a-sdk tracing (OpenTelemetry spans)"] == "off"


def test_load_processes_run_a2a_sdk_clients_with_tracing_off() -> None:
    """``bench``: a load process (which starts by importing ``bench.load``) builds
    a2a-sdk's clients with its tracing off, for the HTTP and the Kafka targets alike."""
    env = {k: v for k, v in os.environ.items() if k != A2A_TRACING_VARIABLE}
    probe = "import bench.load, a2a.utils.telemetry as t; print(t.otel_enabled)"
    done = subprocess.run(
        [sys.executable, "-c", probe],
        env=env,
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (done.returncode, done.stdout.strip()) == (0, "False"), done.stderr


def test_the_faust_echo_acks_what_it_answers(bootstrap_servers: str, tmp_path: Path) -> None:
    """``bench.faust_echo``: records are acked in offset order from where reading
    resumed (``app.offsets.guard_request_offsets``), as in a worker, so Faust commits
    their offsets: every request partition's committed offset reaches its end."""
    with contextlib.ExitStack() as stack:
        ctx = Context(
            bootstrap_servers, tmp_path, f"t{uuid.uuid4().hex[:8]}", tmp_path / "p", stack
        )
        deployment = FaustEchoDeployment(ctx)
        group = f"{ctx.run_id}-faust-echo"
        probe(deployment.client, "send")
        asyncio.run(_calls(deployment.client, 40))
        deadline = time.monotonic() + 30
        while True:
            deployment.server.check_alive()
            committed, end = asyncio.run(_group_offsets(bootstrap_servers, group))
            if committed == end or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert sum(end.values()) >= 40
        assert committed == end


async def _calls(client: ClientSpec, calls: int) -> None:
    """``calls`` unary calls through a bench client of ``client``."""
    target = await open_client(client, "send", 1)
    try:
        for index in range(calls):
            await target.call(f"call {index}")
    finally:
        await target.close()


async def _group_offsets(
    bootstrap_servers: str, group: str
) -> tuple[dict[int, int], dict[int, int]]:
    """The group's committed offset and the end offset of each partition of the Faust
    echo's request topic (partitions with records only)."""
    topic = echo.requests_topic(echo.FAUST_NAME)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers)
    await admin.start()
    await consumer.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
        ends = await consumer.end_offsets([TopicPartition(topic, p) for p in range(PARTITIONS)])
    finally:
        await consumer.stop()
        await admin.close()
    end = {tp.partition: offset for tp, offset in ends.items() if offset}
    committed = {tp.partition: meta.offset for tp, meta in offsets.items() if tp.topic == topic}
    return {p: committed.get(p, -1) for p in end}, end


_MESSAGE = {"messageId": "m-1", "role": "ROLE_USER", "parts": [{"text": "hi"}]}


def _jsonrpc(url: str, method: str, params: dict[str, Any]) -> dict[str, Any]:
    """One JSON-RPC call to a2a-sdk's HTTP server; its response body."""
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
    response = httpx.post(url, json=body, headers={"A2A-Version": "1.0"}, timeout=10)
    return cast(dict[str, Any], response.json())

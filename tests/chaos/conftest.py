"""Fixtures of the fault-injection tests (marker ``chaos``; ``make chaos`` runs them).

They stop, kill and restart brokers, so each test module runs its own: a fresh
``scripts/kafka`` cluster of ``BROKERS`` nodes (a module global, default 1) on
``CHAOS_KAFKA_PORT`` (default 28092; node *i* on port + *i* - 1, controllers from
port + 100; keep them below the ephemeral port range, see ``support.chaos``), with data
in the module's tmp dir, reset when the module is done.

Knobs (environment): ``CHAOS_RUNS`` runs of each scenario (default 1; the issue's
"three consecutive runs" is ``CHAOS_RUNS=3``), ``CHAOS_CALLS`` (500),
``CHAOS_CONCURRENCY`` (64), ``CHAOS_SETTLE`` (30 s), ``CHAOS_REPORT`` (a file every
report line is appended to, besides the tmp dir's ``chaos-report.jsonl``),
``CHAOS_KEEP_DATA=1`` (the module's broker is stopped but its data kept under the tmp
dir, for a post-mortem of the topics; the next run's ``--basetemp`` wipes it).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from support.chaos import EchoWorkers, KafkaCluster, env_int

HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Marks every test of this directory ``chaos``."""
    for item in items:
        if HERE in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.chaos)


@pytest.fixture(scope="module")
def kafka(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[KafkaCluster]:
    """The module's own fresh broker(s), reset (stopped by PID, data deleted) after it,
    or only stopped with ``CHAOS_KEEP_DATA=1``."""
    brokers = getattr(request.module, "BROKERS", 1)
    cluster = KafkaCluster(
        tmp_path_factory.mktemp("kafka"), env_int("CHAOS_KAFKA_PORT", 28092), brokers
    )
    try:
        cluster.start()
        yield cluster
    finally:
        if env_int("CHAOS_KEEP_DATA", 0):
            cluster.stop()
        else:
            cluster.reset()


@pytest.fixture
async def echo_workers(
    kafka: KafkaCluster, tmp_path: Path
) -> AsyncIterator[Callable[..., Awaitable[EchoWorkers]]]:
    """``echo_workers(count=2, env=None)`` → started :class:`EchoWorkers`, stopped
    by PID after the test."""
    groups: list[EchoWorkers] = []

    async def _make(count: int = 2, env: dict[str, str] | None = None) -> EchoWorkers:
        base = tmp_path / f"workers-{len(groups)}"
        base.mkdir()
        group = EchoWorkers(kafka.bootstrap_servers, base, count, env)
        groups.append(group)
        await group.start()
        return group

    yield _make
    for group in groups:
        group.stop_all()


@pytest.fixture
def report_path(tmp_path: Path) -> Path:
    """The JSON-lines file the test's reports go to."""
    return tmp_path / "chaos-report.jsonl"

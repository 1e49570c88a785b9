"""Where a worker keeps its tables: ``faust --datadir`` is honoured, app ids stay apart."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from support.processes import TESTS, WorkerProcess

pytestmark = pytest.mark.kafka


def _worker(bootstrap_servers: str, app_id: str, datadir: Path, log: Path) -> WorkerProcess:
    return WorkerProcess(
        "support.cluster_app",
        bootstrap_servers=bootstrap_servers,
        app_id=app_id,
        datadir=datadir,
        log_path=log,
        env={"TEST_AGENT_PREFIX": f"{app_id}-"},
        datadir_option=True,
    )


def test_two_app_ids_share_one_datadir_given_on_the_command_line(
    bootstrap_servers: str, tmp_path: Path
) -> None:
    datadir = tmp_path / "shared"
    app_ids = [f"datadir-{uuid.uuid4().hex[:6]}" for _ in range(2)]
    workers = [
        _worker(bootstrap_servers, app_id, datadir, tmp_path / f"{app_id}.log")
        for app_id in app_ids
    ]
    try:
        for worker in workers:
            worker.start()
        for worker, app_id in zip(workers, app_ids, strict=True):
            tables = datadir / app_id / "v1" / "tables"
            assert tables.is_dir(), worker.log_tail()
            assert any(path.name.startswith("tasks-") for path in tables.iterdir())
            assert "ConsistencyError" not in worker.log_path.read_text(errors="replace")
        assert not (TESTS / ".data" / "worker" / app_ids[0]).exists()
    finally:
        for worker in workers:
            worker.stop()

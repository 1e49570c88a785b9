"""The package as the Docker image installs it: ``pip install .`` without extras.

Builds the wheel, installs it into a clean virtual environment (no system site
packages, no extras; dependencies resolved from the package index, pip's cache
helps) and starts ``faust -A app worker`` from it against the test broker: the core
dependencies must cover everything the worker imports (issue 8, "The Docker image
cannot start").
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from a2a.client import ClientConfig
from a2a.helpers import new_text_message
from a2a.types import Role, SendMessageRequest, TaskState
from support.processes import ROOT, WorkerProcess

from app.registry import fetch_cards
from app.transport import kafka_client_factory

pytestmark = pytest.mark.kafka


def run(*args: str | Path, cwd: Path, timeout: float) -> str:
    """Runs a command; its stdout. Fails the test with its output if it fails."""
    result = subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, f"{args}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clean venv with the wheel installed without extras; its directory."""
    base = tmp_path_factory.mktemp("wheel")
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    run(*pip, "wheel", "--no-deps", "-q", "-w", base / "dist", ROOT,
        cwd=base, timeout=300)  # fmt: skip
    (wheel,) = (base / "dist").glob("faust_a2a-*.whl")
    run(sys.executable, "-m", "venv", "--without-pip", base / "venv", cwd=base, timeout=120)
    python = base / "venv" / "bin" / "python"
    run(*pip, "--python", python, "install", "--no-compile", "-q", wheel, cwd=base, timeout=600)
    return base


def test_the_wheel_installs_what_the_worker_imports(installed: Path) -> None:
    python = installed / "venv" / "bin" / "python"
    where = run(python, "-c", "import app, faust; print(app.__file__)", cwd=installed, timeout=60)
    assert where.startswith(str(installed / "venv")), "not the installed package"
    run(python, "-c", "import app.main", cwd=installed, timeout=120)


async def test_the_installed_worker_serves(installed: Path, bootstrap_servers: str) -> None:
    worker = WorkerProcess(
        "app",
        bootstrap_servers=bootstrap_servers,
        app_id=f"wheel-{uuid.uuid4().hex[:8]}",
        datadir=installed / "data",
        log_path=installed / "worker.log",
        env={"PYTHONPATH": ""},
        faust=installed / "venv" / "bin" / "faust",
        cwd=installed,
    )
    await asyncio.to_thread(worker.start, 120.0)
    try:
        cards = await fetch_cards(bootstrap_servers)
        client = kafka_client_factory(ClientConfig(streaming=False)).create(cards["data"])
        context_id = uuid.uuid4().hex
        request = SendMessageRequest(
            message=new_text_message("Zerg win rate", role=Role.ROLE_USER, context_id=context_id)
        )
        try:
            _ = [event async for event in client.send_message(request)]
        finally:
            await client.close()
        # Other workers may host `data` too: this one's own view shows it answered.
        status, body = worker.get(f"/contexts/{context_id}")
        assert status == 200, body
        (conversation,) = body["conversations"]
        assert [t["state"] for t in conversation["tasks"]] == [
            TaskState.Name(TaskState.TASK_STATE_COMPLETED)
        ]
    finally:
        worker.stop()

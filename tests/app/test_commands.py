"""The Faust CLI commands, run as a newcomer would: real processes, real worker."""

from __future__ import annotations

import re
import subprocess

import pytest
from support.processes import FAUST, TESTS, WorkerProcess

pytestmark = pytest.mark.kafka


def faust(worker: WorkerProcess, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(FAUST), "-A", "support.worker_app", *args],
        cwd=TESTS,
        env=worker.env,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )


def test_agents_lists_cards_and_skills(worker: WorkerProcess) -> None:
    result = faust(worker, "agents")
    assert result.returncode == 0, result.stderr
    assert "data: " in result.stdout
    assert "skill race-win-rate:" in result.stdout
    assert "kafka://" in result.stdout


def test_ask_follow_up_and_task(worker: WorkerProcess) -> None:
    first = faust(worker, "ask", "data", "What is the win rate?")
    assert first.returncode == 0, first.stderr
    assert "[input-required] Which race? Terran, Zerg or Protoss?" in first.stdout
    context_id = re.search(r"context id:\s+(\S+)", first.stdout)
    assert context_id is not None
    second = faust(worker, "ask", "data", "Terran", "--context-id", context_id.group(1))
    assert second.returncode == 0, second.stderr
    assert "[statistics] Terran win rate: 53.9% over 1985 games" in second.stdout
    assert re.search(r"state:\s+completed", second.stdout)
    task_id = re.search(r"task id:\s+(\S+)", second.stdout)
    assert task_id is not None
    shown = faust(worker, "task", task_id.group(1))
    assert shown.returncode == 0, shown.stderr
    assert '"TASK_STATE_COMPLETED"' in shown.stdout
    assert context_id.group(1) in shown.stdout


def test_ask_an_unknown_agent_fails_in_one_line(worker: WorkerProcess) -> None:
    result = faust(worker, "ask", "nobody", "hello")
    assert result.returncode == 1
    assert "error: no agent 'nobody'" in result.stderr
    assert "Traceback" not in result.stderr

"""Every Kafka client over SASL_SSL, given only the ``KAFKA_*`` lines that
``scripts/kafka start --security sasl_ssl`` prints; bad credentials in one line.

One secured broker (free ports, its own data directory) and one worker for the
module; the CLI commands run as real processes with nothing but those variables.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import signal
import stat
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from a2a.client import A2AClientTimeoutError, ClientCallContext
from a2a.helpers import new_text_message
from a2a.types import Role, SendMessageRequest, TaskState
from support.clients import wait_for_cards
from support.processes import FAUST, ROOT, WorkerProcess
from support.secured_broker import secured_broker

from app.kafka_config import KafkaConfig
from app.registry import fetch_cards
from app.transport import KafkaTransport

pytestmark = pytest.mark.kafka

#: What a newcomer's shell has: no KAFKA_* of the test broker, no FAUST_A2A_*.
BASE_ENV = {
    k: v
    for k, v in os.environ.items()
    if not k.startswith(("KAFKA_", "FAUST_A2A_")) and k != "PYTHONPATH"
}


@pytest.fixture(scope="module")
def secured(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[dict[str, str], str, int]]:
    with secured_broker(tmp_path_factory.mktemp("secured") / "kafka") as broker:
        yield broker


@pytest.fixture(scope="module")
def kafka_env(secured: tuple[dict[str, str], str, int]) -> dict[str, str]:
    return secured[0]


@pytest.fixture(scope="module")
def secured_worker(
    kafka_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WorkerProcess]:
    base = tmp_path_factory.mktemp("secured-worker")
    worker = WorkerProcess(
        "support.worker_app",
        bootstrap_servers=kafka_env["KAFKA_BOOTSTRAP_SERVERS"],
        app_id=f"secured-{uuid.uuid4().hex[:8]}",
        datadir=base / "data",
        log_path=base / "worker.log",
        env=kafka_env,
    )
    worker.env = {k: v for k, v in worker.env.items() if not k.startswith("KAFKA_")} | kafka_env
    worker.start(timeout=180)
    yield worker
    worker.stop()


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """``faust -A app <args>`` with only ``env``'s Kafka settings."""
    return subprocess.run(
        [str(FAUST), "-A", "app", *args],
        cwd=ROOT,
        env={**BASE_ENV, "PYTHONPATH": str(ROOT), **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_script_prints_what_a_client_needs(
    secured: tuple[dict[str, str], str, int],
) -> None:
    variables, stdout, _ = secured
    assert variables["KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
    assert variables["KAFKA_SASL_MECHANISM"] == "SCRAM-SHA-512"
    assert variables["KAFKA_SASL_USERNAME"] and variables["KAFKA_SASL_PASSWORD"]
    ca = Path(variables["KAFKA_SSL_CAFILE"])
    assert "BEGIN CERTIFICATE" in ca.read_text()
    assert "(SASL_SSL, SCRAM-SHA-512)" in stdout
    client_env = ca.parent.parent / "client.env"
    assert stat.S_IMODE(client_env.stat().st_mode) == 0o600
    config = KafkaConfig.from_env(variables)
    assert variables["KAFKA_SASL_PASSWORD"] not in repr(config)


async def test_a_plaintext_client_is_refused(kafka_env: dict[str, str]) -> None:
    plaintext = KafkaConfig(bootstrap_servers=kafka_env["KAFKA_BOOTSTRAP_SERVERS"])
    with pytest.raises(Exception, match="KAFKA_SECURITY_PROTOCOL"):
        await fetch_cards(plaintext, timeout=10)


def test_worker_cli_and_peer_calls_over_sasl_ssl(
    secured_worker: WorkerProcess, kafka_env: dict[str, str]
) -> None:
    asyncio.run(wait_for_cards(KafkaConfig.from_env(kafka_env), {"data", "cs", "balance"}))
    agents = cli(kafka_env, "agents")
    assert agents.returncode == 0, agents.stderr
    assert "data: " in agents.stdout and "balance: " in agents.stdout

    asked = cli(kafka_env, "ask", "data", "What is the Zerg win rate?")
    assert asked.returncode == 0, asked.stderr
    assert "[statistics] Zerg win rate: 47.7%" in asked.stdout
    task_id = re.search(r"task id:\s+(\S+)", asked.stdout)
    assert task_id is not None
    shown = cli(kafka_env, "task", task_id.group(1), "--agent", "data")
    assert shown.returncode == 0, shown.stderr
    assert '"TASK_STATE_COMPLETED"' in shown.stdout

    balance = cli(kafka_env, "ask", "balance", "Is Terran too strong?")
    assert balance.returncode == 0, balance.stderr + secured_worker.log_tail()
    assert re.search(r"state:\s+completed", balance.stdout), balance.stdout
    log = secured_worker.log_path.read_text(errors="replace")
    assert kafka_env["KAFKA_SASL_PASSWORD"] not in log


@pytest.mark.parametrize(
    ("case", "needle"),
    [
        ("wrong password", "refused the SASL credentials of user 'faust-a2a'"),
        ("plaintext client", "check KAFKA_SECURITY_PROTOCOL (now PLAINTEXT)"),
        ("wrong CA file", "cannot verify the TLS certificate"),
    ],
)
def test_bad_credentials_give_one_line(
    kafka_env: dict[str, str], tmp_path: Path, case: str, needle: str
) -> None:
    env = dict(kafka_env)
    if case == "wrong password":
        env["KAFKA_SASL_PASSWORD"] = "not-the-password"
        setting = "KAFKA_SASL_PASSWORD"
    elif case == "plaintext client":
        env["KAFKA_SECURITY_PROTOCOL"] = "PLAINTEXT"
        setting = "KAFKA_SECURITY_PROTOCOL"
    else:
        other_ca = tmp_path / "other-ca.pem"
        subprocess.run(
            [
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "1",
                "-subj",
                "/CN=another CA",
                "-keyout",
                str(tmp_path / "ca.key"),
                "-out",
                str(other_ca),
            ],
            capture_output=True,
            check=True,
            timeout=60,
        )
        env["KAFKA_SSL_CAFILE"] = str(other_ca)
        setting = "KAFKA_SSL_CAFILE"
    started = time.monotonic()
    result = cli(env, "ask", "data", "What is the Zerg win rate?")
    elapsed = time.monotonic() - started
    assert result.returncode == 1
    output = (result.stdout + result.stderr).strip().splitlines()
    assert len(output) == 1, output
    assert needle in output[0] and setting in output[0], output[0]
    assert output[0].startswith("error: ")
    assert "not-the-password" not in output[0]
    assert elapsed < 60, "no retry storm: the command gives up after one attempt"


async def test_produce_retries_end_in_an_error_that_says_so(
    secured: tuple[dict[str, str], str, int],
    secured_worker: WorkerProcess,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Issue 14: with the broker frozen (SIGSTOP), requests are retried within their
    deadline, then fail with an A2A error saying they were not produced; one WARNING
    when produces start failing, one when they work again. Runs last in this module."""
    variables, _, broker_pid = secured
    config = KafkaConfig.from_env(variables)
    card = (await fetch_cards(config))["data"]
    caplog.set_level(logging.WARNING, logger="app.transport")
    transport = KafkaTransport(
        card, kafka=config, timeout=5.0, producer_options={"request_timeout_ms": 1500}
    )

    def ask() -> SendMessageRequest:
        message = new_text_message("What is the Zerg win rate?", role=Role.ROLE_USER)
        return SendMessageRequest(message=message)

    async with transport:
        os.kill(broker_pid, signal.SIGSTOP)
        try:
            results = await asyncio.gather(
                *(transport.send_message(ask()) for _ in range(4)), return_exceptions=True
            )
        finally:
            os.kill(broker_pid, signal.SIGCONT)
        for result in results:
            assert isinstance(result, A2AClientTimeoutError), result
            assert "could not produce the request to agent.data.requests" in str(result)
        recovered = await transport.send_message(ask(), context=ClientCallContext(timeout=90))
    assert recovered.task.status.state == TaskState.TASK_STATE_COMPLETED
    lines = [r for r in caplog.records if r.name == "app.transport"]
    assert [r.levelname for r in lines] == ["WARNING", "WARNING"], [r.getMessage() for r in lines]
    assert "retrying" in lines[0].getMessage() and "works again" in lines[1].getMessage()

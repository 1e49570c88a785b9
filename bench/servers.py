"""The benchmark's server processes: bound to 127.0.0.1, stopped by their own PID.

Three kinds, each one process: a faust-a2a worker (``faust -A bench.worker_app
worker``), a2a-sdk's HTTP server (``python -m bench.http_server``) and the raw echo
(``python -m bench.echo``). Every process gets its own log file; a process that dies
while the benchmark waits for it raises with the end of that log. Each also gets
SIGTERM from the kernel if the benchmark's process dies first.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from app import binding
from app.kafka_config import kafka_config
from bench.agent import NAME, PARTITIONS

ROOT = Path(__file__).resolve().parents[1]


#: ``prctl`` option: the signal a process gets when its parent dies (Linux).
_PR_SET_PDEATHSIG = 1


def terminate_with_parent() -> None:
    """Makes the kernel send this process SIGTERM when its parent dies: run in every
    process the benchmark starts (servers before exec, client processes first), so
    that none outlives the run even when the benchmark itself is killed."""
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerProcess:
    """One server process, started in its own session and stopped by its PID.

    Args:
        name: What it is, for messages.
        argv: The command.
        log_path: Where its stdout and stderr go.
        env: Extra environment variables (``PYTHONPATH`` is the repository root).
    """

    def __init__(
        self, name: str, argv: list[str], *, log_path: Path, env: dict[str, str] | None = None
    ) -> None:
        self.name = name
        self.argv = argv
        self.log_path = log_path
        self.env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        """The process id.

        Raises:
            RuntimeError: not started.
        """
        if self._process is None:
            raise RuntimeError(f"{self.name} is not started")
        return self._process.pid

    def start(self) -> None:
        """Starts the process (without waiting for it to serve)."""
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                self.argv,
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=terminate_with_parent,
            )

    def check_alive(self) -> None:
        """Raises ``RuntimeError`` with the end of the log if the process has exited."""
        if self._process is None or self._process.poll() is not None:
            code = None if self._process is None else self._process.returncode
            raise RuntimeError(f"{self.name} exited ({code}):\n{self.log_tail()}")

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM to its PID, then SIGKILL after ``timeout`` seconds; waits for it."""
        if self._process is None or self._process.poll() is not None:
            return
        self._process.send_signal(signal.SIGTERM)
        try:
            self._process.wait(timeout)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(10)

    def log_tail(self, lines: int = 30) -> str:
        """The end of the process's log."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"


class WorkerProcess(ServerProcess):
    """A faust-a2a worker hosting the ``bench`` agent, with its own datadir and web port.

    Args:
        bootstrap_servers: The broker.
        app_id: Faust app id; workers sharing it share the request partitions.
        base_dir: Where its datadir and log go.
        index: Tells workers of one run apart (``worker-<index>``).
        profile_path: Where ``/bench/profile/stop`` saves the pyinstrument session.
    """

    def __init__(
        self, bootstrap_servers: str, app_id: str, base_dir: Path, index: int, *, profile_path: Path
    ) -> None:
        self.web_port = free_port()
        super().__init__(
            f"worker-{index}",
            [sys.executable, "-m", "faust", "-A", "bench.worker_app", "worker", "-l", "info"],
            log_path=base_dir / f"worker-{index}.log",
            env={
                "KAFKA_BOOTSTRAP_SERVERS": bootstrap_servers,
                "FAUST_A2A_APP_ID": app_id,
                "FAUST_A2A_PARTITIONS": str(PARTITIONS),
                "FAUST_A2A_DATADIR": str(base_dir / f"worker-{index}-data"),
                "FAUST_A2A_WEB_PORT": str(self.web_port),
                "FAUST_A2A_WEB_HOST": "127.0.0.1",
                "FAUST_A2A_WEB_BIND": "127.0.0.1",
                "BENCH_PROFILE_PATH": str(profile_path),
            },
        )

    def get(self, path: str, timeout: float = 10.0) -> tuple[int, Any]:
        """``GET path`` on the worker's web views: (status, JSON body); (0, None) if down."""
        try:
            url = f"http://127.0.0.1:{self.web_port}{path}"
            with urllib.request.urlopen(url, timeout=timeout) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, None
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return 0, None

    def wait_ready(self, timeout: float = 120.0) -> None:
        """Waits until ``/health`` answers 200 (tables recovered, no rebalance).

        Raises:
            RuntimeError: the worker exited, or was not ready within ``timeout`` s.
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive()
            if self.get("/health")[0] == 200:
                return
            time.sleep(0.3)
        raise RuntimeError(f"{self.name} not ready after {timeout}s:\n{self.log_tail()}")


class HttpServerProcess(ServerProcess):
    """a2a-sdk's JSON-RPC HTTP server hosting the echo agent (:mod:`bench.http_server`)."""

    def __init__(self, base_dir: Path) -> None:
        self.port = free_port()
        super().__init__(
            "a2a-http server",
            [sys.executable, "-m", "bench.http_server", str(self.port)],
            log_path=base_dir / "http-server.log",
        )


class EchoProcess(ServerProcess):
    """The raw aiokafka echo (:mod:`bench.echo`)."""

    def __init__(self, bootstrap_servers: str, base_dir: Path) -> None:
        super().__init__(
            "raw-kafka echo",
            [sys.executable, "-m", "bench.echo", bootstrap_servers],
            log_path=base_dir / "echo.log",
        )


async def skip_stale_requests(bootstrap_servers: str, app_id: str) -> None:
    """Commits offsets at the end of ``agent.bench.requests`` for the group ``app_id``.

    A new app id is a new consumer group, which Faust starts from the earliest record:
    on a broker kept from earlier runs, a fresh worker would first answer every old
    request. Committing the current end first makes it start where the run starts.
    Does nothing when the topic does not exist yet.
    """
    topic = binding.requests_topic(NAME)
    admin = AIOKafkaAdminClient(**kafka_config(bootstrap_servers).admin_options())
    await admin.start()
    try:
        # Describing a missing topic would auto-create it with the broker's default
        # partition count, which the worker's tables then refuse: list first.
        if topic not in await admin.list_topics():
            return
        (description,) = await admin.describe_topics([topic])
    finally:
        await admin.close()
    tps = [TopicPartition(topic, p["partition"]) for p in description["partitions"]]
    consumer = AIOKafkaConsumer(
        **kafka_config(bootstrap_servers).consumer_options(
            group_id=app_id, enable_auto_commit=False
        )
    )
    await consumer.start()
    try:
        consumer.assign(tps)
        ends = await consumer.end_offsets(tps)
        await consumer.commit(dict(ends))
    finally:
        await consumer.stop()


async def retire_card(bootstrap_servers: str) -> None:
    """Tombstones the ``bench`` card in ``agent.registry``: its workers are gone."""
    producer = AIOKafkaProducer(**kafka_config(bootstrap_servers).producer_options())
    await producer.start()
    try:
        await producer.send_and_wait(binding.REGISTRY_TOPIC, None, key=NAME.encode())
    finally:
        await producer.stop()

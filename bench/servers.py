"""The benchmark's server processes: bound to 127.0.0.1, stopped by their own PID.

Three kinds, each one process: a faust-a2a worker (``faust -A bench.worker_app
worker``), a2a-sdk's HTTP server (``python -m bench.http_server``) and the raw echo
(``python -m bench.echo``). Every process gets its own log file; a process that dies
while the benchmark waits for it raises with the end of that log. Each also gets
SIGTERM from the kernel if the benchmark's process dies first.

:func:`pid_listening_on` finds the process behind a TCP port (the broker, when the
benchmark did not start it) from ``/proc`` (Linux).
"""

from __future__ import annotations

import contextlib
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
from bench.agent import PARTITIONS
from bench.http_server import PEER_PATH

ROOT = Path(__file__).resolve().parents[1]
#: The worker's view answering what it runs with (:func:`bench.worker_app.worker_config`).
CONFIG_PATH = "/bench/config"


#: ``prctl`` option: the signal a process gets when its parent dies (Linux).
_PR_SET_PDEATHSIG = 1


def terminate_with_parent() -> None:
    """Makes the kernel send this process SIGTERM when its parent dies: run in every
    process the benchmark starts (servers before exec, client processes first), so
    that none outlives the run even when the benchmark itself is killed."""
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def pid_listening_on(port: int) -> int:
    """The process that listens on TCP ``port`` (any local address), from ``/proc``.

    Reads the listening sockets' inodes from ``/proc/net/tcp`` and ``/proc/net/tcp6``
    (state ``0A``, LISTEN; proc(5)), then finds the process holding one of them
    among the ``/proc/<pid>/fd`` links (``socket:[<inode>]``) it may read.

    Raises:
        LookupError: nothing listens on ``port``, or the listener's process is not
            readable by this user (say its PID with ``--broker-pid`` then).
    """
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(FileNotFoundError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                local_port = int(fields[1].rpartition(":")[2], 16)
                if local_port == port and fields[3] == "0A":
                    inodes.add(f"socket:[{fields[9]}]")
    if not inodes:
        raise LookupError(f"nothing listens on TCP port {port}")
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            for fd in (proc / "fd").iterdir():
                with contextlib.suppress(OSError):
                    if os.readlink(fd) in inodes:
                        return int(proc.name)
    raise LookupError(f"the process listening on TCP port {port} is not readable by this user")


def get_json(port: int, path: str, timeout: float = 10.0) -> tuple[int, Any]:
    """``GET http://127.0.0.1:<port><path>``: (status, JSON body); (0, None) if down."""
    try:
        url = f"http://127.0.0.1:{port}{path}"
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, None
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return 0, None


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
    """A faust-a2a worker hosting one benchmark agent, with its own datadir and web port.

    Args:
        bootstrap_servers: The broker.
        app_id: Faust app id; workers sharing it share the request partitions.
        base_dir: Where its datadir and log go.
        name: Tells workers of one run apart (its log and datadir are named after it).
        agent: The hosted agent's name (``BENCH_AGENT_NAME``, :mod:`bench.worker_app`).
        profile_path: Where ``/bench/profile/stop`` saves the pyinstrument session.
        env: Further ``FAUST_A2A_*`` settings of this worker.
    """

    def __init__(
        self,
        bootstrap_servers: str,
        app_id: str,
        base_dir: Path,
        name: str,
        *,
        agent: str,
        profile_path: Path,
        env: dict[str, str] | None = None,
    ) -> None:
        self.web_port = free_port()
        super().__init__(
            name,
            [sys.executable, "-m", "faust", "-A", "bench.worker_app", "worker", "-l", "info"],
            log_path=base_dir / f"{name}.log",
            env={
                "KAFKA_BOOTSTRAP_SERVERS": bootstrap_servers,
                "FAUST_A2A_APP_ID": app_id,
                "FAUST_A2A_PARTITIONS": str(PARTITIONS),
                "FAUST_A2A_DATADIR": str(base_dir / f"{name}-data"),
                "FAUST_A2A_WEB_PORT": str(self.web_port),
                "FAUST_A2A_WEB_HOST": "127.0.0.1",
                "FAUST_A2A_WEB_BIND": "127.0.0.1",
                "BENCH_AGENT_NAME": agent,
                "BENCH_PROFILE_PATH": str(profile_path),
                **(env or {}),
            },
        )

    def get(self, path: str, timeout: float = 10.0) -> tuple[int, Any]:
        """``GET path`` on the worker's web views: (status, JSON body); (0, None) if down."""
        return get_json(self.web_port, path, timeout)

    def config(self) -> dict[str, Any]:
        """What the running worker uses (``GET /bench/config``).

        Raises:
            RuntimeError: the view did not answer 200.
        """
        status, body = self.get(CONFIG_PATH)
        if status != 200:
            raise RuntimeError(f"{self.name} {CONFIG_PATH}: HTTP {status}\n{self.log_tail()}")
        return dict(body)

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
    """a2a-sdk's JSON-RPC HTTP server hosting the echo agent (:mod:`bench.http_server`).

    Args:
        base_dir: Where its log goes.
        name: Tells HTTP servers of one run apart (its log is named after it).
        loop: uvicorn's ``--loop`` (``uvloop``, ``asyncio``).
        http: uvicorn's ``--http`` (``httptools``, ``h11``).
    """

    def __init__(self, base_dir: Path, name: str, *, loop: str, http: str) -> None:
        self.port = free_port()
        super().__init__(
            name,
            [
                sys.executable,
                "-m",
                "bench.http_server",
                str(self.port),
                f"--loop={loop}",
                f"--http={http}",
            ],
            log_path=base_dir / f"{name}.log",
        )

    def wait_ready(self, timeout: float = 60.0) -> dict[str, str]:
        """Waits until the server answers; returns what it runs on
        (``GET /bench/peer``: ``{"loop": …, "http": …, …}``, :mod:`bench.http_server`).

        Raises:
            RuntimeError: the server exited, or did not answer within ``timeout`` s.
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive()
            status, body = get_json(self.port, PEER_PATH)
            if status == 200:
                return dict(body)
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} not ready after {timeout}s:\n{self.log_tail()}")


class EchoProcess(ServerProcess):
    """The raw aiokafka echo (:mod:`bench.echo`)."""

    def __init__(self, bootstrap_servers: str, base_dir: Path) -> None:
        super().__init__(
            "raw-kafka echo",
            [sys.executable, "-m", "bench.echo", bootstrap_servers],
            log_path=base_dir / "echo.log",
        )


class FaustEchoProcess(ServerProcess):
    """The Faust floor (:mod:`bench.faust_echo`): a Faust worker of app id ``app_id``."""

    def __init__(self, bootstrap_servers: str, app_id: str, base_dir: Path) -> None:
        super().__init__(
            "faust echo",
            [sys.executable, "-m", "faust", "-A", "bench.faust_echo", "worker", "-l", "info"],
            log_path=base_dir / "faust-echo.log",
            env={
                "KAFKA_BOOTSTRAP_SERVERS": bootstrap_servers,
                "FAUST_A2A_APP_ID": app_id,
                "FAUST_A2A_DATADIR": str(base_dir / "faust-echo-data"),
                "FAUST_A2A_WEB_PORT": str(free_port()),
                "FAUST_A2A_WEB_HOST": "127.0.0.1",
                "FAUST_A2A_WEB_BIND": "127.0.0.1",
            },
        )


async def skip_stale_requests(bootstrap_servers: str, app_id: str, topic: str) -> None:
    """Commits offsets at the end of the request topic ``topic`` for the group ``app_id``.

    A new app id is a new consumer group, which Faust starts from the earliest record:
    on a broker kept from earlier runs, a fresh worker would first answer every old
    request. Committing the current end first makes it start where the run starts.
    Does nothing when the topic does not exist yet.
    """
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


async def retire_card(bootstrap_servers: str, agent: str) -> None:
    """Tombstones ``agent``'s card in ``agent.registry``: its workers are gone."""
    producer = AIOKafkaProducer(**kafka_config(bootstrap_servers).producer_options())
    await producer.start()
    try:
        await producer.send_and_wait(binding.REGISTRY_TOPIC, None, key=agent.encode())
    finally:
        await producer.stop()

"""Real worker processes for the integration tests, bound to 127.0.0.1, stopped by PID."""

from __future__ import annotations

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

ROOT = Path(__file__).resolve().parents[2]
TESTS = ROOT / "tests"
FAUST = Path(sys.executable).parent / "faust"


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stop_process(
    process: subprocess.Popen[bytes] | None, sig: signal.Signals, timeout: float
) -> int | None:
    """Sends ``sig`` to ``process`` by its PID and waits (SIGKILL after ``timeout`` s);
    its exit code, ``None`` if it never started."""
    if process is None or process.poll() is not None:
        return None if process is None else process.returncode
    process.send_signal(sig)
    try:
        return process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait(10)


def log_tail(path: Path, lines: int = 40) -> str:
    """The last ``lines`` lines of the log at ``path``."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


class WorkerProcess:
    """One ``faust -A <app> worker`` process with its own data directory and web port.

    Args:
        app: The Faust app to run (``-A``), importable from ``tests/``.
        bootstrap_servers: The broker.
        app_id: Faust app id (consumer group); workers sharing it share the work.
        datadir: This worker's RocksDB directory.
        log_path: Where the worker's stdout and stderr go.
        env: Extra environment variables.
        datadir_option: Give the data directory as ``faust --datadir`` (the CLI's
            option) instead of ``FAUST_A2A_DATADIR``.
        faust: The ``faust`` executable; default: this venv's.
        cwd: The working directory; default ``tests/`` (with the worktree on
            ``PYTHONPATH``, so the worktree's code runs).
    """

    def __init__(
        self,
        app: str,
        *,
        bootstrap_servers: str,
        app_id: str,
        datadir: Path,
        log_path: Path,
        env: dict[str, str] | None = None,
        datadir_option: bool = False,
        faust: Path = FAUST,
        cwd: Path = TESTS,
    ) -> None:
        self.app = app
        self.datadir_option = datadir_option
        self.faust = faust
        self.cwd = cwd
        self.app_id = app_id
        self.datadir = datadir
        self.log_path = log_path
        self.web_port = free_port()
        self.env = {
            **os.environ,
            "KAFKA_BOOTSTRAP_SERVERS": bootstrap_servers,
            "FAUST_A2A_APP_ID": app_id,
            **({} if datadir_option else {"FAUST_A2A_DATADIR": str(datadir)}),
            "FAUST_A2A_WEB_PORT": str(self.web_port),
            "FAUST_A2A_WEB_HOST": "127.0.0.1",
            "PYTHONPATH": os.pathsep.join([str(TESTS), str(ROOT)]),
            **(env or {}),
        }
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The worker's web base URL."""
        return f"http://127.0.0.1:{self.web_port}"

    def start(self, timeout: float = 90.0) -> WorkerProcess:
        """Starts the worker and waits until ``/health`` says ready.

        Raises:
            RuntimeError: the worker exited or was not ready within ``timeout`` seconds
                (the message has the end of its log).
        """
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [
                str(self.faust),
                *(["--datadir", str(self.datadir)] if self.datadir_option else []),
                *("-A", self.app, "worker", "-l", "info", "--web-port", str(self.web_port)),
            ],
            cwd=self.cwd,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"worker exited with {self.process.returncode}:\n{self.log_tail()}"
                )
            status, _ = self.get("/health")
            if status == 200:
                return self
            time.sleep(0.3)
        self.stop(signal.SIGKILL)
        raise RuntimeError(f"worker not ready after {timeout}s:\n{self.log_tail()}")

    def get(self, path: str) -> tuple[int, Any]:
        """``GET path`` on the worker's web server: (status, JSON body); (0, None) if down."""
        try:
            with urllib.request.urlopen(self.url + path, timeout=10) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            body = error.read()
            return error.code, json.loads(body) if body.startswith(b"{") else body
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return 0, None

    def stop(self, sig: signal.Signals = signal.SIGTERM, timeout: float = 30.0) -> int | None:
        """Sends ``sig`` to the worker's PID and waits (SIGKILL after ``timeout`` s)."""
        return stop_process(self.process, sig, timeout)

    def log_tail(self, lines: int = 40) -> str:
        """The end of the worker's log."""
        return log_tail(self.log_path, lines)

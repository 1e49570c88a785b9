"""Real gateway processes (``faust -A <app> gateway``) for the tests, stopped by PID."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
from a2a.client import Client, ClientConfig, ClientFactory
from a2a.types import AgentCard
from google.protobuf.json_format import ParseDict

from support.processes import FAUST, ROOT, TESTS, free_port, log_tail, stop_process


class GatewayProcess:
    """One ``faust -A <app> gateway`` process on 127.0.0.1 and a free port.

    Args:
        bootstrap_servers: The broker.
        log_path: Where the gateway's stdout and stderr go.
        args: Extra command-line arguments (``--agent``, ``--timeout`` …).
        app: The Faust app (``-A``), importable from ``tests/``.
    """

    def __init__(
        self,
        bootstrap_servers: str,
        log_path: Path,
        *args: str,
        app: str = "support.worker_app",
    ) -> None:
        self.port = free_port()
        self.log_path = log_path
        self.args = args
        self.app = app
        self.env = {
            **os.environ,
            "KAFKA_BOOTSTRAP_SERVERS": bootstrap_servers,
            "PYTHONPATH": os.pathsep.join([str(TESTS), str(ROOT)]),
        }
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The gateway's base URL."""
        return f"http://127.0.0.1:{self.port}"

    def start(self, wait_for: str | None = "data", timeout: float = 60.0) -> GatewayProcess:
        """Starts the gateway and waits until it serves ``wait_for``'s card.

        ``wait_for=""`` waits for the root card (``--agent`` mode); ``None`` for any
        HTTP answer.

        Raises:
            RuntimeError: it exited or was not ready within ``timeout`` seconds.
        """
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [str(FAUST), "-A", self.app, "gateway", "--port", str(self.port), *self.args],
            cwd=TESTS,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        path = (
            f"/{wait_for}/.well-known/agent-card.json"
            if wait_for
            else "/.well-known/agent-card.json"
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"gateway exited with {self.process.returncode}:\n{self.log_tail()}"
                )
            try:
                status = httpx.get(self.url + path, timeout=5).status_code
                if status == 200 or wait_for is None:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        self.stop(signal.SIGKILL)
        raise RuntimeError(f"gateway not ready after {timeout}s:\n{self.log_tail()}")

    async def card(self, agent: str = "") -> AgentCard:
        """The card the gateway serves for ``agent`` (the root card when empty)."""
        path = f"/{agent}/.well-known/agent-card.json" if agent else "/.well-known/agent-card.json"
        async with httpx.AsyncClient() as http:
            response = await http.get(self.url + path, timeout=10)
        response.raise_for_status()
        return ParseDict(response.json(), AgentCard(), ignore_unknown_fields=True)

    async def client(self, agent: str, binding: str, **config: object) -> Client:
        """An a2a-sdk Client for ``agent`` through this gateway over ``binding``
        (``"JSONRPC"`` or ``"HTTP+JSON"``), made by ``ClientFactory`` from the card."""
        card = await self.card(agent)
        factory = ClientFactory(
            ClientConfig(supported_protocol_bindings=[binding], **config)  # type: ignore[arg-type]
        )
        return factory.create(card)

    def stop(self, sig: signal.Signals = signal.SIGTERM, timeout: float = 30.0) -> int | None:
        """Sends ``sig`` to the gateway's PID and waits (SIGKILL after ``timeout`` s)."""
        return stop_process(self.process, sig, timeout)

    def log_tail(self, lines: int = 40) -> str:
        """The end of the gateway's log."""
        return log_tail(self.log_path, lines)

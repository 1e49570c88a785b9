"""A group of real workers sharing one app id, with their own agents' topics."""

from __future__ import annotations

import signal
import uuid
from pathlib import Path

from a2a.client import Client, ClientConfig
from a2a.types import AgentCard

from app.transport import kafka_client_factory
from support.clients import wait_for_cards
from support.processes import WorkerProcess


class Cluster:
    """Workers of one Faust app hosting ``<prefix>data``, ``<prefix>slow`` and ``<prefix>probe``.

    Args:
        bootstrap_servers: The broker.
        base: A directory for the workers' data and logs.
        env: Extra environment for every worker (e.g. standby replicas).
    """

    def __init__(
        self, bootstrap_servers: str, base: Path, env: dict[str, str] | None = None
    ) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.base = base
        self.prefix = f"t{uuid.uuid4().hex[:6]}-"
        self.app_id = f"{self.prefix}app"
        self.env = {"TEST_AGENT_PREFIX": self.prefix, **(env or {})}
        self.workers: list[WorkerProcess] = []
        self.clients: list[Client] = []

    def agent(self, name: str) -> str:
        """The hosted name of a demo agent (``data`` → ``<prefix>data``)."""
        return f"{self.prefix}{name}"

    def start_worker(self, index: int | None = None) -> WorkerProcess:
        """Starts worker ``index`` (a new one by default) with its own data directory."""
        index = len(self.workers) if index is None else index
        process = WorkerProcess(
            "support.cluster_app",
            bootstrap_servers=self.bootstrap_servers,
            app_id=self.app_id,
            datadir=self.base / f"worker-{index}",
            log_path=self.base / f"worker-{index}.log",
            env=self.env,
        )
        if index < len(self.workers):
            process.web_port = self.workers[index].web_port
            process.env["FAUST_A2A_WEB_PORT"] = str(process.web_port)
            self.workers[index] = process
        else:
            self.workers.append(process)
        return process.start()

    async def cards(self) -> dict[str, AgentCard]:
        """The cluster's cards, once all are registered."""
        names = {self.agent(name) for name in ("data", "slow", "probe")}
        cards = await wait_for_cards(self.bootstrap_servers, names)
        return {name: cards[name] for name in names}

    async def client(self, name: str, timeout: float = 40.0, **config: object) -> Client:
        """An a2a-sdk Client (Kafka transport, calls time out after ``timeout`` s) for
        demo agent ``name``."""
        card = (await self.cards())[self.agent(name)]
        factory = kafka_client_factory(ClientConfig(**config), timeout=timeout)  # type: ignore[arg-type]
        client = factory.create(card)
        self.clients.append(client)
        return client

    async def close(self) -> None:
        """Closes the clients and stops every worker by PID."""
        for client in self.clients:
            await client.close()
        for worker in self.workers:
            worker.stop(signal.SIGTERM)

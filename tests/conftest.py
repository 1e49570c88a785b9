"""Fixtures shared by the test tree.

Integration tests (marker ``kafka``) need the real broker at
``KAFKA_BOOTSTRAP_SERVERS``; ``make test`` (``scripts/test``) starts a throwaway one.
"""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from a2a.client import Client, ClientConfig
from a2a.types import AgentCard
from support.clients import Connect, wait_for_cards
from support.processes import WorkerProcess

from app.registry import fetch_cards
from app.transport import kafka_client_factory


@pytest.fixture(scope="session")
def bootstrap_servers() -> str:
    """The broker's bootstrap servers; fails the test with a hint when none answers."""
    servers = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    host, _, port = servers.split(",")[0].rpartition(":")
    try:
        socket.create_connection((host, int(port)), timeout=2).close()
    except OSError:
        pytest.fail(f"no Kafka broker at {servers}: run the tests with `make test`")
    return servers


@pytest.fixture(scope="session")
def worker(
    bootstrap_servers: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WorkerProcess]:
    """One real worker (demo agents + ``slow`` + ``probe``) shared by the session's tests."""
    base: Path = tmp_path_factory.mktemp("worker")
    process = WorkerProcess(
        "support.worker_app",
        bootstrap_servers=bootstrap_servers,
        app_id=f"test-{uuid.uuid4().hex[:8]}",
        datadir=base / "data",
        log_path=base / "worker.log",
        env={"FAUST_A2A_MAX_REQUEST_BYTES": "65536"},
    )
    process.start()
    asyncio.run(
        wait_for_cards(
            bootstrap_servers, {"data", "cs", "balance", "slow", "turns", "faulty", "probe"}
        )
    )
    yield process
    process.stop()


@pytest.fixture
async def cards(worker: WorkerProcess, bootstrap_servers: str) -> dict[str, AgentCard]:
    """The registry's cards (the session worker is running)."""
    return await fetch_cards(bootstrap_servers)


@pytest.fixture
async def connect(cards: dict[str, AgentCard]) -> AsyncIterator[Connect]:
    """``connect(agent, **ClientConfig fields)`` → an a2a-sdk ``Client`` made by
    ``ClientFactory`` from the agent's registry card (Kafka transport), closed after
    the test."""
    clients: list[Client] = []

    def _connect(agent: str, **config: Any) -> Client:
        client = kafka_client_factory(ClientConfig(**config)).create(cards[agent])
        clients.append(client)
        return client

    yield _connect
    for client in clients:
        await client.close()

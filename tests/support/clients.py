"""Client-side helpers for the integration tests."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from a2a.client import Client
from a2a.types import AgentCard
from aiokafka import AIOKafkaProducer

from app import binding
from app.kafka_config import KafkaConfig
from app.registry import fetch_cards

#: ``connect(agent, **ClientConfig fields)`` → an a2a-sdk ``Client``.
Connect = Callable[..., Client]


async def wait_for_cards(
    bootstrap_servers: KafkaConfig | str, names: set[str], timeout: float = 60.0
) -> dict[str, AgentCard]:
    """The registry's cards once every name in ``names`` is there.

    Raises:
        TimeoutError: not all were published within ``timeout`` seconds.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        cards = await fetch_cards(bootstrap_servers)
        if names <= cards.keys():
            return cards
        if loop.time() > deadline:
            raise TimeoutError(f"agents {names - cards.keys()} not in the registry")
        await asyncio.sleep(0.5)


async def retire_cards(bootstrap_servers: str, names: set[str]) -> None:
    """Tombstones ``names`` in ``agent.registry``, so later tests (and the CLI's
    ``task`` command, which asks every registered agent) do not call stopped agents."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers)
    await producer.start()
    try:
        for name in sorted(names):
            await producer.send_and_wait(binding.REGISTRY_TOPIC, None, key=name.encode())
    finally:
        await producer.stop()

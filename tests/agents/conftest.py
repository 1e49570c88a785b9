"""Fixtures for the agents' tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from a2a.server.agent_execution import AgentExecutor
from a2a.server.request_handlers import DefaultRequestHandler
from agents_harness import Serve, make_handler

from agents.spec import AgentSpec


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    """``serve(spec, executor, populate_referred_tasks=False)`` -> a request handler,
    closed (its parked and running tasks drained) when the test ends."""
    handlers: list[DefaultRequestHandler] = []

    def _serve(
        spec: AgentSpec, executor: AgentExecutor, *, populate_referred_tasks: bool = False
    ) -> DefaultRequestHandler:
        handler = make_handler(spec, executor, populate_referred_tasks=populate_referred_tasks)
        handlers.append(handler)
        return handler

    yield _serve
    for handler in handlers:
        await handler.aclose()

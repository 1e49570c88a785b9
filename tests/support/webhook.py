"""A real HTTP webhook receiver on 127.0.0.1 for push-notification tests (aiohttp)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from support.processes import free_port


@dataclass
class Notification:
    """One POST the receiver accepted."""

    headers: dict[str, str]
    body: dict[str, Any]
    raw: bytes


@dataclass
class WebhookReceiver:
    """Accepts POSTs at ``/hook`` (200) and records them; :meth:`stop` refuses connections.

    Attributes:
        port: The port it listens on (kept across stop/start).
        received: Accepted notifications, in arrival order.
        status: The status it answers with (set 503 to fail deliveries while up).
        open: While cleared, POSTs wait unanswered (a webhook that hangs); set by default.
    """

    port: int = field(default_factory=free_port)
    received: list[Notification] = field(default_factory=list)
    status: int = 200
    open: asyncio.Event = field(default_factory=asyncio.Event)
    _runner: web.AppRunner | None = None
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.open.set()

    @property
    def url(self) -> str:
        """The webhook URL."""
        return f"http://127.0.0.1:{self.port}/hook"

    async def _hook(self, request: web.Request) -> web.Response:
        raw = await request.read()
        await self.open.wait()
        if self.status == 200:
            self.received.append(Notification(dict(request.headers), json.loads(raw), raw))
            self._arrived.set()
        return web.Response(status=self.status, text="ok")

    async def start(self) -> WebhookReceiver:
        """Listens on 127.0.0.1:``port``."""
        app = web.Application()
        app.router.add_post("/hook", self._hook)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        return self

    async def stop(self) -> None:
        """Stops listening (deliveries then fail to connect)."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def wait_for(self, predicate: Any, timeout: float) -> list[Notification]:
        """Waits until ``predicate(received)`` is true; returns ``received``.

        Raises:
            TimeoutError: not within ``timeout`` seconds (the message has what arrived).
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate(self.received):
            remaining = deadline - loop.time()
            if remaining <= 0:
                bodies = [n.body for n in self.received]
                raise TimeoutError(f"webhook: condition not met; received {bodies}")
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), min(remaining, 1.0))
        return self.received

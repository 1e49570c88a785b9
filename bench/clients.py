"""The load processes' clients: one client per target, making one call at a time per caller.

A :class:`ClientSpec` names a kind of client and where it calls (picklable, so it
crosses into a load process); :func:`open_client` turns it into a :class:`Target`
whose :meth:`~Target.call` sends one message, waits for the whole answer, checks it
and returns when its first event arrived:

- ``a2a-kafka``: a2a-sdk's ``Client`` from ``ClientFactory`` over ``KafkaTransport``
  (``kafka_client_factory``), with the agent's card read from ``agent.registry``;
- ``a2a-jsonrpc``: a2a-sdk's ``Client`` from ``ClientFactory`` over its JSON-RPC
  transport, one per caller, each with its own ``httpx`` client and connection
  (:class:`ClientPerCaller`);
- ``raw-echo``: :class:`bench.echo.EchoClient`, the floors (the raw echo and the
  Faust echo).

Which system each target runs, and which of these clients drives it, is
:mod:`bench.targets`.

``send`` mode is ``SendMessage`` (``ClientConfig(streaming=False)``); ``stream`` mode
is ``SendStreamingMessage``.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from dataclasses import dataclass
from typing import Literal, Protocol

import httpx
from a2a.client import Client, ClientConfig, ClientFactory
from a2a.helpers import get_artifact_text, new_text_message
from a2a.types import Role, SendMessageRequest, StreamResponse, TaskState

from app.registry import resolve_card
from app.transport import kafka_client_factory
from bench import echo
from bench.agent import NAME, http_card

ClientKind = Literal["a2a-kafka", "a2a-jsonrpc", "raw-echo"]
Mode = Literal["send", "stream"]

#: Deadline of one call, seconds: far above any latency a run should see.
CALL_TIMEOUT = 60.0


@dataclass(frozen=True)
class ClientSpec:
    """A client and where it calls.

    Attributes:
        kind: Which client.
        address: Kafka bootstrap servers (``a2a-kafka``, ``raw-echo``) or the
            JSON-RPC endpoint's URL (``a2a-jsonrpc``).
        agent: The agent's name in ``agent.registry`` (``a2a-kafka``), or the echo's
            name, which names its topics (``raw-echo``: :data:`bench.echo.NAME` or
            :data:`bench.echo.FAUST_NAME`).
    """

    kind: ClientKind
    address: str
    agent: str = NAME


class Target(Protocol):
    """One open client of a system under test."""

    async def call(self, text: str) -> float:
        """Sends ``text``, waits for the whole answer and checks it.

        Returns:
            ``time.perf_counter()`` when the first event (or reply record) arrived.

        Raises:
            Exception: the call failed or its answer was wrong.
        """
        ...

    async def close(self) -> None:
        """Closes the client."""
        ...


class CallError(Exception):
    """A call answered, but not with a completed task echoing the text."""


def check_echo(events: list[StreamResponse], text: str) -> None:
    """Checks that ``events`` end in a completed task with an artifact echoing ``text``.

    Raises:
        CallError: they do not.
    """
    state = TaskState.TASK_STATE_UNSPECIFIED
    echoed: list[str] = []
    for event in events:
        if event.HasField("task"):
            state = event.task.status.state
            echoed += [get_artifact_text(a) for a in event.task.artifacts]
        elif event.HasField("status_update"):
            state = event.status_update.status.state
        elif event.HasField("artifact_update"):
            echoed.append(get_artifact_text(event.artifact_update.artifact))
    if state != TaskState.TASK_STATE_COMPLETED or text not in echoed:
        kinds = [event.WhichOneof("payload") for event in events]
        raise CallError(f"{TaskState.Name(state)}, artifacts {echoed!r}, events {kinds}")


class A2ATarget:
    """An a2a-sdk ``Client`` (either transport) checked against the echo agent."""

    def __init__(self, client: Client, http: httpx.AsyncClient | None = None) -> None:
        self._client = client
        self._http = http

    async def call(self, text: str) -> float:
        """Sends one message; returns when its first event arrived."""
        request = SendMessageRequest(message=new_text_message(text, role=Role.ROLE_USER))
        events: list[StreamResponse] = []
        first = 0.0
        async for event in self._client.send_message(request):
            if not events:
                first = time.perf_counter()
            events.append(event)
        check_echo(events, text)
        return first

    async def close(self) -> None:
        """Closes the client (and the ``httpx`` pool it was given)."""
        await self._client.close()
        if self._http is not None:
            await self._http.aclose()


class ClientPerCaller:
    """One client per caller: each call borrows a free one.

    For HTTP: one ``httpx`` pool shared by every caller costs the client process CPU
    in proportion to its connections on every request (measured here: 15 to 24 ms per
    task at 64 to 256 connections against 3.6 ms with a connection per caller), which
    would make the client, not the server, the bottleneck at high concurrency.
    """

    def __init__(self, targets: list[Target]) -> None:
        self._targets = targets
        self._free: asyncio.Queue[Target] = asyncio.Queue()
        for target in targets:
            self._free.put_nowait(target)

    async def call(self, text: str) -> float:
        """Makes the call on a free client."""
        target = await self._free.get()
        try:
            return await target.call(text)
        finally:
            self._free.put_nowait(target)

    async def close(self) -> None:
        """Closes every client."""
        for target in self._targets:
            await target.close()


def _http_target(url: str, streaming: bool, tls: ssl.SSLContext) -> A2ATarget:
    """An a2a-sdk JSON-RPC client with its own single-connection ``httpx`` client.

    ``tls`` is shared: an ``httpx`` client builds its own SSL context otherwise,
    about 40 ms apiece, even for plain HTTP.
    """
    http = httpx.AsyncClient(
        limits=httpx.Limits(max_connections=1), timeout=httpx.Timeout(CALL_TIMEOUT), verify=tls
    )
    config = ClientConfig(streaming=streaming, httpx_client=http)
    return A2ATarget(ClientFactory(config).create(http_card(url)), http)


async def open_client(spec: ClientSpec, mode: Mode, concurrency: int) -> Target:
    """A started client of ``spec`` for ``mode`` calls, up to ``concurrency`` at once.

    ``a2a-kafka`` and the echo share one client among all callers, as their
    transports are built to (one producer and one reply consumer, calls told apart by
    correlation id); HTTP gets one client per caller (:class:`ClientPerCaller`).
    """
    streaming = mode == "stream"
    if spec.kind == "a2a-kafka":
        card = await resolve_card(spec.address, spec.agent)
        factory = kafka_client_factory(
            ClientConfig(streaming=streaming),
            timeout=CALL_TIMEOUT,
            fetch_max_wait_ms=echo.FETCH_MAX_WAIT_MS,
        )
        return A2ATarget(factory.create(card))
    if spec.kind == "a2a-jsonrpc":
        tls = ssl.create_default_context()
        return ClientPerCaller(
            [_http_target(spec.address, streaming, tls) for _ in range(concurrency)]
        )
    client = echo.EchoClient(
        spec.address,
        replies=echo.STREAM_RECORDS if streaming else 1,
        timeout=CALL_TIMEOUT,
        name=spec.agent,
    )
    await client.start()
    return client

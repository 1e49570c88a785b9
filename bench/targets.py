"""The systems under test, each behind one client that makes one call at a time per caller.

A :class:`TargetSpec` names a system and where it answers (picklable, so it crosses
into the client process); :func:`open_target` turns it into a :class:`Target` whose
:meth:`~Target.call` sends one message, waits for the whole answer, checks it and
returns when its first event arrived:

- ``faust-a2a``: a2a-sdk's ``Client`` from ``ClientFactory`` over ``KafkaTransport``
  (``kafka_client_factory``), with the card read from ``agent.registry``;
- ``a2a-http``: a2a-sdk's ``Client`` from ``ClientFactory`` over its JSON-RPC
  transport, with an ``httpx`` pool as large as the concurrency;
- ``raw-kafka``: :class:`bench.echo.EchoClient`, the floor.

``send`` mode is ``SendMessage`` (``ClientConfig(streaming=False)``); ``stream`` mode
is ``SendStreamingMessage``.
"""

from __future__ import annotations

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

Kind = Literal["faust-a2a", "a2a-http", "raw-kafka"]
Mode = Literal["send", "stream"]

#: Deadline of one call, seconds: far above any latency a run should see.
CALL_TIMEOUT = 60.0


@dataclass(frozen=True)
class TargetSpec:
    """A system under test and where it answers.

    Attributes:
        kind: Which system.
        address: Kafka bootstrap servers (``faust-a2a``, ``raw-kafka``) or the
            JSON-RPC endpoint's URL (``a2a-http``).
    """

    kind: Kind
    address: str


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


async def open_target(spec: TargetSpec, mode: Mode, concurrency: int) -> Target:
    """A started client of ``spec`` for ``mode`` calls, up to ``concurrency`` at once."""
    streaming = mode == "stream"
    if spec.kind == "faust-a2a":
        card = await resolve_card(spec.address, NAME)
        factory = kafka_client_factory(
            ClientConfig(streaming=streaming),
            timeout=CALL_TIMEOUT,
            fetch_max_wait_ms=echo.FETCH_MAX_WAIT_MS,
        )
        return A2ATarget(factory.create(card))
    if spec.kind == "a2a-http":
        http = httpx.AsyncClient(
            limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
            timeout=httpx.Timeout(CALL_TIMEOUT),
        )
        config = ClientConfig(streaming=streaming, httpx_client=http)
        return A2ATarget(ClientFactory(config).create(http_card(spec.address)), http)
    client = echo.EchoClient(
        spec.address, replies=echo.STREAM_RECORDS if streaming else 1, timeout=CALL_TIMEOUT
    )
    await client.start()
    return client

"""The HTTP gateway: every agent of ``agent.registry`` over a2a-sdk's own HTTP routes.

``faust -A app gateway`` runs :func:`serve`. The gateway is stateless (run as many as
you like behind a load balancer): it learns the agents from the compacted
``agent.registry`` topic while it runs (:class:`app.registry.RegistryTail`) and
forwards every A2A operation through :class:`app.transport.KafkaTransport`
(:class:`app.gateway_handler.ForwardingHandler`). Per agent ``<name>``:

* ``GET /<name>/.well-known/agent-card.json``: the agent's card; its
  ``supported_interfaces`` are the gateway's JSON-RPC and HTTP+JSON URLs, then the
  card's Kafka interface(s);
* ``POST /<name>``: the JSON-RPC binding (A2A 1.0 §9, SSE for streams);
* ``/<name>/message:send``, ``/<name>/tasks/…`` …: the HTTP+JSON binding (§11).

With ``agent`` set (``--agent NAME``) that one agent is served at the root
(``/.well-known/agent-card.json``, ``POST /`` …). An unknown agent answers 404.

Bad input gets a2a-sdk's own answers; bodies over ``max_body_bytes`` are refused as
a2a-sdk refuses an HTTP 413 (JSON-RPC ``InvalidRequestError`` "Payload too large").
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from dataclasses import dataclass
from typing import Any

import uvicorn
from a2a.server.routes import create_agent_card_routes, create_jsonrpc_routes, create_rest_routes
from a2a.types import AgentCard, AgentInterface
from a2a.utils.constants import TransportProtocol
from a2a.utils.errors import InvalidRequestError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app import binding
from app.gateway_handler import (
    CALL_OUTCOME,
    BrokerProbe,
    CallOutcome,
    ForwardingHandler,
    ServiceParameterContextBuilder,
)
from app.registry import RegistryTail
from app.transport import KafkaTransport

logger = logging.getLogger(__name__)

#: HTTP status → the ``status`` of an A2A HTTP+JSON error body (google.rpc.Code names).
_STATUS_NAMES = {502: "UNAVAILABLE", 503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED"}


@dataclass(frozen=True)
class GatewayConfig:
    """How a gateway runs.

    Attributes:
        bootstrap_servers: The broker the gateway produces to and reads from.
        public_url: The gateway's URL as callers reach it (cards advertise it), e.g.
            ``http://127.0.0.1:8080``; no trailing slash.
        agent: Serve only this agent, at the root; ``None``: every agent under ``/<name>``.
        timeout: Deadline of every forwarded call, seconds.
        max_body_bytes: Larger request bodies are refused.
    """

    bootstrap_servers: str
    public_url: str
    agent: str | None = None
    timeout: float = 40.0
    max_body_bytes: int = 1 << 20


def gateway_card(card: AgentCard, base_url: str) -> AgentCard:
    """``card`` as the gateway serves it at ``base_url``.

    ``supported_interfaces``: JSON-RPC at ``base_url``, HTTP+JSON at ``base_url``, then
    the card's Kafka interfaces (A2A 1.0 §5.8: preferred interface first). Interfaces of
    other bindings are dropped: the gateway does not reach them.
    """
    served = AgentCard()
    served.CopyFrom(card)
    kafka = [i for i in card.supported_interfaces if binding.is_kafka_binding(i.protocol_binding)]
    del served.supported_interfaces[:]
    served.supported_interfaces.extend(
        [
            AgentInterface(url=base_url, protocol_binding=protocol, protocol_version=_version(card))
            for protocol in (TransportProtocol.JSONRPC, TransportProtocol.HTTP_JSON)
        ]
        + kafka
    )
    return served


def _version(card: AgentCard) -> str:
    for interface in card.supported_interfaces:
        if interface.protocol_version:
            return interface.protocol_version
    return "1.0"


class Gateway:
    """The gateway's ASGI application and the state behind it.

    Use :meth:`start` before serving and :meth:`stop` after; :attr:`asgi` is the
    application. Routes are rebuilt whenever the registry changes.

    Args:
        config: See :class:`GatewayConfig`.
    """

    def __init__(self, config: GatewayConfig) -> None:
        self.config = config
        self.probe = BrokerProbe(config.bootstrap_servers)
        self.registry = RegistryTail(config.bootstrap_servers, self._on_registry)
        self._transports: dict[str, KafkaTransport] = {}
        self._closing: set[asyncio.Task[None]] = set()
        self._starlette = Starlette()
        self._starlette.router.default = self._unknown_agent
        self.asgi: ASGIApp = _BodyLimit(_StatusFromOutcome(self._starlette), config.max_body_bytes)

    async def start(self, ready_timeout: float = 10.0) -> None:
        """Starts following the registry and probing the broker.

        Waits up to ``ready_timeout`` seconds for the registry to be read once, unless
        the broker is unreachable: then it starts at once and answers 503 until the
        registry has been read.
        """
        self.probe.start()
        self.registry.start()
        if await self.probe.check():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.registry.caught_up.wait(), ready_timeout)

    async def stop(self) -> None:
        """Stops following the registry and closes every transport."""
        await self.registry.stop()
        await self.probe.stop()
        for transport in list(self._transports.values()):
            self._discard(transport)
        if self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)

    async def _unknown_agent(self, scope: Scope, receive: Receive, send: Send) -> None:
        """404 for a path that names no registered agent (or no route of one); 503
        while the registry could not be read yet because the broker is unreachable."""
        agent = Request(scope, receive).url.path.strip("/").split("/", 1)[0]
        if not self.registry.caught_up.is_set() and not self.probe.available:
            status, name = 503, "UNAVAILABLE"
            message = (
                f"Service unavailable: {binding.REGISTRY_TOPIC} not read yet, the Kafka broker "
                f"at {self.config.bootstrap_servers} is unreachable; retry later"
            )
        else:
            status, name, message = 404, "NOT_FOUND", f"no agent or route at /{agent}"
        response = JSONResponse(
            {"error": {"code": status, "status": name, "message": message}}, status_code=status
        )
        await response(scope, receive, send)

    def _base_url(self, agent: str) -> str:
        if self.config.agent is not None:
            return self.config.public_url
        return f"{self.config.public_url}/{agent}"

    def _on_registry(self, cards: dict[str, AgentCard]) -> None:
        if self.config.agent is not None:
            cards = {k: v for k, v in cards.items() if k == self.config.agent}
        for name in set(self._transports) - set(cards):
            self._discard(self._transports[name])
        routes: list[BaseRoute] = []
        for name, card in sorted(cards.items()):
            routes.extend(self._agent_routes(name, card))
        self._starlette.router.routes = routes
        logger.info("gateway serves agents: %s", ", ".join(sorted(cards)) or "none")

    def _agent_routes(self, name: str, card: AgentCard) -> list[BaseRoute]:
        base_url = self._base_url(name)
        handler = ForwardingHandler(
            agent=name,
            transport=lambda: self._transport(name, card),
            discard=self._discard,
            probe=self.probe,
            timeout=self.config.timeout,
            card_view=lambda c: gateway_card(c, base_url),
        )
        builder = ServiceParameterContextBuilder()
        card_routes = create_agent_card_routes(gateway_card(card, base_url))
        rest_routes = create_rest_routes(handler, context_builder=builder)
        if self.config.agent is not None:
            return [
                *card_routes,
                *create_jsonrpc_routes(handler, "/", context_builder=builder),
                *rest_routes,
            ]
        # JSON-RPC at /<name> itself: a Mount matches only /<name>/..., and a2a-sdk's
        # clients post to the card's URL without following redirects.
        return [
            *create_jsonrpc_routes(handler, f"/{name}", context_builder=builder),
            Mount(f"/{name}", routes=[*card_routes, *rest_routes]),
        ]

    def _transport(self, name: str, card: AgentCard) -> KafkaTransport:
        transport = self._transports.get(name)
        if transport is None:
            address = binding.KafkaAddress(self.config.bootstrap_servers, name)
            transport = KafkaTransport(card, address.url)
            self._transports[name] = transport
        return transport

    def _discard(self, transport: KafkaTransport) -> None:
        for name, current in list(self._transports.items()):
            if current is transport:
                del self._transports[name]
        task = asyncio.create_task(_close_quietly(transport))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)


async def _close_quietly(transport: KafkaTransport) -> None:
    try:
        await transport.close()
    except Exception as exc:
        logger.debug("closing a transport failed: %s", exc)


class _BodyLimit:
    """Refuses request bodies over ``limit`` bytes while a2a-sdk reads them.

    Raises a2a-sdk's ``InvalidRequestError("Payload too large")`` from ``receive``, the
    error a2a-sdk's JSON-RPC dispatcher answers an HTTP 413 with; the HTTP+JSON routes
    map it like any A2A error (400 ``INVALID_ARGUMENT``).
    """

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise InvalidRequestError(message="Payload too large")
            return message

        await self.app(scope, limited, send)


class _StatusFromOutcome:
    """Answers with the HTTP status the forwarding handler chose (503, 504, 502).

    a2a-sdk answers a JSON-RPC error with HTTP 200 and an unknown A2A error with 500;
    for a failure on the way to the agent this sets the status line to the handler's
    :class:`CallOutcome` status (with ``Retry-After`` for 503) and, in an HTTP+JSON
    error body, the error's ``code`` and ``status`` to match.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        outcome = CallOutcome()
        token = CALL_OUTCOME.set(outcome)
        start: Message | None = None
        body = b""

        async def patched(message: Message) -> None:
            nonlocal start, body
            if not outcome.status:
                await send(message)
                return
            if message["type"] == "http.response.start":
                start = message
                return
            if message["type"] != "http.response.body" or start is None:
                await send(message)
                return
            body += message.get("body", b"")
            if message.get("more_body", False):
                return
            await _send_with_status(send, start, body, outcome.status)

        try:
            await self.app(scope, receive, patched)
        finally:
            CALL_OUTCOME.reset(token)


async def _send_with_status(send: Send, start: Message, body: bytes, status: int) -> None:
    with contextlib.suppress(ValueError):
        payload: Any = json.loads(body)
        error = payload.get("error") if isinstance(payload, dict) else None
        if isinstance(error, dict) and "status" in error:
            error["code"] = status
            error["status"] = _STATUS_NAMES.get(status, error["status"])
            body = json.dumps(payload).encode()
    headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
    headers.append((b"content-length", str(len(body)).encode()))
    if status == 503:
        headers.append((b"retry-after", b"1"))
    await send({**start, "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def serve(config: GatewayConfig, host: str, port: int) -> None:
    """Runs the gateway under uvicorn on ``host:port`` until SIGINT/SIGTERM."""
    gateway = Gateway(config)
    await gateway.start()
    server = uvicorn.Server(
        uvicorn.Config(gateway.asgi, host=host, port=port, log_level="warning", lifespan="off")
    )
    try:
        await server.serve()
    finally:
        await gateway.stop()

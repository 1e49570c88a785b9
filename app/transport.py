"""``KafkaTransport``: a2a-sdk's ``ClientTransport`` over Apache Kafka.

The Kafka binding is the JSON-RPC binding carried in Kafka records, so this transport
is a2a-sdk's ``JsonRpcTransport`` with its two I/O methods replaced: building requests,
parsing results and mapping JSON-RPC errors to A2A errors stay the SDK's. A request is
produced to ``agent.<name>.requests`` keyed by its routing key; responses are read by
one background consumer per transport, from the agent's shared responses topic
(filtered by correlation id) or from a reply topic private to this transport.

Usage with a2a-sdk's factory::

    factory = kafka_client_factory()
    client = factory.create(card)          # card with a kafka:// interface
    async for event in client.send_message(request):
        ...
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from typing import Any, cast

from a2a.client import A2AClientError, A2AClientTimeoutError, ClientConfig, ClientFactory
from a2a.client.client import ClientCallContext
from a2a.client.transports.jsonrpc import JsonRpcTransport
from a2a.types import AgentCard, ListTasksRequest, ListTasksResponse, StreamResponse
from a2a.utils.constants import (
    DEFAULT_LIST_TASKS_PAGE_SIZE,
    PROTOCOL_VERSION_CURRENT,
    VERSION_HEADER,
)
from a2a.utils.proto_utils import parse_lenient
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from google.protobuf import json_format

from app import binding, listing, tracing

logger = logging.getLogger(__name__)

#: Default per-call deadline, seconds.
DEFAULT_TIMEOUT = 40.0

_CLOSED = object()
_Item = tuple[bytes, bool]


@dataclass
class _PendingCall:
    """A call waiting for its response records."""

    correlation_id: str
    deadline: float
    queue: asyncio.Queue[_Item | object] = field(default_factory=asyncio.Queue)


class KafkaTransport(JsonRpcTransport):
    """An A2A client transport that talks to a faust-a2a agent through Kafka.

    The transport starts on its first call (or explicitly with :meth:`start` /
    ``async with``) and must be closed with :meth:`close`.

    Args:
        agent_card: The agent's card (used for ``GetExtendedAgentCard`` and streaming
            capability checks).
        url: The Kafka interface URL, ``kafka://host:port[,host:port]/agent.<name>``;
            default: the card's first ``KAFKA`` interface.
        reply_topic: ``None`` (default) reads the agent's shared
            ``agent.<name>.responses`` topic and filters by correlation id; a topic
            name makes the agent answer there (``reply-to`` header), e.g. a topic
            private to this client. The broker must allow auto-creation, or create it.
        timeout: Default deadline of a call in seconds (``ClientCallContext.timeout``
            overrides it per call); default 40. A call past its deadline raises
            ``A2AClientTimeoutError`` and later records for it are dropped.
        fetch_max_wait_ms: The response consumer's ``fetch_max_wait_ms``: how long the
            broker may hold an empty fetch. Records are returned as soon as they exist
            (``fetch_min_bytes=1``); this bounds idle polls. Default 100.
        producer_options: Extra keyword arguments for ``AIOKafkaProducer``.

    Raises:
        ValueError: no Kafka URL was given and the card has none.
    """

    def __init__(
        self,
        agent_card: AgentCard,
        url: str | None = None,
        *,
        reply_topic: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        fetch_max_wait_ms: int = 100,
        producer_options: dict[str, Any] | None = None,
    ) -> None:
        url = url or _kafka_url(agent_card)
        super().__init__(httpx_client=cast(Any, None), agent_card=agent_card, url=url)
        self.address = binding.parse_kafka_url(url)
        self.reply_topic = reply_topic
        self.timeout = timeout
        self._fetch_max_wait_ms = fetch_max_wait_ms
        self._producer_options = producer_options or {}
        self._pending: dict[str, _PendingCall] = {}
        self._producer: AIOKafkaProducer | None = None
        self._consumer: AIOKafkaConsumer | None = None
        self._reader: asyncio.Task[None] | None = None
        self._start_lock = asyncio.Lock()
        self._closed = False

    @property
    def responses_topic(self) -> str:
        """The topic this transport reads responses from."""
        return self.reply_topic or binding.responses_topic(self.address.agent)

    async def start(self) -> None:
        """Starts the producer and the response consumer; idempotent.

        The consumer is positioned at the end of the responses topic before this
        returns, so no response to a later request can be missed.

        Raises:
            A2AClientError: the transport was closed, or Kafka is unreachable.
        """
        async with self._start_lock:
            if self._closed:
                raise A2AClientError("KafkaTransport is closed")
            if self._reader is not None:
                return
            servers = self.address.bootstrap_servers
            producer = AIOKafkaProducer(bootstrap_servers=servers, **self._producer_options)
            consumer = AIOKafkaConsumer(
                bootstrap_servers=servers,
                enable_auto_commit=False,
                auto_offset_reset="latest",
                fetch_max_wait_ms=self._fetch_max_wait_ms,
            )
            try:
                await producer.start()
                await consumer.start()
                partitions = await _partitions_for(producer, self.responses_topic)
                tps = [TopicPartition(self.responses_topic, p) for p in partitions]
                consumer.assign(tps)
                await consumer.seek_to_end(*tps)
                for tp in tps:
                    await consumer.position(tp)
            except Exception as exc:
                await consumer.stop()
                await producer.stop()
                raise A2AClientError(f"cannot reach Kafka at {servers}: {exc}") from exc
            self._producer, self._consumer = producer, consumer
            self._reader = asyncio.create_task(self._read_responses(), name="kafka-a2a-responses")

    async def __aenter__(self) -> KafkaTransport:
        """Starts the transport."""
        await self.start()
        return self

    async def close(self) -> None:
        """Stops the consumer and producer; pending calls fail with ``A2AClientError``."""
        if self._closed:
            return
        self._closed = True
        for call in self._pending.values():
            call.queue.put_nowait(_CLOSED)
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        if self._consumer is not None:
            await self._consumer.stop()
        if self._producer is not None:
            await self._producer.stop()

    async def _read_responses(self) -> None:
        assert self._consumer is not None
        while True:
            batches = await self._consumer.getmany(timeout_ms=1000)
            for records in batches.values():
                for record in records:
                    correlation_id = binding.header(record.headers, binding.CORRELATION_ID)
                    call = self._pending.get(correlation_id or "")
                    if call is not None:
                        final = binding.header(record.headers, binding.FINAL) == "1"
                        call.queue.put_nowait((record.value or b"", final))

    async def _call(
        self,
        payload: dict[str, Any],
        context: ClientCallContext | None,
        partition: int | None = None,
    ) -> _PendingCall:
        """Registers the call, then produces its request (to ``partition`` if given)."""
        await self.start()
        assert self._producer is not None
        timeout = context.timeout if context and context.timeout is not None else self.timeout
        call = _PendingCall(uuid.uuid4().hex, time.monotonic() + timeout)
        correlation_id = call.correlation_id
        self._pending[correlation_id] = call
        payload = _with_context_id(payload)
        key = binding.routing_key(payload["method"], payload.get("params") or {})
        headers = [
            (binding.CORRELATION_ID, correlation_id.encode()),
            (binding.DEADLINE, str(int((time.time() + timeout) * 1000)).encode()),
            (VERSION_HEADER.lower(), PROTOCOL_VERSION_CURRENT.encode()),
        ]
        if self.reply_topic:
            headers.append((binding.REPLY_TO, self.reply_topic.encode()))
        if context and context.service_parameters:
            headers.extend((k.lower(), v.encode()) for k, v in context.service_parameters.items())
        tracing.inject(headers)
        try:
            await self._producer.send_and_wait(
                binding.requests_topic(self.address.agent),
                value=binding.encode_json(payload),
                key=key.encode() if key is not None else None,
                partition=partition,
                headers=headers,
            )
        except Exception:
            self._pending.pop(correlation_id, None)
            raise
        return call

    async def _next(self, call: _PendingCall) -> _Item:
        remaining = max(0.0, call.deadline - time.monotonic())
        try:
            item = await asyncio.wait_for(call.queue.get(), remaining)
        except TimeoutError:
            raise A2AClientTimeoutError("Kafka call timed out waiting for the agent") from None
        if item is _CLOSED:
            raise A2AClientError("KafkaTransport closed while the call was pending")
        return cast(_Item, item)

    async def list_tasks(
        self, request: ListTasksRequest, *, context: ClientCallContext | None = None
    ) -> ListTasksResponse:
        """``ListTasks`` over every partition, merged into one page.

        A ``context_id`` filter names one conversation, hence one partition: one call.
        Otherwise the request goes to each partition of the requests topic, whose owner
        answers for that partition only, and the pages are merged (:mod:`app.listing`);
        the page token works the same way in every partition.
        """
        if request.context_id:
            return await super().list_tasks(request, context=context)
        await self.start()
        assert self._producer is not None
        topic = binding.requests_topic(self.address.agent)
        payload = {"method": "ListTasks", "params": json_format.MessageToDict(request)}
        pages = await asyncio.gather(
            *(
                self._send_request(
                    {"jsonrpc": "2.0", "id": uuid.uuid4().hex, **payload}, context, partition=p
                )
                for p in await _partitions_for(self._producer, topic)
            )
        )
        return listing.merge_pages(
            [parse_lenient(p["result"], ListTasksResponse()) for p in pages],
            request.page_size or DEFAULT_LIST_TASKS_PAGE_SIZE,
        )

    async def _send_request(
        self,
        payload: dict[str, Any],
        context: ClientCallContext | None = None,
        partition: int | None = None,
    ) -> dict[str, Any]:
        """One JSON-RPC request, one response record (JSON-RPC binding over Kafka)."""
        call = await self._call(payload, context, partition)
        try:
            value, _ = await self._next(call)
        finally:
            self._pending.pop(call.correlation_id, None)
        return self._check_jsonrpc_response(_decode(value))

    async def _send_stream_request(
        self, rpc_request_payload: dict[str, Any], context: ClientCallContext | None = None
    ) -> AsyncGenerator[StreamResponse]:
        """One JSON-RPC request, response records until the one marked final."""
        call = await self._call(rpc_request_payload, context)
        try:
            while True:
                value, final = await self._next(call)
                if value:
                    response = self._check_jsonrpc_response(_decode(value))
                    yield parse_lenient(response["result"], StreamResponse())
                if final:
                    return
        finally:
            self._pending.pop(call.correlation_id, None)


def _decode(value: bytes) -> Any:
    try:
        return json.loads(value)
    except ValueError as exc:
        raise A2AClientError(f"Invalid JSON-RPC response record: {exc}") from exc


def _with_context_id(payload: dict[str, Any]) -> dict[str, Any]:
    """Mints a ``contextId`` for a message that starts a new conversation.

    The context id is the routing key (A2A lets a client set it, A2A 1.0 §3.4.1), so
    minting it here sends the first turn to the partition every later turn goes to.
    """
    if payload.get("method") in ("SendMessage", "SendStreamingMessage"):
        message = payload.get("params", {}).get("message")
        if isinstance(message, dict) and not message.get("contextId") and not message.get("taskId"):
            message["contextId"] = uuid.uuid4().hex
    return payload


async def _partitions_for(producer: AIOKafkaProducer, topic: str) -> list[int]:
    """The topic's partitions; asking for the metadata lets the broker auto-create it."""
    partitions = await producer.partitions_for(topic)
    if not partitions:
        raise A2AClientError(f"topic {topic} does not exist")
    return sorted(partitions)


def _kafka_url(card: AgentCard) -> str:
    for interface in card.supported_interfaces:
        if binding.is_kafka_binding(interface.protocol_binding):
            return interface.url
    raise ValueError(f"AgentCard {card.name!r} has no {binding.KAFKA_PROTOCOL_BINDING} interface")


def kafka_client_factory(
    config: ClientConfig | None = None, **transport_options: Any
) -> ClientFactory:
    """An a2a-sdk ``ClientFactory`` that creates Kafka clients from cards.

    The config's ``supported_protocol_bindings`` gets ``KAFKA`` first if absent, so
    ``factory.create(card)`` picks the card's Kafka interface. ``transport_options``
    are passed to every :class:`KafkaTransport` (``timeout``, ``reply_topic`` …).
    """
    config = config or ClientConfig()
    for position, name in enumerate(
        (binding.KAFKA_PROTOCOL_BINDING, *binding.LEGACY_PROTOCOL_BINDINGS)
    ):
        if name not in config.supported_protocol_bindings:
            config.supported_protocol_bindings.insert(position, name)
    factory = ClientFactory(config)

    def produce(card: AgentCard, url: str, _config: ClientConfig) -> KafkaTransport:
        return KafkaTransport(card, url, **transport_options)

    for name in (binding.KAFKA_PROTOCOL_BINDING, *binding.LEGACY_PROTOCOL_BINDINGS):
        factory.register(name, produce)
    return factory

"""``KafkaTransport``: a2a-sdk's ``ClientTransport`` over Apache Kafka.

The Kafka binding is the JSON-RPC binding carried in Kafka records
(``docs/kafka-binding.md``). Shaped like a2a-sdk's own gRPC transport: one method per
A2A operation, each turning its request protobuf into a JSON-RPC 2.0 request record
(params by ``google.protobuf.json_format``) and the response records back into
protobufs; JSON-RPC errors become a2a-sdk's A2A error classes through a2a-sdk's
public ``JSON_RPC_ERROR_CODE_MAP``.

Records: a request is produced to ``agent.<name>.requests`` keyed by its routing key,
with headers ``reply-to`` (the agent's responses topic, or the caller's own) and
``reply-partition``: the one partition of that topic this transport reads. The
worker produces every response record of the call to that partition, so a client
reads only its own partition, not everyone's replies. Clients never create topics:
a call to an agent whose requests topic does not exist fails at once.

Usage with a2a-sdk's factory::

    factory = kafka_client_factory()
    client = factory.create(card)          # card with a kafka:// interface
    async for event in client.send_message(request):
        ...
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
import uuid
from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

import orjson
from a2a.client import A2AClientError, A2AClientTimeoutError, ClientConfig, ClientFactory
from a2a.client.client import ClientCallContext
from a2a.client.transports.base import ClientTransport
from a2a.types import (
    AgentCard,
    CancelTaskRequest,
    DeleteTaskPushNotificationConfigRequest,
    GetExtendedAgentCardRequest,
    GetTaskPushNotificationConfigRequest,
    GetTaskRequest,
    ListTaskPushNotificationConfigsRequest,
    ListTaskPushNotificationConfigsResponse,
    ListTasksRequest,
    ListTasksResponse,
    SendMessageRequest,
    SendMessageResponse,
    StreamResponse,
    SubscribeToTaskRequest,
    Task,
    TaskPushNotificationConfig,
)
from a2a.utils.constants import (
    DEFAULT_LIST_TASKS_PAGE_SIZE,
    PROTOCOL_VERSION_CURRENT,
    VERSION_HEADER,
)
from a2a.utils.errors import JSON_RPC_ERROR_CODE_MAP, A2AError
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import (
    KafkaError,
    KafkaTimeoutError,
    MessageSizeTooLargeError,
    OutOfOrderSequenceNumber,
)
from google.protobuf.message import Message

from app import binding, listing, tracing
from app.auth import AUTHENTICATION_ERROR_CODE, AuthenticationError
from app.kafka_config import KafkaConfig, explain
from app.protojson import dict_to_message, message_to_dict

logger = logging.getLogger(__name__)

#: Default per-call deadline, seconds.
DEFAULT_TIMEOUT = 40.0

#: A2A error class of each JSON-RPC error code (a2a-sdk's mapping, inverted).
A2A_ERROR_BY_CODE: dict[int, type[A2AError]] = {
    code: error for error, code in JSON_RPC_ERROR_CODE_MAP.items()
}
_ERROR_INFO_TYPE = "type.googleapis.com/google.rpc.ErrorInfo"

_CLOSED = object()
_Item = tuple[bytes, bool]
_M = TypeVar("_M", bound=Message)


@dataclass
class _PendingCall:
    """A call waiting for its response records."""

    correlation_id: str
    deadline: float
    queue: asyncio.Queue[_Item | object] = field(default_factory=asyncio.Queue)


def jsonrpc_error(error: Any) -> A2AError:
    """The A2A error of a JSON-RPC error object (A2A 1.0 §9.5, ``docs/kafka-binding.md`` §8).

    The code picks the a2a-sdk class (``JSON_RPC_ERROR_CODE_MAP``); the
    ``google.rpc.ErrorInfo`` metadata in ``data`` becomes the error's ``data``. An
    unknown code gives ``A2AClientError`` naming it.
    """
    if not isinstance(error, dict):
        return A2AClientError(f"Invalid JSON-RPC response: error is not an object: {error!r}")
    code, message = error.get("code"), error.get("message", str(error))
    data = None
    for detail in error.get("data") or []:
        if isinstance(detail, dict) and detail.get("@type") == _ERROR_INFO_TYPE:
            data = detail.get("metadata") or None
            break
    if code == AUTHENTICATION_ERROR_CODE:
        return AuthenticationError.from_error_object(error)
    if isinstance(code, int) and code in A2A_ERROR_BY_CODE:
        return A2A_ERROR_BY_CODE[code](message, data=data)
    return A2AClientError(f"JSON-RPC Error {code}: {message}")


def _result(value: bytes) -> Any:
    """The ``result`` of a JSON-RPC response record; raises its error as an A2A error."""
    return _response_result(_decode(value))


def _responses(value: bytes) -> list[Any]:
    """The JSON-RPC responses of a stream's record, in order: one, or several when the
    record holds an array of them (``reply-batch``, ``docs/kafka-binding.md`` §7)."""
    decoded = _decode(value)
    return decoded if isinstance(decoded, list) else [decoded]


def _message(result: Any, message_type: type[_M]) -> _M:
    """A JSON-RPC ``result`` as a ``message_type`` (ProtoJSON, unknown fields ignored).

    Raises:
        A2AClientError: the result is not a JSON object.
        google.protobuf.json_format.ParseError: it is not ProtoJSON of ``message_type``.
    """
    if not isinstance(result, dict):
        raise A2AClientError(f"Invalid response type: {type(result).__name__}")
    return dict_to_message(result, message_type)


def _decode(value: bytes) -> Any:
    """The JSON value of a response record."""
    try:
        return orjson.loads(value)
    except ValueError as exc:
        raise A2AClientError(f"Invalid JSON-RPC response record: {exc}") from exc


def _response_result(response: Any) -> Any:
    """The ``result`` of one decoded JSON-RPC response; raises its error as an A2A error."""
    if not isinstance(response, dict):
        raise A2AClientError("Invalid JSON-RPC response: expected an object")
    if response.get("error"):
        raise jsonrpc_error(response["error"])
    if "result" not in response:
        raise A2AClientError("Invalid JSON-RPC response: it has neither 'result' nor 'error'")
    return response["result"]


class KafkaTransport(ClientTransport):
    """An A2A client transport that talks to a faust-a2a agent through Kafka.

    The transport starts on its first call (or explicitly with :meth:`start` /
    ``async with``) and must be closed with :meth:`close`. One producer and one
    response reader per transport serve any number of concurrent calls.

    Args:
        agent_card: The agent's card (``GetExtendedAgentCard`` returns it when the
            card says there is no extended card).
        url: The Kafka interface URL, ``kafka://host:port[,host:port]/agent.<name>``;
            default: the card's first Kafka interface.
        kafka: Connection and security settings (:class:`app.kafka_config.KafkaConfig`);
            the bootstrap servers come from ``url``. Default: the environment's
            (``KafkaConfig.from_env()``).
        reply_topic: The topic responses come back on (``reply-to``); default the
            agent's ``agent.<name>.responses``. It must exist: clients never create
            topics. A topic private to this client keeps its replies from other
            principals (with ACLs).
        reply_partition: The partition of ``reply_topic`` this transport reads
            (``reply-partition``); default: one picked at random at start, so that
            clients rarely share one and each reads only its own share of replies.
        timeout: Default deadline of a call in seconds (``ClientCallContext.timeout``
            overrides it per call); default 40. A call past its deadline raises
            ``A2AClientTimeoutError`` and later records for it are dropped.
        fetch_max_wait_ms: The response consumer's ``fetch_max_wait_ms``: how long the
            broker may hold an empty fetch. Records are returned as soon as they exist
            (``fetch_min_bytes=1``); this bounds idle polls. Default 100.
        producer_options: Extra keyword arguments for ``AIOKafkaProducer`` (they
            cannot weaken ``acks="all"`` or idempotence).

    Raises:
        ValueError: no Kafka URL was given and the card has none.
    """

    def __init__(
        self,
        agent_card: AgentCard,
        url: str | None = None,
        *,
        kafka: KafkaConfig | None = None,
        reply_topic: str | None = None,
        reply_partition: int | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        fetch_max_wait_ms: int = 100,
        producer_options: dict[str, Any] | None = None,
    ) -> None:
        self.agent_card = agent_card
        self.url = url or _kafka_url(agent_card)
        self.address = binding.parse_kafka_url(self.url)
        self.kafka = (kafka or KafkaConfig.from_env()).with_bootstrap_servers(
            self.address.bootstrap_servers
        )
        self.reply_topic = reply_topic
        self.reply_partition = reply_partition
        self.timeout = timeout
        self.records_read = 0
        self._fetch_max_wait_ms = fetch_max_wait_ms
        self._producer_options = producer_options or {}
        self._requests_partitions: list[int] = []
        self._produce_failing_since: float | None = None
        self._pending: dict[str, _PendingCall] = {}
        self._producer: AIOKafkaProducer | None = None
        self._consumer: AIOKafkaConsumer | None = None
        self._reader: asyncio.Task[None] | None = None
        self._start_lock = asyncio.Lock()
        self._renew_lock = asyncio.Lock()
        self._closed = False

    @property
    def requests_topic(self) -> str:
        """The agent's requests topic, ``agent.<name>.requests``."""
        return binding.requests_topic(self.address.agent)

    @property
    def responses_topic(self) -> str:
        """The topic this transport reads responses from."""
        return self.reply_topic or binding.responses_topic(self.address.agent)

    async def start(self) -> None:
        """Starts the producer and the response reader; idempotent.

        Checks that the requests and reply topics exist (without creating them),
        picks the reply partition, and positions the reader at its end before this
        returns, so no response to a later request can be missed.

        Raises:
            A2AClientError: the transport was closed, a topic does not exist (named
                in the message), or Kafka is unreachable or refuses the credentials.
        """
        async with self._start_lock:
            if self._closed:
                raise A2AClientError("KafkaTransport is closed")
            if self._reader is not None:
                return
            servers = self.address.bootstrap_servers
            try:
                partitions = await _existing_partitions(
                    self.kafka, (self.requests_topic, self.responses_topic)
                )
            except Exception as exc:
                raise A2AClientError(await explain(self.kafka, exc)) from exc
            for topic in (self.requests_topic, self.responses_topic):
                if topic not in partitions:
                    raise A2AClientError(
                        f"topic {topic} does not exist at {servers}: is a worker serving "
                        f"agent {self.address.agent!r}? (clients never create topics)"
                    )
            reply_partitions = partitions[self.responses_topic]
            if self.reply_partition is None:
                self.reply_partition = random.choice(reply_partitions)
            elif self.reply_partition not in reply_partitions:
                raise A2AClientError(
                    f"topic {self.responses_topic} has no partition {self.reply_partition}"
                )
            self._requests_partitions = partitions[self.requests_topic]
            producer = AIOKafkaProducer(**self.kafka.producer_options(**self._producer_options))
            consumer = AIOKafkaConsumer(
                **self.kafka.consumer_options(
                    enable_auto_commit=False,
                    auto_offset_reset="latest",
                    fetch_max_wait_ms=self._fetch_max_wait_ms,
                )
            )
            reply = TopicPartition(self.responses_topic, self.reply_partition)
            try:
                await producer.start()
                await consumer.start()
                consumer.assign([reply])
                await consumer.seek_to_end(reply)
                await consumer.position(reply)
            except Exception as exc:
                await consumer.stop()
                await producer.stop()
                raise A2AClientError(await explain(self.kafka, exc)) from exc
            self._producer, self._consumer = producer, consumer
            self._reader = asyncio.create_task(self._read_responses(), name="kafka-a2a-responses")

    async def __aenter__(self) -> KafkaTransport:
        """Starts the transport (:meth:`start`); ``__aexit__`` closes it."""
        await self.start()
        return self

    async def close(self) -> None:
        """Stops the reader and producer; pending calls fail with ``A2AClientError``."""
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

    # ------------------------------------------------------------ operations

    async def send_message(
        self, request: SendMessageRequest, *, context: ClientCallContext | None = None
    ) -> SendMessageResponse:
        """``SendMessage`` (A2A 1.0 §3.1.1): one response record."""
        return await self._unary("SendMessage", request, SendMessageResponse, context)

    async def send_message_streaming(
        self, request: SendMessageRequest, *, context: ClientCallContext | None = None
    ) -> AsyncGenerator[StreamResponse]:
        """``SendStreamingMessage`` (A2A 1.0 §3.1.2): one record per event."""
        async for event in self._stream("SendStreamingMessage", request, context):
            yield event

    async def subscribe(
        self, request: SubscribeToTaskRequest, *, context: ClientCallContext | None = None
    ) -> AsyncGenerator[StreamResponse]:
        """``SubscribeToTask`` (A2A 1.0 §3.1.6): the task, then its live events."""
        async for event in self._stream("SubscribeToTask", request, context):
            yield event

    async def get_task(
        self, request: GetTaskRequest, *, context: ClientCallContext | None = None
    ) -> Task:
        """``GetTask`` (A2A 1.0 §3.1.3)."""
        return await self._unary("GetTask", request, Task, context)

    async def list_tasks(
        self, request: ListTasksRequest, *, context: ClientCallContext | None = None
    ) -> ListTasksResponse:
        """``ListTasks`` (A2A 1.0 §3.1.4) over every partition, merged into one page.

        A ``context_id`` filter names one conversation, hence one partition: one call.
        Otherwise the request goes to each partition of the requests topic, whose owner
        answers for that partition only, and the pages are merged (:mod:`app.listing`);
        the page token works the same way in every partition.
        """
        if request.context_id:
            return await self._unary("ListTasks", request, ListTasksResponse, context)
        await self.start()
        pages = await asyncio.gather(
            *(
                self._unary("ListTasks", request, ListTasksResponse, context, partition=p)
                for p in self._requests_partitions
            )
        )
        return listing.merge_pages(pages, request.page_size or DEFAULT_LIST_TASKS_PAGE_SIZE)

    async def cancel_task(
        self, request: CancelTaskRequest, *, context: ClientCallContext | None = None
    ) -> Task:
        """``CancelTask`` (A2A 1.0 §3.1.5)."""
        return await self._unary("CancelTask", request, Task, context)

    async def create_task_push_notification_config(
        self, request: TaskPushNotificationConfig, *, context: ClientCallContext | None = None
    ) -> TaskPushNotificationConfig:
        """``CreateTaskPushNotificationConfig`` (A2A 1.0 §3.1.7)."""
        return await self._unary(
            "CreateTaskPushNotificationConfig", request, TaskPushNotificationConfig, context
        )

    async def get_task_push_notification_config(
        self,
        request: GetTaskPushNotificationConfigRequest,
        *,
        context: ClientCallContext | None = None,
    ) -> TaskPushNotificationConfig:
        """``GetTaskPushNotificationConfig`` (A2A 1.0 §3.1.8)."""
        return await self._unary(
            "GetTaskPushNotificationConfig", request, TaskPushNotificationConfig, context
        )

    async def list_task_push_notification_configs(
        self,
        request: ListTaskPushNotificationConfigsRequest,
        *,
        context: ClientCallContext | None = None,
    ) -> ListTaskPushNotificationConfigsResponse:
        """``ListTaskPushNotificationConfigs`` (A2A 1.0 §3.1.9)."""
        return await self._unary(
            "ListTaskPushNotificationConfigs",
            request,
            ListTaskPushNotificationConfigsResponse,
            context,
        )

    async def delete_task_push_notification_config(
        self,
        request: DeleteTaskPushNotificationConfigRequest,
        *,
        context: ClientCallContext | None = None,
    ) -> None:
        """``DeleteTaskPushNotificationConfig`` (A2A 1.0 §3.1.10); the result is ``null``."""
        await self._call_once("DeleteTaskPushNotificationConfig", request, context)

    async def get_extended_agent_card(
        self, request: GetExtendedAgentCardRequest, *, context: ClientCallContext | None = None
    ) -> AgentCard:
        """``GetExtendedAgentCard`` (A2A 1.0 §3.1.11); the card itself if it has none."""
        if not self.agent_card.capabilities.extended_agent_card:
            return self.agent_card
        return _message(await self._call_once("GetExtendedAgentCard", request, context), AgentCard)

    # ------------------------------------------------------------- records

    async def _unary(
        self,
        method: str,
        request: Message,
        result_type: type[_M],
        context: ClientCallContext | None,
        partition: int | None = None,
    ) -> _M:
        """One JSON-RPC request record, one response record parsed as ``result_type``."""
        return _message(await self._call_once(method, request, context, partition), result_type)

    async def _call_once(
        self,
        method: str,
        request: Message,
        context: ClientCallContext | None,
        partition: int | None = None,
    ) -> Any:
        call = await self._send(method, request, context, partition)
        try:
            value, _ = await self._next(call)
        finally:
            self._pending.pop(call.correlation_id, None)
        return _result(value)

    async def _stream(
        self, method: str, request: Message, context: ClientCallContext | None
    ) -> AsyncGenerator[StreamResponse]:
        """One JSON-RPC request record, response records until the one marked final."""
        call = await self._send(method, request, context)
        try:
            while True:
                value, final = await self._next(call)
                if value:
                    for response in _responses(value):
                        yield _message(_response_result(response), StreamResponse)
                if final:
                    return
        finally:
            self._pending.pop(call.correlation_id, None)

    async def _send(
        self,
        method: str,
        request: Message,
        context: ClientCallContext | None,
        partition: int | None = None,
    ) -> _PendingCall:
        """Registers the call, then produces its request record (to ``partition`` if given)."""
        await self.start()
        timeout = context.timeout if context and context.timeout is not None else self.timeout
        call = _PendingCall(uuid.uuid4().hex, time.monotonic() + timeout)
        params = message_to_dict(request)
        if method in binding.SEND_METHODS:
            _mint_context_id(params)
        key = binding.routing_key(method, params)
        headers = [
            (binding.CORRELATION_ID, call.correlation_id.encode()),
            (binding.DEADLINE, str(int((time.time() + timeout) * 1000)).encode()),
            (VERSION_HEADER.lower(), PROTOCOL_VERSION_CURRENT.encode()),
            (binding.REPLY_TO, self.responses_topic.encode()),
            (binding.REPLY_PARTITION, str(self.reply_partition).encode()),
            (binding.REPLY_BATCH, b"1"),
        ]
        if context and context.service_parameters:
            headers.extend((k.lower(), v.encode()) for k, v in context.service_parameters.items())
        value = binding.encode_json(binding.jsonrpc_request(method, params, uuid.uuid4().hex))
        self._pending[call.correlation_id] = call
        tracing.inject(headers)
        try:
            await self._produce(call, value, key, partition, headers)
        except BaseException:
            self._pending.pop(call.correlation_id, None)
            raise
        return call

    async def _renew_producer(self, stale: AIOKafkaProducer) -> None:
        """Replaces an idempotent producer whose sequence numbers the broker refuses.

        After a broker outage aiokafka's idempotent producer can be left with
        ``OutOfOrderSequenceNumber`` on every send; a new producer gets a new producer
        id and sequence. Calls that shared the old producer retry on the new one.
        """
        async with self._renew_lock:
            if id(self._producer) != id(stale) or self._closed:
                return
            fresh = AIOKafkaProducer(**self.kafka.producer_options(**self._producer_options))
            await fresh.start()
            self._producer = fresh
            logger.warning(
                "producer of %s renewed after OutOfOrderSequenceNumber", self.requests_topic
            )
        with contextlib.suppress(Exception):
            await asyncio.wait_for(stale.stop(), 5.0)

    async def _produce(
        self,
        call: _PendingCall,
        value: bytes,
        key: str | None,
        partition: int | None,
        headers: Sequence[tuple[str, bytes]],
    ) -> None:
        """Produces the request, retrying failed produces until the call's deadline.

        The producer is idempotent with ``acks=all`` and retries by itself inside
        one send; a send that still fails (a broker or leader lost for longer than
        its own retries) is sent again after a short pause while the deadline
        allows. Once ``send_and_wait`` returns, every in-sync replica has the request.
        An outage logs two WARNING lines per transport, when produces start failing
        and when they work again, however many calls retry meanwhile.

        Raises:
            A2AClientTimeoutError: the request could not be produced before the
                deadline; the message says so and gives the last Kafka error.
            A2AClientError: Kafka refused the record for good (e.g. too large), or
                the transport closed meanwhile.
        """
        assert self._producer is not None
        pause, error = 0.1, "no acknowledgement from the broker"
        while True:
            producer = self._producer
            assert producer is not None
            remaining = call.deadline - time.monotonic()
            if remaining <= 0:
                raise A2AClientTimeoutError(
                    f"could not produce the request to {self.requests_topic} before the "
                    f"call's deadline: {error}"
                )
            try:
                async with asyncio.timeout(remaining):
                    await producer.send_and_wait(
                        self.requests_topic,
                        value=value,
                        key=key.encode() if key is not None else None,
                        partition=partition,
                        headers=list(headers),
                    )
            except TimeoutError:
                continue
            except KafkaError as exc:
                if self._closed:
                    raise A2AClientError(
                        "KafkaTransport closed while the call was pending"
                    ) from exc
                error = f"{type(exc).__name__}: {exc}"
                if isinstance(exc, MessageSizeTooLargeError):
                    raise A2AClientError(
                        f"cannot produce the request to {self.requests_topic}: request too "
                        f"large for Kafka: {len(value)} bytes exceed the producer's "
                        f"max_request_size or the broker's message.max.bytes ({error})"
                    ) from exc
                if isinstance(exc, OutOfOrderSequenceNumber):
                    await self._renew_producer(producer)
                    continue
                if not (exc.retriable or isinstance(exc, KafkaTimeoutError)):
                    raise A2AClientError(
                        f"cannot produce the request to {self.requests_topic}: {error}"
                    ) from exc
                if self._produce_failing_since is None:
                    self._produce_failing_since = time.monotonic()
                    logger.warning(
                        "producing to %s failed, retrying within each call's deadline: %s",
                        self.requests_topic,
                        error,
                    )
                await asyncio.sleep(min(pause, max(0.0, call.deadline - time.monotonic())))
                pause = min(pause * 2, 2.0)
            else:
                if self._produce_failing_since is not None:
                    logger.warning(
                        "producing to %s works again after %.1f s",
                        self.requests_topic,
                        time.monotonic() - self._produce_failing_since,
                    )
                    self._produce_failing_since = None
                return

    async def _next(self, call: _PendingCall) -> _Item:
        remaining = max(0.0, call.deadline - time.monotonic())
        try:
            async with asyncio.timeout(remaining):
                item = await call.queue.get()
        except TimeoutError:
            raise A2AClientTimeoutError("Kafka call timed out waiting for the agent") from None
        if item is _CLOSED:
            raise A2AClientError("KafkaTransport closed while the call was pending")
        return cast(_Item, item)

    async def _read_responses(self) -> None:
        """Routes the records of the reply partition to their pending calls."""
        assert self._consumer is not None
        while True:
            batches = await self._consumer.getmany(timeout_ms=1000)
            for records in batches.values():
                self.records_read += len(records)
                for record in records:
                    correlation_id = binding.header(record.headers, binding.CORRELATION_ID)
                    call = self._pending.get(correlation_id or "")
                    if call is not None:
                        final = binding.header(record.headers, binding.FINAL) == "1"
                        call.queue.put_nowait((record.value or b"", final))


def _mint_context_id(params: dict[str, Any]) -> None:
    """Mints a ``contextId`` for a message that starts a new conversation.

    The context id is the routing key (A2A lets a client set it, A2A 1.0 §3.4.1), so
    minting it here sends the first turn to the partition every later turn goes to.
    """
    message = params.get("message")
    if isinstance(message, dict) and not message.get("contextId") and not message.get("taskId"):
        message["contextId"] = uuid.uuid4().hex


async def _existing_partitions(kafka: KafkaConfig, topics: Sequence[str]) -> dict[str, list[int]]:
    """The partitions of those ``topics`` that exist, by topic.

    Lists the cluster's topics first: asking for a missing topic's metadata would make
    a broker with ``auto.create.topics.enable`` create it.
    """
    admin = AIOKafkaAdminClient(**kafka.admin_options())
    await admin.start()
    try:
        present = set(await admin.list_topics())
        wanted = sorted(set(topics) & present)
        descriptions = await admin.describe_topics(wanted) if wanted else []
    finally:
        await admin.close()
    return {
        d["topic"]: sorted(p["partition"] for p in d["partitions"])
        for d in descriptions
        if d["partitions"]
    }


def _kafka_url(card: AgentCard) -> str:
    for interface in card.supported_interfaces:
        if binding.is_kafka_binding(interface.protocol_binding):
            return interface.url
    raise ValueError(f"AgentCard {card.name!r} has no {binding.KAFKA_PROTOCOL_BINDING} interface")


def kafka_client_factory(
    config: ClientConfig | None = None,
    *,
    kafka: KafkaConfig | None = None,
    **transport_options: Any,
) -> ClientFactory:
    """An a2a-sdk ``ClientFactory`` that creates Kafka clients from cards.

    The config's ``supported_protocol_bindings`` gets the Kafka binding first if
    absent, so ``factory.create(card)`` picks the card's Kafka interface. ``kafka``
    (default: the environment's) and ``transport_options`` (``timeout``,
    ``reply_topic`` …) are passed to every :class:`KafkaTransport`.
    """
    config = config or ClientConfig()
    kafka = kafka or KafkaConfig.from_env()
    for position, name in enumerate(
        (binding.KAFKA_PROTOCOL_BINDING, *binding.LEGACY_PROTOCOL_BINDINGS)
    ):
        if name not in config.supported_protocol_bindings:
            config.supported_protocol_bindings.insert(position, name)
    factory = ClientFactory(config)

    def produce(card: AgentCard, url: str, _config: ClientConfig) -> KafkaTransport:
        return KafkaTransport(card, url, kafka=kafka, **transport_options)

    for name in (binding.KAFKA_PROTOCOL_BINDING, *binding.LEGACY_PROTOCOL_BINDINGS):
        factory.register(name, produce)
    return factory

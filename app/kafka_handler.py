"""The worker side of the Kafka binding: request records → ``RequestHandler.on_*`` → records.

Shaped like a2a-sdk's own gRPC binding (``a2a/server/request_handlers/grpc_handler.py``):
a :class:`KafkaHandler` holds a ``RequestHandler``, turns a record into a JSON-RPC
request (``docs/kafka-binding.md``), builds the ``ServerCallContext`` from the record's
headers, calls the handler's ``on_*`` method for the method, and maps errors to
JSON-RPC error responses in one place (:meth:`KafkaHandler._error_response`, with
a2a-sdk's ``build_error_response``). A unary call answers with one response record; a
stream with one record per event, the one that ends the stream marked final.

Two rules of the binding live here:

* **No answer ahead of the state.** Before a response record is produced, every table
  write made so far in the request's partition is acknowledged by Kafka
  (``acknowledged``), so a caller is never told a task state that a crash could take
  back (``docs/kafka-binding.md``, Delivery).
* **A record is done when its answer is.** :meth:`KafkaHandler.handle` returns once the
  call's last record (answer or dead letter) is acknowledged; only then may the
  worker ack the request record and let its offset be committed.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from a2a.auth.user import User
from a2a.extensions.common import HTTP_EXTENSION_HEADER, get_requested_extensions
from a2a.server.agent_execution.active_task import INTERRUPTED_TASK_STATES, TERMINAL_TASK_STATES
from a2a.server.context import ServerCallContext
from a2a.server.jsonrpc_models import JSONParseError, JSONRPCError, MethodNotFoundError
from a2a.server.request_handlers import RequestHandler, build_error_response
from a2a.types import (
    CancelTaskRequest,
    DeleteTaskPushNotificationConfigRequest,
    GetExtendedAgentCardRequest,
    GetTaskPushNotificationConfigRequest,
    GetTaskRequest,
    ListTaskPushNotificationConfigsRequest,
    ListTasksRequest,
    ListTasksResponse,
    SendMessageRequest,
    SendMessageResponse,
    StreamResponse,
    SubscribeToTaskRequest,
    Task,
    TaskPushNotificationConfig,
)
from a2a.utils import constants, proto_utils
from a2a.utils.errors import (
    JSON_RPC_ERROR_CODE_MAP,
    A2AError,
    InternalError,
    InvalidParamsError,
    InvalidRequestError,
    TaskNotFoundError,
)
from a2a.utils.version_validator import validate_version
from aiokafka.errors import MessageSizeTooLargeError
from faust.exceptions import ProducerSendError
from google.protobuf.json_format import MessageToDict
from google.protobuf.message import Message as ProtoMessage

from app import binding, metrics, tracing
from app.auth import AuthenticationError, Authenticator
from app.protojson import dict_to_message, message_to_dict

logger = logging.getLogger(__name__)

#: JSON-RPC error codes that mean the record itself is bad (JSON-RPC 2.0 §5.1):
#: such records are dead-lettered besides being answered.
BAD_INPUT_CODES = frozenset({-32700, -32600, -32601, -32602})

#: The request type of each JSON-RPC method (A2A 1.0 §9.4, the gRPC method names).
METHODS: dict[str, type[ProtoMessage]] = {
    "SendMessage": SendMessageRequest,
    "SendStreamingMessage": SendMessageRequest,
    "GetTask": GetTaskRequest,
    "ListTasks": ListTasksRequest,
    "CancelTask": CancelTaskRequest,
    "SubscribeToTask": SubscribeToTaskRequest,
    "CreateTaskPushNotificationConfig": TaskPushNotificationConfig,
    "GetTaskPushNotificationConfig": GetTaskPushNotificationConfigRequest,
    "ListTaskPushNotificationConfigs": ListTaskPushNotificationConfigsRequest,
    "DeleteTaskPushNotificationConfig": DeleteTaskPushNotificationConfigRequest,
    "GetExtendedAgentCard": GetExtendedAgentCardRequest,
}
#: Methods answered with a stream of records (A2A 1.0 §9.4.2, §9.4.6).
STREAMING_METHODS = frozenset({"SendStreamingMessage", "SubscribeToTask"})
#: Task states after which a stream ends (a2a-sdk's terminal and interrupted states).
STREAM_END_STATES = TERMINAL_TASK_STATES | INTERRUPTED_TASK_STATES


@dataclass(frozen=True)
class RequestRecord:
    """The parts of a consumed request record the handler needs."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Sequence[tuple[str, bytes]] = field(default_factory=tuple)


@dataclass(frozen=True)
class OutgoingRecord:
    """A record to produce: a response, a dead letter or a re-keyed request.

    ``partition`` ``None`` lets the producer's partitioner pick by key.
    """

    topic: str
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]]
    partition: int | None = None


#: Produces a record; returns once it is handed to the producer, with the future of
#: its acknowledgement (``aiokafka``'s ``send``).
Produce = Callable[[OutgoingRecord], Awaitable[Awaitable[Any]]]
#: Waits until every table write of a partition so far is acknowledged by Kafka.
Acknowledged = Callable[[int], Awaitable[None]]


class ResponseTooLarge(Exception):
    """A response record is larger than the producer may send (``max.request.size``)."""


#: Most bytes of responses one batched record holds: well below the producer's default
#: ``max.request.size`` (1 MiB), so a batch is refused only for a response that is too
#: large on its own.
REPLY_BATCH_BYTES = 256 * 1024


class _Replies:
    """The response records of one call, in order, after the state they report.

    When the request carries ``reply-batch: 1`` (``docs/kafka-binding.md`` §7), the
    responses that exist at the same moment (an executor's events of one event-loop
    step) go out as one record whose value is a JSON array of them; a lone response is
    a record of its own, as without the header.
    """

    def __init__(self, handler: KafkaHandler, record: RequestRecord) -> None:
        self._handler = handler
        self._record = record
        self.correlation_id = binding.header(record.headers, binding.CORRELATION_ID)
        self._topic = binding.header(record.headers, binding.REPLY_TO) or binding.responses_topic(
            handler.agent
        )
        self._partition = binding.reply_partition(record.headers)
        self._batching = binding.header(record.headers, binding.REPLY_BATCH) == "1"
        self._pending: list[Awaitable[Any]] = []
        self._batch: list[bytes] = []
        self._batch_bytes = 0
        self._final = False
        self._scheduled = False
        self._drain: asyncio.Future[None] | None = None

    async def send(self, value: bytes, *, final: bool) -> None:
        """Produces one response (``b""``: none, only the end of the call) once the
        partition's table writes are durable; with batching, together with the
        responses sent at the same moment.

        Raises:
            ResponseTooLarge: a response exceeds the producer's ``max.request.size``.
            Exception: an earlier batch of this call could not be produced.
        """
        if self.correlation_id is None:
            return
        drain = self._drain
        if drain is not None and drain.done() and not drain.cancelled():
            failure = drain.exception()
            if failure is not None:  # an earlier batch failed: the call fails now
                self._abandon(drain)
                raise failure
        if self._batch and self._batch_bytes + len(value) > REPLY_BATCH_BYTES:
            await self._drained()
        if value:
            self._batch.append(value)
            self._batch_bytes += len(value)
        if final:
            self._final = True
        if final or not self._batching:
            await self._drained()
        elif not self._scheduled:
            self._schedule()

    def _schedule(self) -> None:
        """Schedules a drain of the batch after the earlier ones: it runs once the
        sending task yields, so it takes every response of this moment."""
        self._scheduled = True
        self._drain = asyncio.ensure_future(self._drain_after(self._drain))
        self._drain.add_done_callback(_retrieve)

    async def _drained(self) -> None:
        """Returns once everything sent so far is produced."""
        if not self._scheduled:
            if self._drain is None or self._drain.done():
                await self._produce_batch()
                return
            self._schedule()
        drain = self._drain
        assert drain is not None
        try:
            await drain
        except BaseException:
            self._abandon(drain)
            raise

    def _abandon(self, drain: asyncio.Future[None]) -> None:
        """Forgets a failed drain and what was not produced: the call fails, and its
        error answer goes out on its own."""
        if self._drain is drain:
            self._drain = None
            self._batch, self._batch_bytes, self._scheduled = [], 0, False

    async def _drain_after(self, previous: asyncio.Future[None] | None) -> None:
        if previous is not None:
            await previous
        await self._produce_batch()

    async def _produce_batch(self) -> None:
        """Takes the batch, waits until the state it reports is durable, produces it."""
        batch, final = self._batch, self._final
        self._batch, self._batch_bytes, self._scheduled, self._final = [], 0, False, False
        if not batch and not final:
            return
        await self._handler.acknowledged(self._record.partition)
        if len(batch) <= 1:
            await self._produce_record(batch[0] if batch else b"", final=final)
            return
        try:
            await self._produce_record(b"[" + b",".join(batch) + b"]", final=final)
        except ResponseTooLarge:
            for index, value in enumerate(batch):
                await self._produce_record(value, final=final and index == len(batch) - 1)

    async def _produce_record(self, value: bytes, *, final: bool) -> None:
        """Produces one response record without waiting for its acknowledgement.

        Raises:
            ResponseTooLarge: the record exceeds the producer's ``max.request.size``.
        """
        assert self.correlation_id is not None
        headers = [(binding.CORRELATION_ID, self.correlation_id.encode())]
        if final:
            headers.append((binding.FINAL, b"1"))
        tracing.inject(headers)
        outgoing = OutgoingRecord(
            self._topic, self.correlation_id.encode(), value, headers, self._partition
        )
        try:
            self._pending.append(await self._handler.produce(outgoing))
        except (MessageSizeTooLargeError, ProducerSendError) as exc:
            cause = exc if isinstance(exc, MessageSizeTooLargeError) else exc.__cause__
            if not isinstance(cause, MessageSizeTooLargeError):
                raise
            raise ResponseTooLarge(
                f"a response of {len(value)} bytes is too large for Kafka: {cause}"
            ) from exc
        except AssertionError:
            # aiokafka asserts that an explicit partition exists; a reply-partition
            # beyond the reply topic's partitions falls back to the key's partition.
            if self._partition is None:
                raise
            logger.warning(
                "reply-partition %d does not exist in %s; answering by key",
                self._partition,
                self._topic,
            )
            self._partition = None
            await self._produce_record(value, final=final)

    async def produce(self, outgoing: OutgoingRecord) -> None:
        """Produces a record that is part of this call's outcome (a dead letter)."""
        self._pending.append(await self._handler.produce(outgoing))

    async def delivered(self) -> None:
        """Waits until every record of the call is produced and acknowledged by Kafka.

        Raises:
            Exception: a batch or a record could not be produced.
        """
        if self._drain is not None:
            await self._drain
        for future in self._pending:
            await future
        self._pending.clear()


def _retrieve(drain: asyncio.Future[None]) -> None:
    """Marks a drain's exception as seen: the call raises it from ``send`` or
    ``delivered``, or was abandoned for another error."""
    if not drain.cancelled():
        drain.exception()


class KafkaHandler:
    """Serves one agent's request records with an a2a-sdk ``RequestHandler``.

    Args:
        agent: The agent's name (topics ``agent.<name>.*``).
        request_handler: a2a-sdk's ``RequestHandler``: the worker's
            ``LeanRequestHandler`` or a2a-sdk's ``DefaultRequestHandler``.
        produce: Produces a record (:data:`Produce`).
        acknowledged: The table-write barrier of a partition (:data:`Acknowledged`).
        max_request_bytes: Larger request values are refused (A2A
            ``InvalidRequestError``) and dead-lettered. Default 1 MiB, Kafka's default
            ``message.max.bytes``.
        authenticator: Verifies each record's ``authorization`` (``app.auth``); the
            verified caller is the call's ``ServerCallContext.user``. Default: off.
    """

    def __init__(
        self,
        agent: str,
        request_handler: RequestHandler,
        *,
        produce: Produce,
        acknowledged: Acknowledged,
        max_request_bytes: int = 1 << 20,
        authenticator: Authenticator | None = None,
    ) -> None:
        self.agent = agent
        self._authenticator = authenticator or Authenticator()
        self.request_handler = request_handler
        self.produce = produce
        self.acknowledged = acknowledged
        self._max_request_bytes = max_request_bytes

    async def handle(self, record: RequestRecord) -> None:
        """Answers one request record; returns when its answer is acknowledged.

        Bad records are answered with a JSON-RPC error and dead-lettered; a record
        whose key is not its routing key is re-produced with the right key (a new
        conversation without a ``contextId`` gets one minted here) and answered from
        there.

        Raises:
            HandedOver: the task's partition moved away mid-call; nothing was answered.
            Exception: a fault outside the A2A error mapping (a produce error, a bug);
                the caller decides between retrying and :meth:`fail`.
        """
        attributes = {
            "a2a.agent": self.agent,
            "messaging.kafka.partition": record.partition,
            "messaging.kafka.offset": record.offset,
        }
        with (
            metrics.track_request(self.agent) as track,
            tracing.server_span(self.agent, record.headers, attributes) as span,
        ):
            await self._handle(record, track, span)

    async def _handle(self, record: RequestRecord, track: metrics.RequestTrack, span: Any) -> None:
        replies = _Replies(self, record)
        body = self._decode(record)
        if not isinstance(body, dict):
            track.outcome = "bad_input"
            await self._reject(record, replies, body, None, _reason(body))
            await replies.delivered()
            return
        try:
            user = await self._authenticator.authenticate_headers(record.headers)
        except AuthenticationError as exc:
            track.outcome = "unauthenticated"
            await self._refuse(record, replies, exc, body.get("id"))
            await replies.delivered()
            return
        request = self._parse(record, body)
        if isinstance(request, JSONRPCError | A2AError):
            track.outcome = "bad_input"
            await self._reject(record, replies, request, None, _reason(request))
        elif isinstance(request, OutgoingRecord):
            track.outcome = "rekeyed"
            await replies.produce(request)
        else:
            method, request_id, params = request
            track.method = method if method in METHODS else "unknown"
            if span is not None:
                span.update_name(f"{self.agent} {track.method}")
            try:
                track.outcome = await self._call(method, request_id, params, record, replies, user)
            except ResponseTooLarge as exc:
                track.outcome = "error"
                await self._reject(
                    record,
                    replies,
                    InternalError(message=str(exc)),
                    request_id,
                    "response-too-large",
                )
        await replies.delivered()

    async def fail(self, record: RequestRecord, error: BaseException) -> None:
        """Answers a record whose handling raised with ``InternalError`` and dead-letters it.

        For faults outside a2a-sdk's error mapping: the caller is not left waiting for
        its deadline and the record is kept where an operator finds it.

        Raises:
            Exception: the answer or the dead letter could not be produced.
        """
        replies = _Replies(self, record)
        detail = f"{type(error).__name__}: {error}"
        await self._reject(record, replies, InternalError(message=detail), None, "internal-error")
        await replies.delivered()

    def _decode(self, record: RequestRecord) -> dict[str, Any] | JSONRPCError | A2AError:
        """The record's JSON object, or the error to answer (too large, not JSON, a batch)."""
        value = record.value or b""
        if len(value) > self._max_request_bytes:
            return InvalidRequestError(
                message=f"Payload too large: {len(value)} bytes > {self._max_request_bytes}"
            )
        try:
            body = orjson.loads(value)
        except ValueError as exc:  # orjson.JSONDecodeError, invalid UTF-8 included
            return JSONParseError(message=str(exc))
        if not isinstance(body, dict):
            return InvalidRequestError(message="Batch requests are not supported")
        return body

    def _parse(
        self, record: RequestRecord, body: dict[str, Any]
    ) -> tuple[str, str | int | None, dict[str, Any]] | JSONRPCError | A2AError | OutgoingRecord:
        """The request as ``(method, id, params)``, an error to answer, or a re-keyed record."""
        request_id = body.get("id")
        if isinstance(request_id, bool) or not isinstance(request_id, str | int | None):
            return InvalidRequestError(
                message="Invalid request: id must be a string, integer, or null"
            )
        method, params = body.get("method"), body.get("params", {})
        if body.get("jsonrpc") != "2.0":
            return InvalidRequestError(message="Invalid request: 'jsonrpc' must be exactly '2.0'")
        if not isinstance(method, str) or not method:
            return InvalidRequestError(message="Method is required")
        if not isinstance(params, dict):
            return InvalidParamsError(message="params must be an object")
        rekeyed = self._rekey(record, body, method, params)
        if rekeyed is not None:
            return rekeyed
        return method, request_id, params

    def _rekey(
        self, record: RequestRecord, body: dict[str, Any], method: str, params: dict[str, Any]
    ) -> OutgoingRecord | None:
        """The record re-produced under its routing key, or ``None`` if it has it."""
        key = binding.routing_key(method, params)
        value = record.value
        if key is None and method in binding.SEND_METHODS:
            message = params.get("message")
            if not isinstance(message, dict):
                return None
            key = message["contextId"] = uuid.uuid4().hex
            value = binding.encode_json(body)
        if key is None or (record.key is not None and record.key.decode(errors="replace") == key):
            return None
        return OutgoingRecord(record.topic, key.encode(), value, list(record.headers))

    async def _call(
        self,
        method: str,
        request_id: str | int | None,
        params: dict[str, Any],
        record: RequestRecord,
        replies: _Replies,
        user: User,
    ) -> str:
        """Calls the handler for one parsed request and answers it; returns the
        request's outcome (``metrics.RequestTrack.outcome``)."""
        deadline = binding.header(record.headers, binding.DEADLINE)
        if deadline and deadline.isdigit() and int(deadline) < time.time() * 1000:
            error = InvalidRequestError(message="Deadline exceeded before the request was handled")
            await self._reject(record, replies, error, request_id, "deadline-exceeded")
            return "expired"
        request_type = METHODS.get(method)
        if request_type is None:
            await self._reject(record, replies, MethodNotFoundError(), request_id, "jsonrpc--32601")
            return "bad_input"
        try:
            request = dict_to_message(params, request_type)
        except Exception as exc:
            invalid = InvalidParamsError(data={"parseError": str(exc)})
            await self._reject(record, replies, invalid, request_id, "jsonrpc--32602")
            return "bad_input"
        context = self._call_context(method, request_id, request, record, user)
        try:
            if method in STREAMING_METHODS:
                final = False
                async for result, final in self._stream(method, request, context):
                    await replies.send(_result(request_id, result), final=final)
                if not final:
                    await replies.send(b"", final=True)
            else:
                result = await self._unary(method, request, context)
                await replies.send(_result(request_id, result), final=True)
        except A2AError as exc:
            body = self._error_response(request_id, exc)
            await replies.send(body, final=True)
            if _code(exc) in BAD_INPUT_CODES:
                await replies.produce(_dead_letter(self.agent, record, _reason(exc), body))
                return "bad_input"
            return "error"
        return "ok"

    def _call_context(
        self,
        method: str,
        request_id: str | int | None,
        request: ProtoMessage,
        record: RequestRecord,
        user: User,
    ) -> ServerCallContext:
        """The ``ServerCallContext`` of a record: the verified caller and its A2A service
        parameters (headers, credentials left out)."""
        parameters = binding.service_parameters(binding.redact_headers(record.headers))
        extensions = parameters.get(HTTP_EXTENSION_HEADER.lower(), "")
        return ServerCallContext(
            user=user,
            state={"headers": parameters, "method": method, "request_id": request_id},
            tenant=getattr(request, "tenant", ""),
            requested_extensions=get_requested_extensions([extensions] if extensions else []),
        )

    @validate_version(constants.PROTOCOL_VERSION_1_0)
    async def _unary(self, method: str, request: Any, context: ServerCallContext) -> Any:
        """One ``on_*`` call; its result as a JSON-RPC ``result`` value."""
        handler = self.request_handler
        match method:
            case "SendMessage":
                answer = await handler.on_message_send(request, context)
                if isinstance(answer, Task):
                    return message_to_dict(SendMessageResponse(task=answer))
                return message_to_dict(SendMessageResponse(message=answer))
            case "GetTask":
                return _task(await handler.on_get_task(request, context))
            case "CancelTask":
                return _task(await handler.on_cancel_task(request, context))
            case "ListTasks":
                listed = await handler.on_list_tasks(request, context)
                return _list_tasks_result(listed, request.include_artifacts)
            case "CreateTaskPushNotificationConfig":
                return message_to_dict(
                    await handler.on_create_task_push_notification_config(request, context)
                )
            case "GetTaskPushNotificationConfig":
                return message_to_dict(
                    await handler.on_get_task_push_notification_config(request, context)
                )
            case "ListTaskPushNotificationConfigs":
                return message_to_dict(
                    await handler.on_list_task_push_notification_configs(request, context)
                )
            case "DeleteTaskPushNotificationConfig":
                await handler.on_delete_task_push_notification_config(request, context)
                return None
            case _:
                return message_to_dict(await handler.on_get_extended_agent_card(request, context))

    async def _stream(
        self, method: str, request: Any, context: ServerCallContext
    ) -> AsyncGenerator[tuple[Any, bool]]:
        """The events of a streaming call, each as ``(StreamResponse JSON value, last)``.

        An event that ends an A2A stream (a Message, or a task in a terminal or
        interrupted state: A2A 1.0 §3.1.2) is held until the handler's stream is seen
        to end right after it, so it is sent as the call's final record and no empty
        final record is needed (``docs/kafka-binding.md``, Streams). Any other event
        is passed on at once.
        """
        events = await self._open_stream(method, request, context)
        held: StreamResponse | None = None
        try:
            async for event in events:
                if held is not None:
                    yield message_to_dict(held), False
                    held = None
                response = proto_utils.to_stream_response(event)
                if _ends_stream(response):
                    held = response
                else:
                    yield message_to_dict(response), False
        except Exception:
            if held is not None:  # the stream failed after it: the error is the end
                yield message_to_dict(held), False
            raise
        if held is not None:
            yield message_to_dict(held), True

    @validate_version(constants.PROTOCOL_VERSION_1_0)
    async def _open_stream(
        self, method: str, request: Any, context: ServerCallContext
    ) -> AsyncGenerator[Any]:
        if method == "SendStreamingMessage":
            return self.request_handler.on_message_send_stream(request, context)
        return self.request_handler.on_subscribe_to_task(request, context)

    def _error_response(
        self, request_id: str | int | None, error: A2AError | JSONRPCError
    ) -> bytes:
        """The JSON-RPC error response of ``error`` (a2a-sdk's mapping of A2A errors)."""
        return binding.encode_json(build_error_response(request_id, error))

    async def _refuse(
        self,
        record: RequestRecord,
        replies: _Replies,
        error: AuthenticationError,
        request_id: Any,
    ) -> None:
        """Answers a record whose caller is not authenticated; not dead-lettered (the
        record is not bad input, ``docs/kafka-binding.md`` §10)."""
        logger.info(
            "request %s[%s]@%s refused: %s",
            record.topic,
            record.partition,
            record.offset,
            error.message,
        )
        if isinstance(request_id, bool) or not isinstance(request_id, str | int | None):
            request_id = None
        body = binding.encode_json(build_error_response(request_id, error.to_jsonrpc_error()))
        await replies.send(body, final=True)

    async def _reject(
        self,
        record: RequestRecord,
        replies: _Replies,
        error: A2AError | JSONRPCError,
        request_id: str | int | None,
        reason: str,
    ) -> None:
        """Answers with ``error`` and dead-letters the record."""
        body = self._error_response(request_id, error)
        await replies.send(body, final=True)
        await replies.produce(_dead_letter(self.agent, record, reason, body))


def _ends_stream(response: StreamResponse) -> bool:
    """Whether ``response`` is an event after which an A2A stream ends: a Message, or a
    task or status update in a terminal or interrupted state (A2A 1.0 §3.1.2)."""
    kind = response.WhichOneof("payload")
    if kind == "message":
        return True
    if kind == "task":
        return response.task.status.state in STREAM_END_STATES
    if kind == "status_update":
        return response.status_update.status.state in STREAM_END_STATES
    return False


def _task(task: Task | None) -> dict[str, Any]:
    if task is None:
        raise TaskNotFoundError
    return message_to_dict(task)


def _list_tasks_result(listed: ListTasksResponse, include_artifacts: bool) -> dict[str, Any]:
    """``ListTasks``' result as a2a-sdk's JSON-RPC server writes it (every field, even
    default ones; artifacts only when asked for). Not imported from ``a2a.server.routes``,
    which needs the HTTP server's packages (Starlette) that a worker does without."""
    result = MessageToDict(
        listed, preserving_proto_field_name=False, always_print_fields_with_no_presence=True
    )
    if not include_artifacts:
        for task in result["tasks"]:
            task.pop("artifacts", None)
    return result


def _result(request_id: str | int | None, result: Any) -> bytes:
    """A JSON-RPC 2.0 success response (JSON-RPC 2.0 §5)."""
    return binding.encode_json({"jsonrpc": "2.0", "id": request_id, "result": result})


def _code(error: A2AError | JSONRPCError) -> int:
    """The JSON-RPC error code of ``error`` (a2a-sdk's ``JSON_RPC_ERROR_CODE_MAP``)."""
    if isinstance(error, JSONRPCError):
        return error.code
    return JSON_RPC_ERROR_CODE_MAP.get(type(error), -32603)


def _reason(error: A2AError | JSONRPCError) -> str:
    """The ``dlq-reason`` of a bad record: ``too-large`` or ``jsonrpc-<code>``."""
    if isinstance(error, InvalidRequestError) and str(error).startswith("Payload too large"):
        return "too-large"
    return f"jsonrpc-{_code(error)}"


def _dead_letter(agent: str, record: RequestRecord, reason: str, detail: bytes) -> OutgoingRecord:
    """The DLQ copy of ``record``: original key, value and headers (credentials removed)
    plus why and whence. Counted in ``faust_a2a_dead_letters_total``."""
    metrics.dead_lettered(agent, reason)
    headers = [
        *binding.redact_headers(record.headers),
        (binding.DLQ_REASON, reason.encode()),
        (binding.DLQ_ERROR, detail[:4096]),
        (binding.DLQ_TOPIC, record.topic.encode()),
        (binding.DLQ_PARTITION, str(record.partition).encode()),
        (binding.DLQ_OFFSET, str(record.offset).encode()),
    ]
    return OutgoingRecord(binding.dlq_topic(agent), record.key, record.value, headers)

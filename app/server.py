"""Serving A2A requests from Kafka records with a2a-sdk's own JSON-RPC dispatcher.

One :class:`RecordHandler` per hosted agent turns a request record into response
records. The protocol work is a2a-sdk's: the record's value and headers go through
``JsonRpcDispatcher.handle_requests`` (the same code that serves A2A over HTTP) as if
they were an HTTP body and headers, so the Kafka binding answers byte for byte what
the JSON-RPC binding answers, SSE events becoming records. This module only adds
what Kafka needs around it: routing-key checks, redelivery, deadlines, dead letters.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from a2a.server.agent_execution import RequestContext, SimpleRequestContextBuilder
from a2a.server.context import ServerCallContext
from a2a.server.jsonrpc_models import InternalError, JSONParseError, JSONRPCError
from a2a.server.request_handlers import build_error_response
from a2a.server.routes.jsonrpc_dispatcher import JsonRpcDispatcher
from a2a.types import SendMessageRequest, SendMessageResponse, StreamResponse, Task
from a2a.utils.errors import A2AError, InvalidRequestError
from google.protobuf.json_format import MessageToDict
from sse_starlette.sse import EventSourceResponse
from starlette.requests import Request
from starlette.responses import JSONResponse

from app import binding, metrics, tracing
from tables import ConversationIndex, FaustTaskStore
from tables.keys import scoped

logger = logging.getLogger(__name__)

#: JSON-RPC error codes that mean the record itself is bad (JSON-RPC 2.0 §5.1):
#: such records are dead-lettered besides being answered.
BAD_INPUT_CODES = frozenset({-32700, -32600, -32601, -32602})


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
    """A record to produce: a response, a DLQ entry or a re-keyed request."""

    topic: str
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]]


Send = Callable[[OutgoingRecord], Awaitable[None]]


class ConversationContextBuilder(SimpleRequestContextBuilder):
    """Builds each ``RequestContext`` with the conversation's earlier tasks.

    Mints task ids with :class:`app.binding.RoutedTaskIdGenerator`, records every new
    task in the ``contexts`` table and every message id in the ``messages`` table
    before the executor runs (so a redelivered record is recognised), and puts the
    conversation's earlier tasks, oldest first, in ``RequestContext.related_tasks``:
    an executor can read the whole conversation whether the caller continues a task
    or starts a new one in the same context.
    """

    def __init__(
        self,
        tasks: FaustTaskStore,
        conversations: ConversationIndex,
        messages: MutableMapping[str, bytes],
        agent: str,
    ) -> None:
        super().__init__(task_id_generator=binding.RoutedTaskIdGenerator())
        self._tasks = tasks
        self._conversations = conversations
        self._messages = messages
        self._agent = agent

    async def build(
        self,
        context: ServerCallContext,
        params: SendMessageRequest | None = None,
        task_id: str | None = None,
        context_id: str | None = None,
        task: Task | None = None,
    ) -> RequestContext:
        """Builds the context, records the task and message, attaches earlier tasks."""
        request_context = await super().build(context, params, task_id, context_id, task)
        new_task_id, conversation = request_context.task_id, request_context.context_id
        if new_task_id and conversation:
            for earlier_id in self._conversations.task_ids(conversation):
                if earlier_id != new_task_id:
                    earlier = await self._tasks.get(earlier_id, context)
                    if earlier is not None:
                        request_context.attach_related_task(earlier)
            self._conversations.add(conversation, new_task_id)
            if params is not None and params.message.message_id:
                self._messages[scoped(self._agent, params.message.message_id)] = (
                    new_task_id.encode()
                )
        return request_context


def _starlette_request(value: bytes, headers: Sequence[tuple[str, bytes]]) -> Request:
    """A Starlette ``Request`` whose body is the record's value and whose headers are
    its A2A service parameters (the binding's own headers stay out)."""
    raw_headers = [
        (name.encode("latin-1"), text.encode())
        for name, text in binding.service_parameters(headers).items()
    ]
    raw_headers.append((b"content-type", b"application/json"))
    scope = {
        "type": "http",
        "method": "POST",
        "scheme": "kafka",
        "path": "/",
        "raw_path": b"/",
        "root_path": "",
        "query_string": b"",
        "headers": raw_headers,
        "http_version": "1.1",
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": value, "more_body": False}

    return Request(scope, receive)


class RecordHandler:
    """Handles the request records of one agent.

    Args:
        agent: The agent's name.
        dispatcher: a2a-sdk's JSON-RPC dispatcher over the agent's request handler.
        tasks: The agent's task store (for answering redelivered messages).
        messages: The ``messages`` table: ``<agent>/<message id>`` → task id.
        send: Produces one record; awaited in order, so records of a call keep order.
        max_request_bytes: Larger request values are refused (A2A ``InvalidRequestError``)
            and dead-lettered. Default 1 MiB, Kafka's default ``message.max.bytes``.
    """

    def __init__(
        self,
        agent: str,
        dispatcher: JsonRpcDispatcher,
        tasks: FaustTaskStore,
        messages: MutableMapping[str, bytes],
        send: Send,
        max_request_bytes: int = 1 << 20,
    ) -> None:
        self.agent = agent
        self._dispatcher = dispatcher
        self._tasks = tasks
        self._messages = messages
        self._send = send
        self._max_request_bytes = max_request_bytes

    async def handle(self, record: RequestRecord) -> None:
        """Answers one request record; never raises for bad input.

        Bad records are answered with an A2A/JSON-RPC error and dead-lettered. Records
        whose key is not their routing key are re-produced with the right key (a new
        conversation without a ``contextId`` gets one minted here) and answered from
        there.
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

    async def _handle(
        self, record: RequestRecord, track: metrics.RequestTrack, span: Any
    ) -> None:
        value = record.value or b""
        correlation_id = binding.header(record.headers, binding.CORRELATION_ID)
        if len(value) > self._max_request_bytes:
            error = InvalidRequestError(
                message=f"Payload too large: {len(value)} bytes > {self._max_request_bytes}"
            )
            track.outcome = "bad_input"
            await self._reject(record, correlation_id, error, "too-large")
            return
        try:
            parsed = json.loads(value)
        except (ValueError, UnicodeDecodeError) as exc:
            track.outcome = "bad_input"
            await self._reject(
                record, correlation_id, JSONParseError(message=str(exc)), "jsonrpc--32700"
            )
            return
        if isinstance(parsed, dict):
            method = parsed.get("method")
            track.method = method if method in JsonRpcDispatcher.METHOD_TO_MODEL else "unknown"
            if span is not None:
                span.update_name(f"{self.agent} {track.method}")
            rekeyed = self._rekey(record, parsed)
            if rekeyed is not None:
                track.outcome = "rekeyed"
                await self._send(rekeyed)
                return
            deadline = binding.header(record.headers, binding.DEADLINE)
            if deadline and deadline.isdigit() and int(deadline) < time.time() * 1000:
                error = InvalidRequestError(
                    message="Deadline exceeded before the request was handled"
                )
                track.outcome = "expired"
                await self._reject(
                    record, correlation_id, error, "deadline-exceeded", request_id=parsed.get("id")
                )
                return
            if await self._answer_redelivery(record, parsed, correlation_id):
                track.outcome = "redelivery"
                metrics.redelivery_answered(self.agent)
                return
        response = await self._dispatcher.handle_requests(_starlette_request(value, record.headers))
        if isinstance(response, EventSourceResponse):
            async for item in response.body_iterator:
                data = item["data"] if isinstance(item, dict) else item
                await self._reply(record, correlation_id, str(data).encode(), final=False)
            await self._reply(record, correlation_id, b"", final=True)
            return
        assert isinstance(response, JSONResponse)
        body = bytes(response.body)
        await self._reply(record, correlation_id, body, final=True)
        code = _error_code(body)
        if code is not None:
            track.outcome = "bad_input" if code in BAD_INPUT_CODES else "error"
        if code in BAD_INPUT_CODES:
            await self._send(_dead_letter(self.agent, record, f"jsonrpc-{code}", body.decode()))

    async def fail(self, record: RequestRecord, error: BaseException) -> None:
        """Answers a record whose handling raised with ``InternalError`` and dead-letters it.

        For faults outside a2a-sdk's own error mapping (a produce error, a bug): the
        caller is not left waiting for its deadline and the record is kept.
        """
        correlation_id = binding.header(record.headers, binding.CORRELATION_ID)
        detail = f"{type(error).__name__}: {error}"
        await self._reject(record, correlation_id, InternalError(message=detail), "internal-error")

    def _rekey(self, record: RequestRecord, request: dict[str, Any]) -> OutgoingRecord | None:
        method, params = request.get("method"), request.get("params")
        if not isinstance(method, str) or not isinstance(params, dict):
            return None
        key = binding.routing_key(method, params)
        message = params.get("message")
        if key is None and method in ("SendMessage", "SendStreamingMessage"):
            if not isinstance(message, dict):
                return None
            key = message["contextId"] = uuid.uuid4().hex
            value: bytes | None = binding.encode_json(request)
        else:
            value = record.value
        if key is None or (record.key is not None and record.key.decode(errors="replace") == key):
            return None
        return OutgoingRecord(record.topic, key.encode(), value, list(record.headers))

    async def _answer_redelivery(
        self, record: RequestRecord, request: dict[str, Any], correlation_id: str | None
    ) -> bool:
        """Answers a redelivered message from its task instead of running it twice.

        A2A message ids are unique per message (A2A 1.0 §4.1.4), so a ``SendMessage``
        whose ``messageId`` already started a task is a redelivery (Kafka is
        at-least-once): the caller gets the task as it stands.
        """
        if request.get("method") not in ("SendMessage", "SendStreamingMessage"):
            return False
        message = (request.get("params") or {}).get("message") or {}
        message_id = message.get("messageId") if isinstance(message, dict) else None
        task_id_raw = (
            self._messages.get(scoped(self.agent, str(message_id))) if message_id else None
        )
        if task_id_raw is None:
            return False
        task = await self._tasks.get(task_id_raw.decode(), ServerCallContext())
        if task is None:
            return False
        logger.info("redelivered message %s answered from task %s", message_id, task.id)
        request_id = request.get("id")
        if request["method"] == "SendMessage":
            result = MessageToDict(SendMessageResponse(task=task))
            body = binding.encode_json({"jsonrpc": "2.0", "id": request_id, "result": result})
            await self._reply(record, correlation_id, body, final=True)
        else:
            result = MessageToDict(StreamResponse(task=task))
            body = binding.encode_json({"jsonrpc": "2.0", "id": request_id, "result": result})
            await self._reply(record, correlation_id, body, final=False)
            await self._reply(record, correlation_id, b"", final=True)
        return True

    async def _reject(
        self,
        record: RequestRecord,
        correlation_id: str | None,
        error: A2AError | JSONRPCError,
        reason: str,
        request_id: str | int | None = None,
    ) -> None:
        """Answers with ``error`` (a2a-sdk's JSON-RPC error mapping) and dead-letters."""
        body = binding.encode_json(build_error_response(request_id, error))
        await self._reply(record, correlation_id, body, final=True)
        await self._send(_dead_letter(self.agent, record, reason, body.decode()))

    async def _reply(
        self, record: RequestRecord, correlation_id: str | None, value: bytes, *, final: bool
    ) -> None:
        if correlation_id is None:
            return
        topic = binding.header(record.headers, binding.REPLY_TO) or binding.responses_topic(
            self.agent
        )
        headers = [(binding.CORRELATION_ID, correlation_id.encode())]
        if final:
            headers.append((binding.FINAL, b"1"))
        tracing.inject(headers)
        await self._send(OutgoingRecord(topic, correlation_id.encode(), value, headers))


def _error_code(body: bytes) -> int | None:
    """The JSON-RPC error code of a response body, or ``None`` for a result."""
    if b'"error"' not in body:
        return None
    error = json.loads(body).get("error")
    code = error.get("code") if isinstance(error, dict) else None
    return code if isinstance(code, int) else None


def _dead_letter(agent: str, record: RequestRecord, reason: str, detail: str) -> OutgoingRecord:
    """The DLQ copy of ``record``: original key, value and headers plus why and whence."""
    metrics.dead_lettered(agent, reason)
    headers = [
        *record.headers,
        (binding.DLQ_REASON, reason.encode()),
        (binding.DLQ_ERROR, detail[:4096].encode()),
        (binding.DLQ_TOPIC, record.topic.encode()),
        (binding.DLQ_PARTITION, str(record.partition).encode()),
        (binding.DLQ_OFFSET, str(record.offset).encode()),
    ]
    return OutgoingRecord(binding.dlq_topic(agent), record.key, record.value, headers)

"""The A2A Kafka binding: topic names, record headers, routing keys and JSON-RPC records.

This module is the single place where the wire format lives; the worker
(:mod:`app.kafka_handler`) and the client (:mod:`app.transport`) both use it, and
``docs/kafka-binding.md`` specifies it. It is the A2A JSON-RPC binding (A2A v1.0,
section 9) with a Kafka record in place of an HTTP body or SSE event:

* request record: key = routing key (see :func:`routing_key`), value = one JSON-RPC 2.0
  request object (UTF-8 JSON), headers = :data:`CORRELATION_ID`, :data:`REPLY_TO` and
  the A2A service parameters (``a2a-version``, ``a2a-extensions``, ``traceparent``,
  ``authorization`` …, lower-cased);
* response record: key = correlation id, value = one JSON-RPC 2.0 response object,
  header :data:`FINAL` = ``b"1"`` on the last record of a call: the only record of a
  unary call; for a stream, the event that ends it (a Message, a terminal or
  interrupted state), or else a record with an empty value after its last event.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import orjson
from a2a.server.id_generator import IDGenerator, IDGeneratorContext
from aiokafka.partitioner import DefaultPartitioner

#: ``AgentInterface.protocol_binding`` of this binding: a URI, versioned, that names its
#: specification (``docs/kafka-binding.md``), as A2A 1.0.1 §5.8 and §12.7 ask of a custom
#: binding. A breaking change of the wire format gets a new URI.
KAFKA_PROTOCOL_BINDING = "urn:faust-a2a:binding:kafka:v1"
#: Where the binding is specified, relative to the faust-a2a source tree; cards link it
#: in ``AgentCard.documentation_url`` (A2A 1.0.1 §12.7 asks for a link to the spec).
KAFKA_BINDING_SPEC = "docs/kafka-binding.md"
#: Identifiers older cards used for the same wire format; accepted for one version.
LEGACY_PROTOCOL_BINDINGS = ("KAFKA",)
#: URL scheme of a Kafka interface: ``kafka://host:port[,host:port]/<requests topic>``.
KAFKA_URL_SCHEME = "kafka"
#: Compacted topic of AgentCards keyed by agent name; a tombstone retires an agent.
REGISTRY_TOPIC = "agent.registry"

#: Header: the caller's correlation id; also the key of every response record.
CORRELATION_ID = "correlation-id"
#: Header: the topic the caller reads responses from (default: the agent's responses topic).
REPLY_TO = "reply-to"
#: Header: the partition of the reply topic the caller reads (ASCII integer); without
#: it responses are keyed by correlation id and partitioned by that key.
REPLY_PARTITION = "reply-partition"
#: Header: absolute deadline of the call, Unix epoch milliseconds (ASCII integer).
DEADLINE = "a2a-deadline-ms"
#: Header: ``b"1"`` on the last response record of a call.
FINAL = "a2a-final"
#: Request header: ``b"1"`` when the caller reads a stream's response records that hold
#: several responses (a JSON array, ``docs/kafka-binding.md`` §7); ``KafkaTransport``
#: always sends it.
REPLY_BATCH = "reply-batch"
#: DLQ headers: why a record was dead-lettered and where it came from.
DLQ_REASON = "dlq-reason"
DLQ_ERROR = "dlq-error"
DLQ_TOPIC = "dlq-topic"
DLQ_PARTITION = "dlq-partition"
DLQ_OFFSET = "dlq-offset"
#: Push outbox headers: the task and the push config a notification is for.
PUSH_TASK_ID = "push-task-id"
PUSH_CONFIG_ID = "push-config-id"

#: Headers that belong to the binding itself and are not A2A service parameters.
BINDING_HEADERS = frozenset(
    {CORRELATION_ID, REPLY_TO, REPLY_PARTITION, REPLY_BATCH, DEADLINE, FINAL}
)

#: The JSON-RPC methods that send a message (A2A 1.0 §9.4.1, §9.4.2).
SEND_METHODS = frozenset({"SendMessage", "SendStreamingMessage"})


_TASK_ID_SEPARATOR = "."
_TASK_ID_RE = re.compile(r"^[0-9a-f]{32}\.(.+)$", re.DOTALL)


def is_kafka_binding(protocol_binding: str) -> bool:
    """Whether an ``AgentInterface.protocol_binding`` names this binding (or a legacy alias)."""
    return (
        protocol_binding == KAFKA_PROTOCOL_BINDING or protocol_binding in LEGACY_PROTOCOL_BINDINGS
    )


def requests_topic(agent: str) -> str:
    """The topic an agent consumes: ``agent.<name>.requests``."""
    return f"agent.{agent}.requests"


def responses_topic(agent: str) -> str:
    """The shared topic an agent answers on: ``agent.<name>.responses``."""
    return f"agent.{agent}.responses"


def dlq_topic(agent: str) -> str:
    """The dead-letter topic of an agent: ``agent.<name>.dlq``."""
    return f"agent.{agent}.dlq"


def push_topic(agent: str) -> str:
    """The push-notification outbox of an agent: ``agent.<name>.push``."""
    return f"agent.{agent}.push"


@dataclass(frozen=True)
class KafkaAddress:
    """Where a Kafka interface lives: the bootstrap servers and the agent's name."""

    bootstrap_servers: str
    agent: str

    @property
    def url(self) -> str:
        """The interface URL, ``kafka://<bootstrap>/agent.<name>.requests``."""
        return f"{KAFKA_URL_SCHEME}://{self.bootstrap_servers}/{requests_topic(self.agent)}"


def parse_kafka_url(url: str) -> KafkaAddress:
    """Parses ``kafka://host:port[,host:port]/agent.<name>[.requests]``.

    Raises:
        ValueError: the URL is not of that form.
    """
    parts = urlsplit(url)
    path = parts.path.strip("/")
    if parts.scheme != KAFKA_URL_SCHEME or not parts.netloc or not path.startswith("agent."):
        raise ValueError(f"not a Kafka agent URL (kafka://host:port/agent.<name>): {url!r}")
    name = path.removeprefix("agent.").removesuffix(".requests")
    if not name or "/" in name:
        raise ValueError(f"no agent name in Kafka URL {url!r}")
    return KafkaAddress(bootstrap_servers=parts.netloc, agent=name)


class RoutedTaskIdGenerator(IDGenerator):
    """Mints task ids that carry their conversation's routing key.

    A task id is ``<32 hex digits>.<context id>``, so any caller holding only the task
    id keys its ``GetTask``/``CancelTask``/``SubscribeToTask``/push-config request to
    the partition that owns the conversation (``docs/kafka-binding.md``, Routing; the
    same idea as Restate's invocation ids). Callers must treat the id as opaque.
    """

    def generate(self, context: IDGeneratorContext) -> str:
        """Returns a new task id for ``context.context_id`` (a fresh one if missing)."""
        context_id = context.context_id or uuid.uuid4().hex
        return f"{uuid.uuid4().hex}{_TASK_ID_SEPARATOR}{context_id}"


def first_task_id(scope: str, context_id: str) -> str:
    """The id of a conversation's first task: ``<32 hex digits>.<context id>`` like the
    ids :class:`RoutedTaskIdGenerator` mints, the digits a 128-bit BLAKE2b hash of
    ``scope`` (the agent and owner of the conversation) and ``context_id``.

    Being derived, it is known without an entry in the conversation index
    (:class:`tables.ConversationIndex`): a conversation of one task costs one table
    write, its task. The id is as guessable as the context id it carries; who may
    read the task is decided by its owner (A2A 1.0 §13.1), not by the id.
    """
    digest = hashlib.blake2b(f"{scope}\0{context_id}".encode(), digest_size=16).hexdigest()
    return f"{digest}{_TASK_ID_SEPARATOR}{context_id}"


def task_routing_key(task_id: str) -> str:
    """The routing key of a task: the context id inside the id, or the id itself.

    Task ids not minted by :class:`RoutedTaskIdGenerator` route by themselves, which
    is consistent (the same id always reaches the same partition) but only finds the
    task if it was also created under that key.
    """
    match = _TASK_ID_RE.match(task_id)
    return match.group(1) if match else task_id


def routing_key(method: str, params: Mapping[str, Any]) -> str | None:
    """The Kafka record key for a request, from its method and protobuf-JSON params.

    ``SendMessage``/``SendStreamingMessage`` route by the task's key when they name a
    ``taskId`` (the task decides its context, A2A 1.0 §3.4), else by ``message.contextId``; task-scoped methods by their task id; ``ListTasks`` by its
    ``contextId`` filter. ``None`` means any partition will do (an unfiltered
    ``ListTasks``, ``GetExtendedAgentCard``) or the params are malformed (the handler
    then answers with ``InvalidParamsError``).
    """

    def text(value: Any) -> str | None:
        return value if isinstance(value, str) and value else None

    if method in SEND_METHODS:
        message = params.get("message")
        if not isinstance(message, Mapping):
            return None
        context_id, task_id = text(message.get("contextId")), text(message.get("taskId"))
        return task_routing_key(task_id) if task_id else context_id
    if method in ("GetTask", "CancelTask", "SubscribeToTask"):
        task_id = text(params.get("id"))
    elif "PushNotificationConfig" in method:
        task_id = text(params.get("taskId"))
    else:
        return text(params.get("contextId")) if method == "ListTasks" else None
    return task_routing_key(task_id) if task_id else None


def partition_for(key: str, partitions: int) -> int:
    """The partition Kafka's default partitioner picks for ``key`` among ``partitions``.

    murmur2 of the UTF-8 key, as the Java client, aiokafka and Faust's producer all
    compute it (Kafka ``DefaultPartitioner``), so the owner of a routing key can be
    found without producing anything.
    """
    every = list(range(partitions))
    return int(DefaultPartitioner()(key.encode(), every, every))


def header(headers: Iterable[tuple[str, bytes]] | None, name: str) -> str | None:
    """The value of header ``name`` decoded as UTF-8 (last one wins), or ``None``."""
    value = None
    for key, raw in headers or ():
        if key.lower() == name:
            value = raw.decode("utf-8", errors="replace") if raw is not None else None
    return value


def reply_partition(headers: Iterable[tuple[str, bytes]] | None) -> int | None:
    """The partition a request's responses go to (:data:`REPLY_PARTITION`), or ``None``.

    ``None`` when the header is absent or not a non-negative ASCII integer: the
    responses are then partitioned by their key, the correlation id.
    """
    value = header(headers, REPLY_PARTITION)
    return int(value) if value is not None and value.isascii() and value.isdigit() else None


def service_parameters(headers: Iterable[tuple[str, bytes]] | None) -> dict[str, str]:
    """The A2A service parameters carried by a request's headers (lower-cased names)."""
    return {
        key.lower(): raw.decode("utf-8", errors="replace")
        for key, raw in headers or ()
        if raw is not None and key.lower() not in BINDING_HEADERS
    }


#: Headers that carry credentials: never copied to a dead letter or a log.
CREDENTIAL_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key"}
)


def redact_headers(headers: Iterable[tuple[str, bytes]] | None) -> list[tuple[str, bytes]]:
    """``headers`` without the ones that carry credentials (:data:`CREDENTIAL_HEADERS`)."""
    return [(key, raw) for key, raw in headers or () if key.lower() not in CREDENTIAL_HEADERS]


def encode_json(payload: Mapping[str, Any]) -> bytes:
    """Compact UTF-8 JSON of a JSON-RPC object (``orjson``: a response record is encoded
    on the request path, about 20 times faster than the standard library's ``json``).

    Raises:
        TypeError: ``payload`` holds what JSON cannot: a key that is not a ``str``, an
            integer beyond 64 bits, an object of another type.
    """
    return orjson.dumps(payload)


def jsonrpc_request(method: str, params: Mapping[str, Any], request_id: str) -> dict[str, Any]:
    """A JSON-RPC 2.0 request object (JSON-RPC 2.0 §4)."""
    return {"jsonrpc": "2.0", "method": method, "params": dict(params), "id": request_id}

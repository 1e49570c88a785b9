"""The gateway's ``RequestHandler``: every A2A operation forwarded through ``KafkaTransport``.

a2a-sdk's HTTP routes (JSON-RPC and HTTP+JSON) parse a request, build a
``ServerCallContext`` and call a ``RequestHandler``; :class:`ForwardingHandler` is that
handler for one agent of the registry. It turns the server context into a
``ClientCallContext`` (the caller's service parameters, the gateway's deadline) and
makes the same call on the agent's :class:`app.transport.KafkaTransport`, so results
and A2A errors are the agent's own (``ListTasks`` is fanned out over the partitions by
the transport; streams are passed on event by event).

Failures of the path to the agent are not the agent's answer and get an HTTP status of
their own (see :class:`CallOutcome`): 503 while the broker is unreachable, 504 when the
agent gives no answer before the deadline.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from a2a.client import A2AClientError, A2AClientTimeoutError
from a2a.client.client import ClientCallContext
from a2a.extensions.common import HTTP_EXTENSION_HEADER
from a2a.server.context import ServerCallContext
from a2a.server.events import Event
from a2a.server.request_handlers import RequestHandler
from a2a.server.routes import DefaultServerCallContextBuilder
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
    Message,
    SendMessageRequest,
    StreamResponse,
    SubscribeToTaskRequest,
    Task,
    TaskPushNotificationConfig,
)
from a2a.utils.constants import VERSION_HEADER
from a2a.utils.errors import A2AError, InternalError
from starlette.requests import Request

from app.transport import KafkaTransport

logger = logging.getLogger(__name__)

#: The A2A service parameters (A2A 1.0 §3.2.6) passed from HTTP headers to Kafka
#: headers unchanged, plus W3C ``tracestate`` beside ``traceparent``.
SERVICE_PARAMETERS = (
    VERSION_HEADER.lower(),
    HTTP_EXTENSION_HEADER.lower(),
    "authorization",
    "traceparent",
    "tracestate",
)

_T = TypeVar("_T")


@dataclass
class CallOutcome:
    """What the gateway learnt about one HTTP request beyond the A2A answer.

    Attributes:
        status: HTTP status to answer with instead of a2a-sdk's (503 broker
            unreachable, 504 deadline passed); 0 keeps a2a-sdk's.
    """

    status: int = 0


#: The :class:`CallOutcome` of the HTTP request being served (set by the gateway's
#: middleware, filled in by :class:`ForwardingHandler`).
CALL_OUTCOME: contextvars.ContextVar[CallOutcome | None] = contextvars.ContextVar(
    "gateway_call_outcome", default=None
)


class ServiceParameterContextBuilder(DefaultServerCallContextBuilder):
    """a2a-sdk's context builder that also keeps the A2A service parameters.

    ``context.state["service_parameters"]`` maps each header of
    :data:`SERVICE_PARAMETERS` the request carries to its value (repeated headers
    joined with ``", "``, RFC 9110 §5.3).
    """

    def build(self, request: Request) -> ServerCallContext:
        """The ``ServerCallContext`` of ``request`` with its service parameters."""
        context = super().build(request)
        context.state["service_parameters"] = {
            name: ", ".join(values)
            for name in SERVICE_PARAMETERS
            if (values := request.headers.getlist(name))
        }
        return context


class BrokerProbe:
    """Whether the Kafka broker answers, checked in the background.

    A TCP connection to any of the bootstrap servers counts as reachable; the check runs
    every ``interval`` seconds and on demand (:meth:`check`), so a request during an
    outage is refused at once instead of waiting for its deadline.

    Args:
        bootstrap_servers: ``host:port[,host:port]``.
        interval: Seconds between background checks.
        connect_timeout: Seconds one connection attempt may take.
    """

    def __init__(
        self, bootstrap_servers: str, *, interval: float = 1.0, connect_timeout: float = 1.0
    ) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.available = True
        self._interval = interval
        self._connect_timeout = connect_timeout
        self._task: asyncio.Task[None] | None = None

    async def check(self) -> bool:
        """Connects to the bootstrap servers now; updates and returns :attr:`available`."""
        for server in self.bootstrap_servers.split(","):
            host, _, port = server.strip().rpartition(":")
            try:
                _, writer = await asyncio.wait_for(
                    asyncio.open_connection(host, int(port)), self._connect_timeout
                )
            except (OSError, TimeoutError, ValueError):
                continue
            writer.close()
            self.available = True
            return True
        if self.available:
            logger.warning("Kafka broker unreachable at %s", self.bootstrap_servers)
        self.available = False
        return False

    def start(self) -> None:
        """Starts the background checks."""
        self._task = asyncio.create_task(self._run(), name="gateway-broker-probe")

    async def stop(self) -> None:
        """Stops the background checks."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            was = self.available
            if await self.check() and not was:
                logger.warning("Kafka broker reachable again at %s", self.bootstrap_servers)
            await asyncio.sleep(self._interval)


class ForwardingHandler(RequestHandler):
    """An A2A ``RequestHandler`` that forwards every operation to one agent over Kafka.

    Args:
        agent: The agent's name (for messages).
        transport: Returns the agent's current transport (created on demand).
        discard: Called with a transport that failed, so the next call gets a new one.
        probe: Broker reachability.
        timeout: Deadline of every forwarded call, seconds; a call past it fails with
            an A2A ``InternalError`` ("deadline exceeded") and HTTP 504.
        card_view: Rewrites the extended card like the public one (gateway interfaces).

    Raises (from every ``on_*``):
        A2AError: the agent's own A2A error, unchanged; ``InternalError`` with HTTP 503
            when the broker is unreachable, 504 past the deadline, 502 for another
            failure of the Kafka client.
    """

    def __init__(
        self,
        agent: str,
        transport: Callable[[], KafkaTransport],
        discard: Callable[[KafkaTransport], None],
        probe: BrokerProbe,
        timeout: float,
        card_view: Callable[[AgentCard], AgentCard],
    ) -> None:
        self.agent = agent
        self._transport = transport
        self._discard = discard
        self._probe = probe
        self._timeout = timeout
        self._card_view = card_view

    def _client_context(self, context: ServerCallContext) -> ClientCallContext:
        return ClientCallContext(
            timeout=self._timeout,
            service_parameters=dict(context.state.get("service_parameters") or {}),
        )

    async def _failure(self, transport: KafkaTransport, exc: Exception) -> A2AError:
        """The A2A error (and HTTP status) for a failure on the way to the agent."""
        outcome = CALL_OUTCOME.get()
        if not await self._probe.check():
            status, error = 503, _unavailable(self._probe.bootstrap_servers)
        elif isinstance(exc, A2AClientTimeoutError):
            status, error = (
                504,
                InternalError(
                    message=f"Deadline exceeded: agent {self.agent!r} gave no answer within "
                    f"{self._timeout:g} s"
                ),
            )
        else:
            status, error = (
                502,
                InternalError(message=f"Kafka client failed calling agent {self.agent!r}: {exc}"),
            )
        if status != 504:
            self._discard(transport)
        if outcome is not None:
            outcome.status = status
        return error

    def _refuse_when_down(self) -> None:
        if not self._probe.available:
            outcome = CALL_OUTCOME.get()
            if outcome is not None:
                outcome.status = 503
            raise _unavailable(self._probe.bootstrap_servers)

    async def _forward(
        self,
        call: Callable[[KafkaTransport, ClientCallContext], Awaitable[_T]],
        context: ServerCallContext,
    ) -> _T:
        self._refuse_when_down()
        transport = self._transport()
        try:
            return await call(transport, self._client_context(context))
        except A2AError as exc:
            if isinstance(exc, A2AClientError):
                raise await self._failure(transport, exc) from exc
            raise
        except Exception as exc:
            raise await self._failure(transport, exc) from exc

    async def _forward_stream(
        self,
        call: Callable[[KafkaTransport, ClientCallContext], AsyncGenerator[StreamResponse]],
        context: ServerCallContext,
    ) -> AsyncGenerator[Event]:
        self._refuse_when_down()
        transport = self._transport()
        stream = call(transport, self._client_context(context))
        try:
            async for response in stream:
                payload = response.WhichOneof("payload")
                if payload:
                    yield getattr(response, payload)
        except A2AError as exc:
            if isinstance(exc, A2AClientError):
                raise await self._failure(transport, exc) from exc
            raise
        except Exception as exc:
            raise await self._failure(transport, exc) from exc
        finally:
            await stream.aclose()

    async def on_message_send(
        self, params: SendMessageRequest, context: ServerCallContext
    ) -> Task | Message:
        """``SendMessage``: the agent's Task or Message."""
        response = await self._forward(lambda t, c: t.send_message(params, context=c), context)
        return response.task if response.HasField("task") else response.message

    async def on_message_send_stream(
        self, params: SendMessageRequest, context: ServerCallContext
    ) -> AsyncGenerator[Event]:
        """``SendStreamingMessage``: the agent's events, one by one as they arrive."""
        async for event in self._forward_stream(
            lambda t, c: t.send_message_streaming(params, context=c), context
        ):
            yield event

    async def on_get_task(self, params: GetTaskRequest, context: ServerCallContext) -> Task:
        """``GetTask``."""
        return await self._forward(lambda t, c: t.get_task(params, context=c), context)

    async def on_list_tasks(
        self, params: ListTasksRequest, context: ServerCallContext
    ) -> ListTasksResponse:
        """``ListTasks`` over every partition (the transport fans out and merges)."""
        return await self._forward(lambda t, c: t.list_tasks(params, context=c), context)

    async def on_cancel_task(self, params: CancelTaskRequest, context: ServerCallContext) -> Task:
        """``CancelTask``."""
        return await self._forward(lambda t, c: t.cancel_task(params, context=c), context)

    async def on_subscribe_to_task(
        self, params: SubscribeToTaskRequest, context: ServerCallContext
    ) -> AsyncGenerator[Event]:
        """``SubscribeToTask``: the task, then its events as they arrive."""
        async for event in self._forward_stream(
            lambda t, c: t.subscribe(params, context=c), context
        ):
            yield event

    async def on_create_task_push_notification_config(
        self, params: TaskPushNotificationConfig, context: ServerCallContext
    ) -> TaskPushNotificationConfig:
        """``CreateTaskPushNotificationConfig``."""
        return await self._forward(
            lambda t, c: t.create_task_push_notification_config(params, context=c), context
        )

    async def on_get_task_push_notification_config(
        self, params: GetTaskPushNotificationConfigRequest, context: ServerCallContext
    ) -> TaskPushNotificationConfig:
        """``GetTaskPushNotificationConfig``."""
        return await self._forward(
            lambda t, c: t.get_task_push_notification_config(params, context=c), context
        )

    async def on_list_task_push_notification_configs(
        self, params: ListTaskPushNotificationConfigsRequest, context: ServerCallContext
    ) -> ListTaskPushNotificationConfigsResponse:
        """``ListTaskPushNotificationConfigs``."""
        return await self._forward(
            lambda t, c: t.list_task_push_notification_configs(params, context=c), context
        )

    async def on_delete_task_push_notification_config(
        self, params: DeleteTaskPushNotificationConfigRequest, context: ServerCallContext
    ) -> None:
        """``DeleteTaskPushNotificationConfig``."""
        await self._forward(
            lambda t, c: t.delete_task_push_notification_config(params, context=c), context
        )

    async def on_get_extended_agent_card(
        self, params: GetExtendedAgentCardRequest, context: ServerCallContext
    ) -> AgentCard:
        """``GetExtendedAgentCard``, with the gateway's interfaces like the public card."""
        card = await self._forward(
            lambda t, c: t.get_extended_agent_card(params, context=c), context
        )
        return self._card_view(card)


def _unavailable(bootstrap_servers: str) -> InternalError:
    return InternalError(
        message=f"Service unavailable: the Kafka broker at {bootstrap_servers} is "
        "unreachable; retry later"
    )

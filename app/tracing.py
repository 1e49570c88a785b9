"""W3C trace context (``traceparent``/``tracestate``) through workers, peer calls and pushes.

Built on the OpenTelemetry *API* only; an application (or ``faust-a2a[tracing]``)
installs the SDK and a ``TracerProvider``. Until one is installed every function
here returns at once: :func:`enabled` is false while the global provider is the
API's default proxy or no-op provider, and then no span is created, no header
parsed or written (the cost is one ``isinstance`` check per call).

* :func:`server_span`: continues a request record's ``traceparent`` (W3C Trace
  Context, https://www.w3.org/TR/trace-context/) with a ``SERVER`` span per request;
* :func:`span`: an internal span (the executor run, a push delivery);
* :func:`inject`: writes the current context into Kafka record headers (peer calls,
  responses, push outbox records) or a webhook's HTTP headers;
* :func:`extract`: the context carried by record headers.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, MutableMapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

from a2a.server.agent_execution import AgentExecutor, RequestContext
from a2a.server.events import EventQueue
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.propagators.textmap import Getter
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

#: Name of this project's tracer (instrumentation scope).
TRACER_NAME = "faust_a2a"

#: Span kinds, re-exported so callers need not import OpenTelemetry.
SpanKind = trace.SpanKind

_PROPAGATOR = TraceContextTextMapPropagator()
_DISABLED = (trace.ProxyTracerProvider, trace.NoOpTracerProvider)


def enabled() -> bool:
    """Whether a real ``TracerProvider`` is installed (else tracing costs nothing)."""
    return not isinstance(trace.get_tracer_provider(), _DISABLED)


class _HeaderGetter(Getter[Iterable[tuple[str, bytes]]]):
    """Reads Kafka record headers (``[(name, bytes)]``) for the propagator."""

    def get(self, carrier: Iterable[tuple[str, bytes]], key: str) -> list[str] | None:
        values = [
            value.decode("latin-1")
            for name, value in carrier
            if name.lower() == key and value is not None
        ]
        return values or None

    def keys(self, carrier: Iterable[tuple[str, bytes]]) -> list[str]:
        return [name.lower() for name, _ in carrier]


_GETTER = _HeaderGetter()


def extract(headers: Iterable[tuple[str, bytes]] | None) -> otel_context.Context | None:
    """The OpenTelemetry context of ``traceparent``/``tracestate`` in record headers.

    ``None`` when tracing is off; an empty context when the headers carry none or a
    malformed one (the propagator ignores it, W3C Trace Context §3.2.2.1).
    """
    if not enabled():
        return None
    return _PROPAGATOR.extract(list(headers or ()), getter=_GETTER)


def inject(headers: list[tuple[str, bytes]]) -> None:
    """Appends ``traceparent`` (and ``tracestate``) of the current span to ``headers``.

    Existing ``traceparent``/``tracestate`` entries are replaced. A no-op when
    tracing is off or there is no current span.
    """
    if not enabled():
        return
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier)
    if not carrier:
        return
    headers[:] = [(k, v) for k, v in headers if k.lower() not in carrier]
    headers.extend((name, value.encode("latin-1")) for name, value in carrier.items())


def inject_http(headers: MutableMapping[str, str]) -> None:
    """Sets ``traceparent`` (and ``tracestate``) of the current span in HTTP headers."""
    if enabled():
        _PROPAGATOR.inject(headers)


def current_trace_id() -> str | None:
    """The current span's trace id (32 hex digits), or ``None`` when there is none."""
    if not enabled():
        return None
    span_context = trace.get_current_span().get_span_context()
    return format(span_context.trace_id, "032x") if span_context.is_valid else None


#: What :func:`server_span` and :func:`span` return when tracing is off (reusable).
_OFF: AbstractContextManager[None] = nullcontext()


def server_span(
    name: str, headers: Iterable[tuple[str, bytes]] | None, attributes: dict[str, Any]
) -> AbstractContextManager[trace.Span | None]:
    """A ``SERVER`` span continuing the trace in ``headers`` (yields ``None`` when off).

    Args:
        name: Span name, e.g. ``"balance SendMessage"``.
        headers: The request record's headers.
        attributes: Span attributes (``a2a.agent``, Kafka coordinates).
    """
    if not enabled():
        return _OFF
    return _server_span(name, headers, attributes)


@contextmanager
def _server_span(
    name: str, headers: Iterable[tuple[str, bytes]] | None, attributes: dict[str, Any]
) -> Iterator[trace.Span]:
    parent = _PROPAGATOR.extract(list(headers or ()), getter=_GETTER)
    tracer = trace.get_tracer(TRACER_NAME)
    with tracer.start_as_current_span(
        name, context=parent, kind=trace.SpanKind.SERVER, attributes=attributes
    ) as current:
        yield current


def span(
    name: str,
    attributes: dict[str, Any] | None = None,
    *,
    kind: trace.SpanKind = trace.SpanKind.INTERNAL,
    parent_headers: Iterable[tuple[str, bytes]] | None = None,
) -> AbstractContextManager[trace.Span | None]:
    """A span under the current one, or under ``parent_headers``' context when given.

    Yields ``None`` (and creates nothing) when tracing is off.
    """
    if not enabled():
        return _OFF
    return _span(name, attributes, kind, parent_headers)


@contextmanager
def _span(
    name: str,
    attributes: dict[str, Any] | None,
    kind: trace.SpanKind,
    parent_headers: Iterable[tuple[str, bytes]] | None,
) -> Iterator[trace.Span]:
    parent = (
        _PROPAGATOR.extract(list(parent_headers), getter=_GETTER)
        if parent_headers is not None
        else None
    )
    tracer = trace.get_tracer(TRACER_NAME)
    with tracer.start_as_current_span(
        name, context=parent, kind=kind, attributes=attributes
    ) as current:
        yield current


class TracedExecutor(AgentExecutor):
    """Wraps an ``AgentExecutor`` in an ``<agent> execute`` / ``<agent> cancel`` span.

    The span is a child of the request's span (the executor runs in a task created
    while handling the request, which copies the context), so peer calls made by the
    executor are its children. Calls straight through when tracing is off.

    Args:
        inner: The agent's executor.
        agent: The hosted agent's name.
    """

    def __init__(self, inner: AgentExecutor, agent: str) -> None:
        self.inner = inner
        self._agent = agent

    async def execute(self, context: RequestContext, event_queue: EventQueue) -> None:
        """Runs the inner executor inside a span."""
        if not enabled():
            await self.inner.execute(context, event_queue)
            return
        attributes = {"a2a.agent": self._agent, "a2a.task_id": str(context.task_id or "")}
        with span(f"{self._agent} execute", attributes):
            await self.inner.execute(context, event_queue)

    async def cancel(self, context: RequestContext, event_queue: EventQueue) -> None:
        """Cancels through the inner executor inside a span."""
        if not enabled():
            await self.inner.cancel(context, event_queue)
            return
        attributes = {"a2a.agent": self._agent, "a2a.task_id": str(context.task_id or "")}
        with span(f"{self._agent} cancel", attributes):
            await self.inner.cancel(context, event_queue)

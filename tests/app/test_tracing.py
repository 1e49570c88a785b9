"""W3C trace context: nothing happens without a tracer; with one, spans continue and inject."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from typing import cast

from a2a.server.agent_execution import AgentExecutor, RequestContext
from a2a.server.events import EventQueue
from opentelemetry import trace
from support.processes import ROOT
from support.tracing import in_memory_exporter

from app import tracing

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"
TRACEPARENT = f"00-{TRACE_ID}-{PARENT_ID}-01"


def test_without_a_tracer_provider_nothing_is_created_or_written() -> None:
    code = textwrap.dedent(
        """
        from opentelemetry import trace
        from app import tracing

        assert not tracing.enabled()
        headers = [("traceparent", b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")]
        with tracing.server_span("a SendMessage", headers, {}) as span:
            assert span is None
            assert not trace.get_current_span().get_span_context().is_valid
            out = [("correlation-id", b"1")]
            tracing.inject(out)
            assert out == [("correlation-id", b"1")]
            assert tracing.current_trace_id() is None
            assert tracing.extract(headers) is None
        with tracing.span("x") as inner:
            assert inner is None
        print("ok")
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr


def test_a_request_continues_the_callers_trace_and_injects_it() -> None:
    exporter = in_memory_exporter()
    headers = [("traceparent", TRACEPARENT.encode()), ("correlation-id", b"c1")]
    with tracing.server_span("data SendMessage", headers, {"a2a.agent": "data"}) as span:
        assert span is not None
        assert tracing.current_trace_id() == TRACE_ID
        out = [("traceparent", b"00-stale"), ("correlation-id", b"c1")]
        tracing.inject(out)
        with tracing.span("data execute"):
            http: dict[str, str] = {}
            tracing.inject_http(http)
    (execute, server) = exporter.get_finished_spans()
    assert server.name == "data SendMessage" and server.kind == trace.SpanKind.SERVER
    assert format(server.context.trace_id, "032x") == TRACE_ID
    assert server.parent is not None and format(server.parent.span_id, "016x") == PARENT_ID
    assert execute.parent is not None and execute.parent.span_id == server.context.span_id
    (value,) = [v for k, v in out if k == "traceparent"]
    assert value.decode() == f"00-{TRACE_ID}-{server.context.span_id:016x}-01"
    assert ("correlation-id", b"c1") in out
    assert http["traceparent"] == f"00-{TRACE_ID}-{execute.context.span_id:016x}-01"


def test_a_malformed_traceparent_starts_a_new_trace() -> None:
    exporter = in_memory_exporter()
    with tracing.server_span("data GetTask", [("traceparent", b"garbage")], {}):
        pass
    (server,) = exporter.get_finished_spans()
    assert server.parent is None
    assert format(server.context.trace_id, "032x") != TRACE_ID


class _Recorder(AgentExecutor):
    def __init__(self) -> None:
        self.trace_ids: list[str | None] = []

    async def execute(self, context: RequestContext, event_queue: EventQueue) -> None:
        self.trace_ids.append(tracing.current_trace_id())

    async def cancel(self, context: RequestContext, event_queue: EventQueue) -> None:
        self.trace_ids.append(None)


async def test_the_executor_runs_in_its_own_span() -> None:
    exporter = in_memory_exporter()
    inner = _Recorder()
    executor = tracing.TracedExecutor(inner, "data")
    with tracing.server_span("data SendMessage", [("traceparent", TRACEPARENT.encode())], {}):
        await executor.execute(RequestContext(None), cast(EventQueue, object()))
    (execute, server) = exporter.get_finished_spans()
    assert execute.name == "data execute"
    assert execute.parent is not None and execute.parent.span_id == server.context.span_id
    assert inner.trace_ids == [TRACE_ID]

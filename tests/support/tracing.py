"""The OpenTelemetry SDK in the test process: one global provider, an exporter per test."""

from __future__ import annotations

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter


def in_memory_exporter() -> InMemorySpanExporter:
    """A fresh in-memory exporter on the process's SDK ``TracerProvider``.

    The global provider can be set once per process: the first call installs it (from
    then on this test process traces); later calls add another exporter to it.
    """
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return exporter

"""The observability tests' app: every demo agent plus ``slow``, renamed ``<prefix><name>``.

Run as ``faust -A support.obs_app worker`` from ``tests/``. Agents are renamed with
``TEST_AGENT_PREFIX`` (their topics belong to one test module alone); ``balance``
asks ``<prefix>data`` and ``<prefix>cs``. With ``TEST_TRACE_FILE`` set it installs the
OpenTelemetry SDK with a test-only exporter writing one JSON span per line to that
file, so a test can read the worker's spans. Push tests set
``FAUST_A2A_PUSH_ALLOW=127.0.0.1/32`` to reach their receiver.
"""

import dataclasses
import os

from agents import AGENTS
from agents.spec import AgentSpec, PeerCaller
from app.service import create_worker
from support.slow_agent import SPEC as SLOW

PREFIX = os.environ["TEST_AGENT_PREFIX"]
TRACE_FILE = os.environ.get("TEST_TRACE_FILE")

if TRACE_FILE:
    from opentelemetry import trace
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SimpleSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": "faust-a2a-worker"}))
    spans = open(TRACE_FILE, "a", buffering=1)  # noqa: SIM115 - open for the process's life
    provider.add_span_processor(
        SimpleSpanProcessor(
            ConsoleSpanExporter(out=spans, formatter=lambda span: span.to_json(indent=None) + "\n")
        )
    )
    trace.set_tracer_provider(provider)


class PrefixedPeers:
    """A ``PeerCaller`` that asks ``<prefix><agent>``."""

    def __init__(self, inner: PeerCaller) -> None:
        self._inner = inner

    async def __call__(self, agent: str, text: str) -> str:
        return await self._inner(f"{PREFIX}{agent}", text)


def renamed(spec: AgentSpec) -> AgentSpec:
    """``spec`` hosted as ``<prefix><name>``, its peers prefixed too."""
    make = spec.make_executor
    return dataclasses.replace(
        spec,
        name=f"{PREFIX}{spec.name}",
        make_executor=lambda peers: make(PrefixedPeers(peers)),
    )


worker = create_worker({f"{PREFIX}{s.name}": renamed(s) for s in (*AGENTS.values(), SLOW)})
app = worker.app

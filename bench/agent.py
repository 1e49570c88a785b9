"""The benchmark agent: the smallest task that still exercises a whole A2A exchange.

For every message, :class:`EchoExecutor` emits a ``working`` status update, one
artifact update whose text is the message's text, and a ``completed`` status update,
after the ``submitted`` Task itself that a2a-sdk 1.3 requires first
(:func:`agents.lifecycle.open_task`). The same executor runs in the faust-a2a worker
(:mod:`bench.worker_app`) and behind a2a-sdk's HTTP server (:mod:`bench.http_server`).
"""

from __future__ import annotations

from a2a.helpers import new_text_part
from a2a.server.agent_execution import AgentExecutor, RequestContext
from a2a.server.events import EventQueue
from a2a.server.tasks import TaskUpdater
from a2a.types import AgentCapabilities, AgentCard, AgentInterface, AgentSkill
from a2a.utils.constants import PROTOCOL_VERSION_CURRENT, TransportProtocol

from agents.lifecycle import open_task
from agents.spec import AgentSpec, PeerCaller

#: The agent's name; its topics are ``agent.bench.requests`` / ``.responses``.
NAME = "bench"
#: Name of the artifact that echoes the message.
ARTIFACT = "echo"
#: Partitions of the agent's topics (and of the raw echo's) in the benchmark.
PARTITIONS = 8


class EchoExecutor(AgentExecutor):
    """Working → one artifact echoing the text → completed."""

    async def execute(self, context: RequestContext, event_queue: EventQueue) -> None:
        """Emits the task, then its three events."""
        updater = await open_task(context, event_queue)
        await updater.start_work()
        await updater.add_artifact(
            [new_text_part(context.get_user_input())], name=ARTIFACT, last_chunk=True
        )
        await updater.complete()

    async def cancel(self, context: RequestContext, event_queue: EventQueue) -> None:
        """Marks the task canceled."""
        await TaskUpdater(event_queue, str(context.task_id), str(context.context_id)).cancel()


def _make(_: PeerCaller) -> AgentExecutor:
    return EchoExecutor()


def spec(name: str = NAME) -> AgentSpec:
    """The benchmark agent under ``name`` (its topics are ``agent.<name>.*``): each
    faust-a2a target hosts it under a name of its own, so that two targets' workers
    never answer the same requests."""
    return AgentSpec(
        name=name,
        description="Benchmark agent: echoes each message as an artifact and completes.",
        skills=(
            AgentSkill(id="echo", name="Echo", description="Echoes the text.", tags=["bench"]),
        ),
        make_executor=_make,
    )


SPEC = spec()


def http_card(url: str) -> AgentCard:
    """The agent's card with one JSON-RPC interface at ``url`` (a2a-sdk's HTTP server)."""
    return AgentCard(
        name=SPEC.name,
        description=SPEC.description,
        version="0.1.0",
        supported_interfaces=[
            AgentInterface(
                url=url,
                protocol_binding=TransportProtocol.JSONRPC,
                protocol_version=PROTOCOL_VERSION_CURRENT,
            )
        ],
        capabilities=AgentCapabilities(streaming=True),
        default_input_modes=list(SPEC.input_modes),
        default_output_modes=list(SPEC.output_modes),
        skills=list(SPEC.skills),
    )

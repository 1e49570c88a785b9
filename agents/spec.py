"""What a hosted agent is: a name, a card's worth of metadata and an executor.

The worker (``app``) turns every :class:`AgentSpec` in :data:`agents.AGENTS` into a
Faust agent on ``agent.<name>.requests`` and an A2A ``AgentCard`` published to
``agent.registry``. The spec knows nothing of Kafka: an executor gets what it needs
from other agents through the :class:`PeerCaller` it is built with.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, Protocol

from a2a.server.agent_execution import AgentExecutor
from a2a.types import AgentSkill


class PeerCaller(Protocol):
    """Asks another hosted agent a question and returns its final answer as text.

    Implemented over Kafka by ``app.peers.KafkaPeerCaller``. Raises
    ``a2a.client.A2AClientError`` (or a subclass such as ``A2AClientTimeoutError``)
    when the peer cannot answer.
    """

    async def __call__(self, agent: str, text: str) -> str:
        """Sends ``text`` to ``agent`` and returns the text of its final artifact or message."""
        ...


@dataclass(frozen=True)
class AgentSpec:
    """A hosted A2A agent.

    Attributes:
        name: The agent's name; its topics are ``agent.<name>.requests`` / ``.responses``.
        description: One sentence for the AgentCard.
        skills: The AgentCard's skills.
        make_executor: Builds the executor; receives a :class:`PeerCaller` for agents
            that call other agents (most ignore it).
        streaming: Whether the card advertises streaming (``SendStreamingMessage``).
        recovery: What the worker does with this agent's tasks that were running on a
            worker that died (found when their partition is assigned again, or when a
            request reaches them): ``"rerun"`` runs the executor again with the task
            as stored (at-least-once: the executor must be safe to repeat);
            ``"fail"`` (default, the safe choice for agents with side effects) ends
            them ``failed`` with a message telling the caller it may retry.
        extended_skills: Skills only the authenticated extended card shows
            (``GetExtendedAgentCard``, A2A 1.0 §3.1.11); default none.
    """

    name: str
    description: str
    skills: tuple[AgentSkill, ...]
    make_executor: Callable[[PeerCaller], AgentExecutor]
    streaming: bool = True
    recovery: Literal["rerun", "fail"] = "fail"
    input_modes: tuple[str, ...] = field(default=("text/plain",))
    output_modes: tuple[str, ...] = field(default=("text/plain",))
    extended_skills: tuple[AgentSkill, ...] = ()

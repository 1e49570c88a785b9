"""The hosted demo agents: a game-balance team (``balance``, ``data``, ``cs``).

:data:`AGENTS` maps each agent's name to its :class:`~agents.spec.AgentSpec`; the
worker serves every entry. All three work offline and deterministically from bundled
data (``agents/data/matches.csv``, ``agents/cs/posts.jsonl``).
"""

from agents import balance, cs, data
from agents.spec import AgentSpec

AGENTS: dict[str, AgentSpec] = {spec.name: spec for spec in (data.SPEC, cs.SPEC, balance.SPEC)}

__all__ = ["AGENTS", "AgentSpec"]

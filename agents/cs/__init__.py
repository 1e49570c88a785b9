"""The ``cs`` agent: player complaints and feedback per race, from forum posts."""

from a2a.types import AgentSkill

from agents.cs.executor import CsExecutor
from agents.spec import AgentSpec

SPEC = AgentSpec(
    name="cs",
    description="Customer-support analyst: summarises forum complaints and feedback "
    "per race, streaming its reasoning.",
    skills=(
        AgentSkill(
            id="player-feedback",
            name="Player feedback",
            description="Post count, share of negative posts and top complaint topics "
            "for the races named (all three when none is).",
            tags=["feedback", "complaints", "sentiment"],
            examples=["What do players complain about with Terran?", "Player feedback"],
        ),
    ),
    make_executor=lambda _peers: CsExecutor(),
    recovery="rerun",  # answers are computed from data: safe to run again
)

"""The ``data`` agent: ladder statistics (win rate, average game length) per race."""

from a2a.types import AgentSkill

from agents.data.executor import DataExecutor
from agents.spec import AgentSpec

SPEC = AgentSpec(
    name="data",
    description="Game statistics analyst: per-race win rate and average game length "
    "over the bundled ladder matches.",
    skills=(
        AgentSkill(
            id="race-win-rate",
            name="Race win rate",
            description="Share of games a race won (mirror-free ladder matches). "
            "Asks which race when the question names none.",
            tags=["statistics", "win-rate", "balance"],
            examples=["What is Terran's win rate?", "Protoss vs Terran win rate"],
        ),
        AgentSkill(
            id="average-game-length",
            name="Average game length",
            description="Mean duration, in minutes, of the games a race played.",
            tags=["statistics", "game-length"],
            examples=["How long are Zerg games?"],
        ),
    ),
    make_executor=lambda _peers: DataExecutor(),
    recovery="rerun",  # answers are computed from data: safe to run again
)

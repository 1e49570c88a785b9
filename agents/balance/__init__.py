"""The ``balance`` agent: the coordinator that asks ``data`` and ``cs`` for a verdict."""

from a2a.types import AgentSkill

from agents.balance.executor import BalanceExecutor
from agents.spec import AgentSpec

SPEC = AgentSpec(
    name="balance",
    description="Game-balance coordinator: asks the data and cs agents in parallel and "
    "merges statistics and player sentiment into one verdict per race.",
    skills=(
        AgentSkill(
            id="balance-review",
            name="Balance review",
            description="Win rate, game length and player sentiment for the races named "
            "(all three when none is), with a verdict such as 'likely overpowered'.",
            tags=["balance", "coordinator", "verdict"],
            examples=["Is Terran too strong?", "Review the balance of Zerg vs Protoss"],
        ),
    ),
    make_executor=BalanceExecutor,
    recovery="rerun",  # answers are computed from data: safe to run again
)

"""``agents.AGENTS``: the three specs and the cards built from them."""

from __future__ import annotations

from a2a.server.agent_execution import AgentExecutor
from a2a.utils.proto_utils import validate_proto_required_fields
from agents_harness import card_for

from agents import AGENTS
from agents.balance.executor import BalanceExecutor
from agents.cs.executor import CsExecutor
from agents.data.executor import DataExecutor


async def _no_peers(agent: str, text: str) -> str:
    raise AssertionError("not called")


def test_the_three_agents() -> None:
    assert list(AGENTS) == ["data", "cs", "balance"]
    for name, spec in AGENTS.items():
        assert spec.name == name
        assert spec.description
        assert spec.skills
        for skill in spec.skills:
            assert skill.id and skill.name and skill.description
            assert skill.tags and skill.examples


def test_executors() -> None:
    kinds = {"data": DataExecutor, "cs": CsExecutor, "balance": BalanceExecutor}
    for name, spec in AGENTS.items():
        executor = spec.make_executor(_no_peers)
        assert isinstance(executor, AgentExecutor)
        assert type(executor) is kinds[name]


def test_cards_are_spec_compliant() -> None:
    for spec in AGENTS.values():
        validate_proto_required_fields(card_for(spec))

"""An app with caller authentication on, isolated from the session worker by names.

Hosts ``data``, ``cs``, ``balance`` and ``slow`` renamed ``<prefix><name>``
(``TEST_AGENT_PREFIX``); ``balance`` asks ``<prefix>data`` and ``<prefix>cs``. ``slow``
has a skill only its authenticated extended card shows. Authentication comes from the
``FAUST_A2A_JWT_*`` environment the test gives the worker.
"""

import dataclasses
import os

from agents import AGENTS
from agents.balance.executor import BalanceExecutor
from agents.spec import AgentSpec, PeerCaller
from app.service import create_worker
from support.slow_agent import EXTENDED_SKILL
from support.slow_agent import SPEC as SLOW

PREFIX = os.environ["TEST_AGENT_PREFIX"]


def _balance(peers: PeerCaller) -> BalanceExecutor:
    async def ask(agent: str, text: str) -> str:
        return await peers(f"{PREFIX}{agent}", text)

    return BalanceExecutor(ask)


def _renamed(spec: AgentSpec, **changes: object) -> AgentSpec:
    return dataclasses.replace(spec, name=f"{PREFIX}{spec.name}", **changes)  # type: ignore[arg-type]


SPECS = {
    spec.name: spec
    for spec in (
        _renamed(AGENTS["data"]),
        _renamed(AGENTS["cs"]),
        _renamed(AGENTS["balance"], make_executor=_balance),
        _renamed(SLOW, extended_skills=(EXTENDED_SKILL,)),
    )
}
worker = create_worker(SPECS)
app = worker.app

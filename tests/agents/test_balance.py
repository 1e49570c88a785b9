"""The balance coordinator: verdict rule, merging real peers' answers, failing cleanly."""

from __future__ import annotations

import asyncio
import csv
import json

import pytest
from a2a.client import A2AClientTimeoutError
from a2a.types import Role, TaskState
from agents_harness import InProcessPeers, Serve, artifact_texts, send, status_text, user_message

from agents import AGENTS
from agents.balance.executor import BalanceExecutor
from agents.balance.report import MissingFigureError, build_report, verdict
from agents.cs.feedback import POSTS_JSONL
from agents.data.stats import MATCHES_CSV


def win_rate(race: str) -> float:
    """``race``'s win rate in percent, from the CSV."""
    with MATCHES_CSV.open(newline="", encoding="utf-8") as handle:
        played = [r for r in csv.DictReader(handle) if race in (r["race_1"], r["race_2"])]
    return 100 * sum(r["winner"] == race for r in played) / len(played)


def sentiment(race: str) -> tuple[int, float]:
    """(posts about ``race``, percent of them negative), from the JSONL."""
    with POSTS_JSONL.open(encoding="utf-8") as handle:
        about = [p for p in map(json.loads, handle) if p["race"] == race]
    return len(about), 100 * sum(p["sentiment"] == "negative" for p in about) / len(about)


@pytest.mark.parametrize(
    ("rate", "negative", "expected"),
    [
        (0.55, 0.60, "likely overpowered"),
        (0.55, 0.50, "strong on paper, players calm: keep watching"),
        (0.52, 0.60, "players unhappy, win rate normal: perception issue"),
        (0.47, 0.60, "players unhappy, win rate normal: perception issue"),
        (0.47, 0.40, "likely underpowered"),
        (0.48, 0.40, "balanced"),
        (0.50, 0.50, "balanced"),
    ],
)
def test_verdict_rule(rate: float, negative: float, expected: str) -> None:
    assert verdict(rate, negative) == expected


def test_report_needs_both_figures_for_every_race() -> None:
    data = "Terran win rate: 55.0% over 10 games"
    cs = "Terran: 10 posts, 60.0% negative. Top complaints: none."
    assert build_report(["Terran"], data, cs).endswith(
        "Terran: likely overpowered (win rate 55.0%, 60.0% of posts negative)"
    )
    with pytest.raises(MissingFigureError, match="no Zerg win rate"):
        build_report(["Terran", "Zerg"], data, cs)
    with pytest.raises(MissingFigureError, match="no Terran negative share"):
        build_report(["Terran"], data, "nothing to say")


@pytest.fixture
def peers(serve: Serve) -> InProcessPeers:
    """Real data and cs executors, each behind its own DefaultRequestHandler."""
    return InProcessPeers(
        {
            name: serve(AGENTS[name], AGENTS[name].make_executor(_unused_peer_caller))
            for name in ("data", "cs")
        }
    )


async def _unused_peer_caller(agent: str, text: str) -> str:
    raise AssertionError(f"data and cs call no peers (asked {agent}: {text})")


async def test_is_terran_too_strong(serve: Serve, peers: InProcessPeers) -> None:
    handler = serve(AGENTS["balance"], BalanceExecutor(peers))
    task = await asyncio.wait_for(send(handler, user_message("Is Terran too strong?")), 5)

    assert task.status.state == TaskState.TASK_STATE_COMPLETED
    assert sorted(agent for agent, _ in peers.asked) == ["cs", "data"]
    assert [a.name for a in task.artifacts] == ["balance-report"]
    report = artifact_texts(task)["balance-report"]
    rate, (posts, negative) = win_rate("Terran"), sentiment("Terran")
    assert rate > 52 and negative > 50
    assert f"Terran win rate: {rate:.1f}% over " in report
    assert "Terran average game length: " in report
    assert f"Terran: {posts} posts, {negative:.1f}% negative. Top complaints: " in report
    assert report.splitlines()[-1] == (
        f"Terran: likely overpowered (win rate {rate:.1f}%, {negative:.1f}% of posts negative)"
    )
    assert "Zerg" not in report and "Protoss" not in report


async def test_peers_are_asked_concurrently(serve: Serve, peers: InProcessPeers) -> None:
    both_waiting = asyncio.Barrier(2)

    async def rendezvous(agent: str, text: str) -> str:
        # A sequential coordinator never gets the second call here: the barrier times out.
        await asyncio.wait_for(both_waiting.wait(), 2)
        return await peers(agent, text)

    handler = serve(AGENTS["balance"], BalanceExecutor(rendezvous))
    task = await send(handler, user_message("Is Zerg too strong?"))
    assert task.status.state == TaskState.TASK_STATE_COMPLETED, status_text(task)


async def test_no_race_reviews_all_three(serve: Serve, peers: InProcessPeers) -> None:
    handler = serve(AGENTS["balance"], BalanceExecutor(peers))
    task = await send(handler, user_message("How is the balance?"))
    report = artifact_texts(task)["balance-report"]
    verdicts = report.split("Verdict:\n")[1].splitlines()
    assert [line.split(":")[0] for line in verdicts] == ["Terran", "Zerg", "Protoss"]
    for agent, text in peers.asked:
        assert "Terran, Zerg and Protoss" in text, agent


async def test_a_failing_peer_fails_the_task(serve: Serve, peers: InProcessPeers) -> None:
    async def cs_times_out(agent: str, text: str) -> str:
        if agent == "cs":
            raise A2AClientTimeoutError("no answer within 30s")
        return await peers(agent, text)

    handler = serve(AGENTS["balance"], BalanceExecutor(cs_times_out))
    task = await asyncio.wait_for(send(handler, user_message("Is Protoss too strong?")), 5)

    assert task.status.state == TaskState.TASK_STATE_FAILED
    assert task.status.message.role == Role.ROLE_AGENT
    assert status_text(task) == (
        "Balance review of Protoss failed: "
        "the cs agent failed: A2AClientTimeoutError: no answer within 30s."
    )
    assert not task.artifacts


async def test_an_unreadable_peer_answer_fails_the_task(serve: Serve) -> None:
    async def vague(agent: str, text: str) -> str:
        return "It depends."

    handler = serve(AGENTS["balance"], BalanceExecutor(vague))
    task = await send(handler, user_message("Is Terran too strong?"))
    assert task.status.state == TaskState.TASK_STATE_FAILED
    assert status_text(task) == (
        "Balance review of Terran failed: the data agent's answer has no Terran win rate."
    )

"""The data agent through a2a-sdk's DefaultRequestHandler: answers and the clarifying turn."""

from __future__ import annotations

import csv

from a2a.helpers import get_message_text
from a2a.server.context import ServerCallContext
from a2a.types import CancelTaskRequest, GetTaskRequest, Role, TaskState
from agents_harness import Serve, artifact_texts, send, status_text, user_message

from agents.data import SPEC
from agents.data.executor import WHICH_RACE, DataExecutor
from agents.data.stats import MATCHES_CSV


def figures(race: str) -> tuple[str, str]:
    """The expected (win-rate line, game-length line), computed from the CSV here."""
    with MATCHES_CSV.open(newline="", encoding="utf-8") as handle:
        played = [r for r in csv.DictReader(handle) if race in (r["race_1"], r["race_2"])]
    games = len(played)
    rate = 100 * sum(r["winner"] == race for r in played) / games
    minutes = sum(int(r["duration_seconds"]) for r in played) / games / 60
    return (
        f"{race} win rate: {rate:.1f}% over {games} games",
        f"{race} average game length: {minutes:.1f} minutes over {games} games",
    )


async def test_question_naming_a_race_is_answered(serve: Serve) -> None:
    handler = serve(SPEC, DataExecutor())
    task = await send(handler, user_message("What is the Terran win rate?"))
    assert task.status.state == TaskState.TASK_STATE_COMPLETED
    assert artifact_texts(task) == {"statistics": figures("Terran")[0]}


async def test_plural_and_case_and_game_length(serve: Serve) -> None:
    handler = serve(SPEC, DataExecutor())
    task = await send(handler, user_message("how long do games against ZERGS last?"))
    assert artifact_texts(task) == {"statistics": figures("Zerg")[1]}


async def test_each_named_race_is_answered_with_both_figures_when_unclear(serve: Serve) -> None:
    handler = serve(SPEC, DataExecutor())
    task = await send(handler, user_message("Protoss vs Terran?"))
    assert artifact_texts(task)["statistics"].splitlines() == [
        *figures("Protoss"),
        *figures("Terran"),
    ]


async def test_no_race_asks_then_the_same_task_continues(serve: Serve) -> None:
    handler = serve(SPEC, DataExecutor())
    first = await send(handler, user_message("What's the win rate these days?"))
    assert first.status.state == TaskState.TASK_STATE_INPUT_REQUIRED
    assert first.status.message.role == Role.ROLE_AGENT
    assert status_text(first) == WHICH_RACE == "Which race? Terran, Zerg or Protoss?"
    assert not first.artifacts

    second = await send(
        handler, user_message("Zerg", context_id=first.context_id, task_id=first.id)
    )
    assert second.id == first.id
    assert second.status.state == TaskState.TASK_STATE_COMPLETED
    assert artifact_texts(second) == {"statistics": figures("Zerg")[0]}
    assert [(m.role, get_message_text(m)) for m in second.history] == [
        (Role.ROLE_USER, "What's the win rate these days?"),
        (Role.ROLE_AGENT, WHICH_RACE),
        (Role.ROLE_USER, "Zerg"),
    ]


async def test_no_race_twice_asks_twice_then_uses_the_original_question(serve: Serve) -> None:
    handler = serve(SPEC, DataExecutor())
    first = await send(handler, user_message("How long are games?"))
    again = await send(
        handler, user_message("not sure", context_id=first.context_id, task_id=first.id)
    )
    assert again.status.state == TaskState.TASK_STATE_INPUT_REQUIRED
    assert status_text(again) == WHICH_RACE
    done = await send(
        handler, user_message("protoss", context_id=first.context_id, task_id=first.id)
    )
    assert artifact_texts(done) == {"statistics": figures("Protoss")[1]}


async def test_follow_up_as_a_new_task_in_the_same_context(serve: Serve) -> None:
    handler = serve(SPEC, DataExecutor(), populate_referred_tasks=True)
    first = await send(handler, user_message("How long are games on average?"))
    assert first.status.state == TaskState.TASK_STATE_INPUT_REQUIRED

    follow_up = user_message("terrans", context_id=first.context_id, reference_task_ids=[first.id])
    second = await send(handler, follow_up)
    assert second.id != first.id
    assert second.context_id == first.context_id
    assert second.status.state == TaskState.TASK_STATE_COMPLETED
    assert artifact_texts(second) == {"statistics": figures("Terran")[1]}

    earlier = await handler.on_get_task(GetTaskRequest(id=first.id), ServerCallContext())
    assert earlier is not None
    assert earlier.status.state == TaskState.TASK_STATE_INPUT_REQUIRED


async def test_new_task_without_related_tasks_has_no_memory(serve: Serve) -> None:
    handler = serve(SPEC, DataExecutor())
    first = await send(handler, user_message("How long are games on average?"))
    second = await send(
        handler,
        user_message("Terran", context_id=first.context_id, reference_task_ids=[first.id]),
    )
    assert artifact_texts(second)["statistics"].splitlines() == list(figures("Terran"))


async def test_a_task_waiting_for_the_race_can_be_cancelled(serve: Serve) -> None:
    handler = serve(SPEC, DataExecutor())
    first = await send(handler, user_message("win rate?"))
    cancelled = await handler.on_cancel_task(CancelTaskRequest(id=first.id), ServerCallContext())
    assert cancelled is not None
    assert cancelled.status.state == TaskState.TASK_STATE_CANCELED

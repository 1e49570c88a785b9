"""The cs agent: feedback figures against the JSONL, and its streamed reasoning."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from a2a.helpers import get_artifact_text
from a2a.types import Task, TaskArtifactUpdateEvent, TaskState, TaskStatusUpdateEvent
from agents_harness import Serve, artifact_texts, send, stream, user_message

from agents.cs import SPEC
from agents.cs.executor import CsExecutor
from agents.cs.feedback import (
    POSTS_JSONL,
    Post,
    load_posts,
    parse_negative_shares,
    race_feedback,
)
from agents.data.questions import RACES

ROOT = Path(__file__).resolve().parents[2]


def expected(race: str) -> tuple[int, int, list[tuple[str, int]]]:
    """(posts, negative posts, top 3 complaint topics) for ``race``, from the JSONL."""
    with POSTS_JSONL.open(encoding="utf-8") as handle:
        about = [p for p in map(json.loads, handle) if p["race"] == race]
    negative = [p["topic"] for p in about if p["sentiment"] == "negative"]
    counts = Counter(negative)
    top = sorted(counts.items(), key=lambda item: (-item[1], negative.index(item[0])))[:3]
    return len(about), len(negative), top


def summary_line(race: str) -> str:
    posts, negative, top = expected(race)
    complaints = ", ".join(f"{topic} ({count})" for topic, count in top)
    return (
        f"{race}: {posts} posts, {100 * negative / posts:.1f}% negative. "
        f"Top complaints: {complaints}."
    )


def test_posts_file_shape() -> None:
    posts = load_posts()
    assert 100 <= len(posts) <= 300
    assert load_posts() is posts
    assert {p.race for p in posts} == set(RACES)
    assert {p.sentiment for p in posts} == {"negative", "neutral", "positive"}


def test_generator_reproduces_the_committed_posts(tmp_path: Path) -> None:
    out = tmp_path / "posts.jsonl"
    subprocess.run(
        [sys.executable, "-m", "agents.cs.generate_posts", "--out", str(out)],
        check=True,
        cwd=ROOT,
    )
    assert out.read_bytes() == POSTS_JSONL.read_bytes()


@pytest.mark.parametrize("race", RACES)
def test_race_feedback_matches_the_posts(race: str) -> None:
    posts, negative, top = expected(race)
    feedback = race_feedback(race)
    assert (feedback.posts, feedback.negative) == (posts, negative)
    assert list(feedback.top_complaints) == top
    assert feedback.summary() == summary_line(race)


def test_terran_draws_the_most_complaints() -> None:
    shares = {race: race_feedback(race).negative_share for race in RACES}
    assert shares["Terran"] > 0.5
    assert max(shares, key=shares.__getitem__) == "Terran"


def test_feedback_over_given_posts() -> None:
    posts = (
        Post("1", "Zerg", "negative", "creep", "..."),
        Post("2", "Zerg", "positive", "creep", "..."),
        Post("3", "Zerg", "negative", "queens", "..."),
        Post("4", "Zerg", "negative", "queens", "..."),
    )
    feedback = race_feedback("Zerg", posts)
    assert feedback.top_complaints == (("queens", 2), ("creep", 1))
    assert feedback.negative_share == 0.75
    assert race_feedback("Terran", posts).summary() == (
        "Terran: 0 posts, 0.0% negative. Top complaints: none."
    )
    with pytest.raises(ValueError, match="unknown race"):
        race_feedback("zerg", posts)


def test_parse_negative_shares() -> None:
    text = f"{summary_line('Protoss')}\n{summary_line('Terran')}"
    posts, negative, _ = expected("Terran")
    shares = parse_negative_shares(text)
    assert list(shares) == ["Protoss", "Terran"]
    assert shares["Terran"] == pytest.approx(round(100 * negative / posts, 1) / 100)


async def test_reasoning_streams_before_the_answer(serve: Serve) -> None:
    handler = serve(SPEC, CsExecutor())
    events = await stream(handler, user_message("What do players complain about with Terran?"))

    assert isinstance(events[0], Task)
    assert events[0].status.state == TaskState.TASK_STATE_SUBMITTED
    assert isinstance(events[1], TaskStatusUpdateEvent)
    assert events[1].status.state == TaskState.TASK_STATE_WORKING
    final = events[-1]
    assert isinstance(final, TaskStatusUpdateEvent)
    assert final.status.state == TaskState.TASK_STATE_COMPLETED

    updates = events[2:-1]
    assert all(isinstance(e, TaskArtifactUpdateEvent) for e in updates)
    names = [e.artifact.name for e in updates]
    assert names == ["reasoning"] * (len(updates) - 1) + ["answer"]
    reasoning, answer = updates[:-1], updates[-1]
    assert [e.append for e in reasoning] == [False] + [True] * (len(reasoning) - 1)
    assert [e.last_chunk for e in reasoning] == [False] * (len(reasoning) - 1) + [True]
    assert len({e.artifact.artifact_id for e in reasoning}) == 1

    posts, negative, top = expected("Terran")
    assert [get_artifact_text(e.artifact) for e in reasoning] == [
        f"Reading {posts} posts about Terran...",
        f"Terran: {negative} of {posts} posts are negative ({100 * negative / posts:.1f}%).",
        f"Top complaint about Terran: {top[0][0]} ({top[0][1]} posts).",
    ]
    assert answer.last_chunk
    assert get_artifact_text(answer.artifact) == summary_line("Terran")


async def test_no_race_summarises_all_three(serve: Serve) -> None:
    handler = serve(SPEC, CsExecutor())
    task = await send(handler, user_message("What are players saying?"))
    assert task.status.state == TaskState.TASK_STATE_COMPLETED
    assert [a.name for a in task.artifacts] == ["reasoning", "answer"]
    assert artifact_texts(task)["answer"].splitlines() == [summary_line(r) for r in RACES]
    assert len(task.artifacts[0].parts) == 9

"""Generates ``agents/cs/posts.jsonl``, the cs agent's bundled forum posts.

How: hand-written sentence templates (below) expanded with ``random.Random(SEED)``,
``SEED = 20250405``. ``POSTS_PER_RACE`` posts are written about each race; for each
post, in this order of draws: the sentiment (weighted per race by
``SENTIMENT_WEIGHTS``), the topic (the race's ``TOPICS``, weighted 5:4:3:2:1), the
template for that sentiment, and the map, league and patch filled into it.

Built-in bias: a post about Terran is negative (a complaint) with probability 0.64,
against 0.38 for Zerg and 0.42 for Protoss, so player sentiment backs the data agent's
"Terran is favoured" figures. The committed file has 190 posts: Terran 51 of 70
negative (72.9%), Zerg 27 of 60 (45.0%), Protoss 26 of 60 (43.3%).

Each line is a JSON object: ``post_id, race, sentiment, topic, text``, with
``sentiment`` one of ``negative``, ``neutral``, ``positive``.

Usage (from the repository root)::

    python -m agents.cs.generate_posts [--out agents/cs/posts.jsonl]

The output is byte-for-byte reproducible; ``tests/agents`` regenerates it and compares.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

SEED = 20250405
POSTS_PER_RACE = {"Terran": 70, "Zerg": 60, "Protoss": 60}
SENTIMENTS = ("negative", "neutral", "positive")
SENTIMENT_WEIGHTS = {
    "Terran": (0.64, 0.21, 0.15),
    "Zerg": (0.38, 0.37, 0.25),
    "Protoss": (0.42, 0.33, 0.25),
}
TOPICS = {
    "Terran": (
        "siege tank range",
        "MULE economy",
        "bio drops",
        "cloaked banshees",
        "planetary fortress rushes",
    ),
    "Zerg": (
        "creep spread",
        "roach-ravager timings",
        "larva injects",
        "brood lords",
        "zergling run-bys",
    ),
    "Protoss": (
        "cannon rushes",
        "carriers",
        "warp prism harass",
        "oracle openers",
        "shield batteries",
    ),
}
TOPIC_WEIGHTS = (5, 4, 3, 2, 1)
TEMPLATES = {
    "negative": (
        "Lost four in a row to {topic} on {map}. Something has to change.",
        "Please nerf {topic}. In {league}, games against {race} are decided by minute ten.",
        "Patch {patch} made {topic} even worse. How is this still in the game?",
        "Is anyone else sick of {topic}? Playing against {race} on {map} is no fun.",
        "Nothing in {league} answers {topic} right now.",
    ),
    "neutral": (
        "How do you deal with {topic} on {map}?",
        "Some numbers on {topic} from my {league} games this week.",
        "Thoughts on {topic} after patch {patch}?",
        "Replay pack: {race} {topic} on {map}, {league} level.",
    ),
    "positive": (
        "Scouting early makes {topic} manageable, even in {league}.",
        "Loved the {topic} games on {map} this season.",
        "Good job on patch {patch}: {league} games with {topic} are fun to play.",
    ),
}
MAPS = ("Frost Ridge", "Ashen Basin", "Crystal Spire", "Dusk Harbor", "Iron Steppe")
LEAGUES = ("Bronze", "Gold", "Diamond", "Master", "Grandmaster")
PATCHES = ("5.0.11", "5.0.12", "5.0.13")
DEFAULT_OUT = Path(__file__).with_name("posts.jsonl")


def generate(seed: int = SEED) -> list[dict[str, str]]:
    """Draws the posts from ``random.Random(seed)``, races in ``POSTS_PER_RACE`` order."""
    rng = random.Random(seed)
    posts: list[dict[str, str]] = []
    for race, count in POSTS_PER_RACE.items():
        for _ in range(count):
            sentiment = rng.choices(SENTIMENTS, SENTIMENT_WEIGHTS[race])[0]
            topic = rng.choices(TOPICS[race], TOPIC_WEIGHTS)[0]
            template = rng.choice(TEMPLATES[sentiment])
            text = template.format(
                topic=topic,
                race=race,
                map=rng.choice(MAPS),
                league=rng.choice(LEAGUES),
                patch=rng.choice(PATCHES),
            )
            posts.append(
                {
                    "post_id": f"P{len(posts) + 1:04d}",
                    "race": race,
                    "sentiment": sentiment,
                    "topic": topic,
                    "text": text,
                }
            )
    return posts


def write(posts: list[dict[str, str]], out: Path) -> None:
    """Writes ``posts`` to ``out``, one JSON object per ``\\n``-terminated line."""
    with out.open("w", encoding="utf-8", newline="\n") as handle:
        handle.writelines(json.dumps(post) + "\n" for post in posts)


def main() -> None:
    """Command-line entry point: ``--out PATH`` (default ``agents/cs/posts.jsonl``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    write(generate(), parser.parse_args().out)


if __name__ == "__main__":
    main()

"""Reading a question: which races and which figures it asks about.

Pure functions over plain text, shared by the data, cs and balance agents.
"""

from __future__ import annotations

import enum
import re

RACES: tuple[str, ...] = ("Terran", "Zerg", "Protoss")
"""The playable races, in their canonical order."""

_RACE_RE = re.compile(r"\b(terran|zerg|protoss)(?:e?s)?\b", re.IGNORECASE)


class Metric(enum.Enum):
    """A figure the data agent can report."""

    WIN_RATE = "win rate"
    GAME_LENGTH = "game length"


_METRIC_RES: dict[Metric, re.Pattern[str]] = {
    Metric.WIN_RATE: re.compile(
        r"\b(win\w*|victor\w*|los\w*|strong\w*|weak\w*|overpowered|underpowered|op|imba\w*)\b",
        re.IGNORECASE,
    ),
    Metric.GAME_LENGTH: re.compile(
        r"\b(length\w*|long\w*|duration\w*|minutes?|time\w*|short\w*|quick\w*|fast\w*|slow\w*)\b",
        re.IGNORECASE,
    ),
}


def races_in(text: str) -> tuple[str, ...]:
    """Returns the races ``text`` names, canonically spelled, in order of first mention.

    Case-insensitive whole words, plurals included: ``"Protoss vs terrans"`` gives
    ``("Protoss", "Terran")``. Text naming no race gives ``()``.
    """
    found: list[str] = []
    for match in _RACE_RE.finditer(text):
        race = match.group(1).capitalize()
        if race not in found:
            found.append(race)
    return tuple(found)


def metrics_in(text: str) -> tuple[Metric, ...]:
    """Returns the figures ``text`` asks for, in :class:`Metric` order; ``()`` if none.

    Win rate: words such as "win rate", "strong", "weak", "overpowered", "losing".
    Game length: words such as "long", "length", "duration", "minutes", "time".
    """
    return tuple(metric for metric, pattern in _METRIC_RES.items() if pattern.search(text))

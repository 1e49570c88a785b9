"""The data agent's answer text, and the parser other agents use to read it back.

One line per race and figure, races in the order given, win rate before game length::

    Terran win rate: 53.9% over 1985 games
    Terran average game length: 14.0 minutes over 1985 games
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from agents.data.questions import Metric
from agents.data.stats import RaceStats, race_stats

_WIN_RATE_RE = re.compile(r"\b(Terran|Zerg|Protoss) win rate: (\d+(?:\.\d+)?)% over \d+ games")


def describe(stats: RaceStats, metrics: Iterable[Metric]) -> list[str]:
    """Formats ``stats`` as one line per metric in ``metrics`` (percent and minutes, 1 dp)."""
    lines = []
    for metric in metrics:
        if metric is Metric.WIN_RATE:
            lines.append(f"{stats.race} win rate: {stats.win_rate:.1%} over {stats.games} games")
        else:
            lines.append(
                f"{stats.race} average game length: {stats.average_minutes:.1f} minutes"
                f" over {stats.games} games"
            )
    return lines


def answer(races: Iterable[str], metrics: Iterable[Metric]) -> str:
    """The bundled dataset's ``metrics`` for each of ``races``, one figure per line.

    Raises:
        ValueError: A race is unknown (see :func:`~agents.data.stats.race_stats`).
    """
    wanted = tuple(metrics)
    return "\n".join(line for race in races for line in describe(race_stats(race), wanted))


def parse_win_rates(text: str) -> dict[str, float]:
    """Reads the win-rate lines of a data-agent answer: race -> fraction in [0, 1].

    Races without a win-rate line are absent; the value is the rounded percentage shown
    (``"53.9%"`` gives ``0.539``).
    """
    return {race: float(pct) / 100 for race, pct in _WIN_RATE_RE.findall(text)}

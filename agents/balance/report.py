"""The balance report: statistics and sentiment merged, with a deterministic verdict.

Verdict rule, per race, first match wins (``win rate`` from the data agent,
``negative share`` from the cs agent)::

    win rate > 52% and negative share > 50% -> "likely overpowered"
    win rate > 52%                          -> "strong on paper, players calm: keep watching"
    negative share > 50%                    -> "players unhappy, win rate normal: perception issue"
    win rate < 48%                          -> "likely underpowered"
    otherwise                               -> "balanced"
"""

from __future__ import annotations

from collections.abc import Sequence

from agents.cs.feedback import parse_negative_shares
from agents.data.answer import parse_win_rates

STRONG_WIN_RATE = 0.52
WEAK_WIN_RATE = 0.48
UNHAPPY_NEGATIVE_SHARE = 0.50


class MissingFigureError(ValueError):
    """A peer's answer lacks a figure the verdict needs."""


def verdict(win_rate: float, negative_share: float) -> str:
    """Applies the module's rule to a win rate and a negative share (fractions in [0, 1])."""
    strong = win_rate > STRONG_WIN_RATE
    unhappy = negative_share > UNHAPPY_NEGATIVE_SHARE
    if strong and unhappy:
        return "likely overpowered"
    if strong:
        return "strong on paper, players calm: keep watching"
    if unhappy:
        return "players unhappy, win rate normal: perception issue"
    if win_rate < WEAK_WIN_RATE:
        return "likely underpowered"
    return "balanced"


def build_report(races: Sequence[str], data_answer: str, cs_answer: str) -> str:
    """Merges the data and cs answers about ``races`` into the report text.

    The report quotes both answers and ends with one verdict line per race, e.g.
    ``"Terran: likely overpowered (win rate 53.9%, 72.9% of posts negative)"``.

    Raises:
        MissingFigureError: ``data_answer`` has no win rate, or ``cs_answer`` no negative
            share, for one of ``races``.
    """
    win_rates = parse_win_rates(data_answer)
    negative_shares = parse_negative_shares(cs_answer)
    verdicts = []
    for race in races:
        if race not in win_rates:
            raise MissingFigureError(f"the data agent's answer has no {race} win rate")
        if race not in negative_shares:
            raise MissingFigureError(f"the cs agent's answer has no {race} negative share")
        verdicts.append(
            f"{race}: {verdict(win_rates[race], negative_shares[race])} "
            f"(win rate {win_rates[race]:.1%}, {negative_shares[race]:.1%} of posts negative)"
        )
    return "\n".join(
        [
            f"Balance report: {', '.join(races)}",
            "",
            "Statistics (data agent):",
            data_answer,
            "",
            "Player sentiment (cs agent):",
            cs_answer,
            "",
            "Verdict:",
            *verdicts,
        ]
    )

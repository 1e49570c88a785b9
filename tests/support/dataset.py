"""Expected answers, computed from the bundled dataset independently of the agents."""

from __future__ import annotations

import csv
from pathlib import Path

MATCHES = Path(__file__).resolve().parents[2] / "agents" / "data" / "matches.csv"


def win_rate_line(race: str) -> str:
    """What the ``data`` agent must answer for ``race``'s win rate."""
    with MATCHES.open() as f:
        rows = list(csv.DictReader(f))
    played = [r for r in rows if race in (r["race_1"], r["race_2"])]
    won = sum(1 for r in played if r["winner"] == race)
    return f"{race} win rate: {100 * won / len(played):.1f}% over {len(played)} games"

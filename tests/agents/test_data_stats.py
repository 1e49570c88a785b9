"""The bundled matches and the data agent's pure functions, checked against the CSV."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest

from agents.data.answer import answer, parse_win_rates
from agents.data.questions import RACES, Metric, metrics_in, races_in
from agents.data.stats import MATCHES_CSV, Match, load_matches, race_stats

ROOT = Path(__file__).resolve().parents[2]


def csv_rows() -> list[dict[str, str]]:
    with MATCHES_CSV.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def expected(race: str) -> tuple[int, int, int]:
    """(games, wins, total seconds) for ``race``, straight from the CSV."""
    played = [r for r in csv_rows() if race in (r["race_1"], r["race_2"])]
    wins = sum(r["winner"] == race for r in played)
    return len(played), wins, sum(int(r["duration_seconds"]) for r in played)


def test_dataset_shape() -> None:
    rows = csv_rows()
    assert MATCHES_CSV.stat().st_size < 300_000
    assert len(rows) == 4000
    assert all(r["race_1"] != r["race_2"] for r in rows)
    assert all(r["winner"] in (r["race_1"], r["race_2"]) for r in rows)
    assert {r["race_1"] for r in rows} == set(RACES)


def test_generator_reproduces_the_committed_csv(tmp_path: Path) -> None:
    out = tmp_path / "matches.csv"
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen_matches.py"), "--out", str(out)], check=True
    )
    assert out.read_bytes() == MATCHES_CSV.read_bytes()


@pytest.mark.parametrize("race", RACES)
def test_race_stats_match_the_csv(race: str) -> None:
    games, wins, seconds = expected(race)
    stats = race_stats(race)
    assert (stats.games, stats.wins, stats.total_seconds) == (games, wins, seconds)
    assert stats.win_rate == pytest.approx(wins / games)
    assert stats.average_minutes == pytest.approx(seconds / games / 60)


def test_terran_is_visibly_favoured() -> None:
    rates = {race: race_stats(race).win_rate for race in RACES}
    assert rates["Terran"] > 0.52
    assert rates["Zerg"] < 0.52
    assert rates["Protoss"] < 0.52


def test_matches_are_loaded_once() -> None:
    assert load_matches() is load_matches()
    assert len(load_matches()) == 4000


def test_race_stats_over_given_matches() -> None:
    matches = (
        Match("a", "Terran", "Zerg", "Terran", 600, "m", "p"),
        Match("b", "Zerg", "Terran", "Zerg", 900, "m", "p"),
        Match("c", "Protoss", "Terran", "Terran", 300, "m", "p"),
    )
    stats = race_stats("Terran", matches)
    assert (stats.games, stats.wins, stats.total_seconds) == (3, 2, 1800)
    assert stats.average_minutes == 10.0
    assert race_stats("Protoss", matches).win_rate == 0.0
    assert race_stats("Protoss", ()).average_minutes == 0.0


def test_unknown_race_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown race 'Orc'"):
        race_stats("Orc")


@pytest.mark.parametrize(
    ("text", "races"),
    [
        ("Is Terran too strong?", ("Terran",)),
        ("protoss vs TERRANS", ("Protoss", "Terran")),
        ("Zerg's win rate, and zergs again", ("Zerg",)),
        ("Zergling rushes and Protossian lore", ()),
        ("What is the win rate?", ()),
    ],
)
def test_races_in(text: str, races: tuple[str, ...]) -> None:
    assert races_in(text) == races


@pytest.mark.parametrize(
    ("text", "metrics"),
    [
        ("Is Terran too strong?", (Metric.WIN_RATE,)),
        ("What's the win rate?", (Metric.WIN_RATE,)),
        ("How long are Zerg games?", (Metric.GAME_LENGTH,)),
        ("Win rate and average game length", (Metric.WIN_RATE, Metric.GAME_LENGTH)),
        ("Protoss vs Terran", ()),
    ],
)
def test_metrics_in(text: str, metrics: tuple[Metric, ...]) -> None:
    assert metrics_in(text) == metrics


def test_answer_text_and_parse_round_trip() -> None:
    games, wins, seconds = expected("Zerg")
    text = answer(["Zerg", "Terran"], [Metric.WIN_RATE, Metric.GAME_LENGTH])
    lines = text.splitlines()
    assert lines[0] == f"Zerg win rate: {100 * wins / games:.1f}% over {games} games"
    minutes = seconds / games / 60
    assert lines[1] == f"Zerg average game length: {minutes:.1f} minutes over {games} games"
    assert lines[2].startswith("Terran win rate: ")
    assert len(lines) == 4
    parsed = parse_win_rates(text)
    assert list(parsed) == ["Zerg", "Terran"]
    assert parsed["Zerg"] == pytest.approx(round(100 * wins / games, 1) / 100)

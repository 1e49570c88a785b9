"""The Kafka log filter: floods become episodes of a few lines (no broker needed)."""

from __future__ import annotations

import logging
from pathlib import Path

import aiokafka
import pytest

from app import logs
from app.logs import KafkaTroubleFilter


class Clock:
    """A settable monotonic clock."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def aiokafka_record(msg: str, *args: object, level: int = logging.ERROR) -> logging.LogRecord:
    return logging.LogRecord("aiokafka.client", level, __file__, 1, msg, args, None)


def test_every_summarised_message_still_exists_in_aiokafka() -> None:
    source = "\n".join(path.read_text() for path in Path(aiokafka.__file__).parent.rglob("*.py"))
    missing = [m for m in logs.TRANSIENT_MESSAGES if m not in source]
    assert missing == [], "aiokafka changed these log messages: update app/logs.py"


def test_a_flood_becomes_first_line_summaries_and_end() -> None:
    clock = Clock()
    trouble = KafkaTroubleFilter(
        summary_interval=30, quiet_after=5, escalate_after=120, clock=clock
    )
    passed: list[logging.LogRecord] = []
    for _ in range(4000):  # 40 s of 100 lines a second
        record = aiokafka_record("Unable connect to node with id %s: %s", 1, "refused")
        if trouble.filter(record):
            passed.append(record)
        clock.now += 0.01
    assert [r.levelno for r in passed] == [logging.WARNING, logging.WARNING]
    assert "Unable connect to node with id 1: refused" in passed[0].getMessage()
    summarised = int(passed[1].getMessage().split(" lines summarised")[0].rsplit(" ", 1)[1])
    assert 2995 <= summarised <= 3001, "about 30 s of lines, the summary's own included"
    assert trouble.in_episode

    clock.now += 4
    trouble.tick()
    assert trouble.in_episode, "not quiet long enough yet"
    clock.now += 2
    trouble.tick()
    assert not trouble.in_episode


def test_trouble_that_lasts_needs_a_human(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    trouble = KafkaTroubleFilter(
        summary_interval=30, quiet_after=5, escalate_after=120, clock=clock
    )
    levels = []
    for _ in range(200):  # one line a second for 200 s
        record = aiokafka_record("Unable to update metadata from %s", [1])
        if trouble.filter(record):
            levels.append(record.levelno)
        clock.now += 1
    assert levels[0] == logging.WARNING
    assert logging.ERROR in levels, "an episode past escalate_after is ERROR"
    assert levels.index(logging.ERROR) == 4  # the summary at 120 s
    assert len(levels) == 1 + 200 // 30


def test_other_records_pass_unchanged() -> None:
    trouble = KafkaTroubleFilter(clock=Clock())
    fatal = aiokafka_record("Topic %s is not authorized for this client", "t")
    assert trouble.filter(fatal)
    assert fatal.levelno == logging.ERROR
    info = aiokafka_record("Unable connect to node with id %s: %s", 1, "x", level=logging.INFO)
    assert trouble.filter(info)
    own = logging.LogRecord(
        "app.worker", logging.ERROR, __file__, 1, "Unable connect to node with id %s", (1,), None
    )
    assert trouble.filter(own)
    assert not trouble.in_episode


def test_topic_not_found_at_first_start_is_a_warning_episode() -> None:
    clock = Clock()
    trouble = KafkaTroubleFilter(clock=clock)
    records = [
        aiokafka_record("Topic %s not found in cluster metadata", f"agent.{name}.requests")
        for name in ("a", "b", "c")
    ]
    kept = [r for r in records if trouble.filter(r)]
    assert [r.levelname for r in kept] == ["WARNING"]


def test_install_filters_child_loggers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(logs, "_installed", None)
    trouble = logs.install()
    try:
        assert logs.install() is trouble
        assert trouble in logging.getLogger("aiokafka.conn").filters
        assert trouble in logging.getLogger("aiokafka.consumer.group_coordinator").filters
        record = aiokafka_record("Unable connect to node with id %s: %s", 1, "refused")
        assert logging.getLogger("aiokafka.client").filter(record)
        again = aiokafka_record("Unable connect to node with id %s: %s", 1, "refused")
        assert not logging.getLogger("aiokafka.client").filter(again)
    finally:
        for name in list(logging.root.manager.loggerDict):
            logging.getLogger(name).removeFilter(trouble)

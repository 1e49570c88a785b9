"""Bounded logging while Kafka is unreachable or settling: one line when the trouble
starts, a summary every interval while it lasts, one line when it is over.

aiokafka logs every failed connect, metadata refresh, fetch and heartbeat at ERROR and
retries at once: with the broker stopped for 10 s, one worker wrote about 40,000
ERROR lines ("Unable connect to node with id 1", "Unable to update metadata from
[1]"), about 2,000 a second. A clean first start on an empty broker logs ERRORs too:
"Topic … not found in cluster metadata" for topics Faust has just created (a KRaft
broker answers metadata requests from its metadata cache, which follows the
controller a moment after ``CreateTopics`` returns), and "Group Coordinator Request
failed: GroupCoordinatorNotAvailableError" while the broker creates
``__consumer_offsets``. aiokafka retries all of these by itself and they end when
Kafka is back; Kafka's own Java client logs the same conditions at WARN
(``UNKNOWN_TOPIC_OR_PARTITION`` metadata errors) or INFO (coordinator unavailable).

:class:`KafkaTroubleFilter` turns such a flood into an *episode*:

- the first record of the episode passes, as WARNING, with its own text;
- the records after it are counted, not logged; every ``summary_interval`` seconds one
  summary line says for how long, how many lines, and which;
- the episode is over once no such record came for ``quiet_after`` seconds: one line
  says so (and how long it lasted);
- an episode longer than ``escalate_after`` seconds needs a human (a broker that does
  not come back, a topic that is never created): its summaries are ERROR.

Only the aiokafka messages listed in :data:`TRANSIENT_MESSAGES` are summarised (matched
on the record's format string, not its rendered text); every other record passes
unchanged, so a real fault (authorisation, invalid topic, a bug) is still logged as
aiokafka logs it.

Why this module reaches into internals: it depends on aiokafka's log messages (format
strings) and logger names, which are not a public API. ``tests/app/test_logs.py``
checks that every message in :data:`TRANSIENT_MESSAGES` still exists in the installed
aiokafka, so an upstream change fails a test instead of silently letting the flood back.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

logger = logging.getLogger(__name__)

#: Format strings (their beginnings) of aiokafka log records that report a condition
#: aiokafka retries by itself: the broker unreachable, a coordinator or leader moving,
#: a topic just created and not yet in the broker's metadata cache.
TRANSIENT_MESSAGES: tuple[str, ...] = (
    "Unable connect to node with id %s",
    "Unable to update metadata from %s",
    "Unable to request metadata from",
    "Failed fetch messages from %s",
    "Failed fetch offsets from %s",
    "Group Coordinator Request failed: %s",
    "FindCoordinator Request failed: %s",
    "Heartbeat send request failed: %s",
    "Heartbeat session expired - marking coordinator dead",
    "Heartbeat failed for group %s: coordinator (node %s)",
    "Error sending %s to node %s [%s] -- marking coordinator dead",
    "Marking the coordinator dead (node %s)for group %s.",
    "Got error produce response",
    "Topic %s not found in cluster metadata",
    "Topic %s is not available during auto-create initialization",
    "Attempt to fetch offsets for partition %s failed due to",
    "Received unknown topic or partition error in",
)

#: Loggers of aiokafka's modules. A logger's filters apply only to records logged on
#: that logger itself (not to records propagated from its children), so the filter is
#: attached to each of them, and to every other ``aiokafka.*`` logger that exists.
AIOKAFKA_LOGGERS: tuple[str, ...] = (
    "aiokafka",
    "aiokafka.client",
    "aiokafka.cluster",
    "aiokafka.conn",
    "aiokafka.consumer.consumer",
    "aiokafka.consumer.fetcher",
    "aiokafka.consumer.group_coordinator",
    "aiokafka.producer.producer",
    "aiokafka.producer.sender",
)

#: How often the worker's timer lets the filter close an episode, seconds.
TICK_SECONDS = 1.0


def is_transient(record: logging.LogRecord) -> bool:
    """Whether ``record`` is an aiokafka WARNING/ERROR that aiokafka retries by itself."""
    return (
        record.levelno >= logging.WARNING
        and (record.name == "aiokafka" or record.name.startswith("aiokafka."))
        and isinstance(record.msg, str)
        and record.msg.startswith(TRANSIENT_MESSAGES)
    )


@dataclass
class _Episode:
    """One run of transient trouble: when it began, when it was last seen, what it was."""

    since: float
    last_seen: float
    last_summary: float
    suppressed: int = 0
    by_message: dict[str, int] = field(default_factory=dict)
    samples: dict[str, str] = field(default_factory=dict)

    def count(self, record: logging.LogRecord) -> None:
        self.suppressed += 1
        template = str(record.msg)
        self.by_message[template] = self.by_message.get(template, 0) + 1
        self.samples[template] = _render(record)

    def top(self, limit: int = 3) -> str:
        ranked = sorted(self.by_message.items(), key=lambda item: -item[1])[:limit]
        return "; ".join(f"{n}x {self.samples[t]}" for t, n in ranked) or "none"


def _render(record: logging.LogRecord) -> str:
    try:
        return record.getMessage().strip()
    except (TypeError, ValueError):
        return str(record.msg).strip()


class KafkaTroubleFilter(logging.Filter):
    """A ``logging.Filter`` that summarises transient Kafka client trouble (see module).

    Thread-safe: with ``FAUST_A2A_CONSUMER=thread`` Faust's consumer thread and the main
    event loop both log through it.

    Args:
        summary_interval: Seconds between two summary lines of one episode.
        quiet_after: Seconds without a transient record after which the episode is over.
        escalate_after: Seconds after which an episode's summaries are ERROR.
        clock: Monotonic time source, seconds (tests pass their own).
    """

    def __init__(
        self,
        *,
        summary_interval: float = 30.0,
        quiet_after: float = 5.0,
        escalate_after: float = 120.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.summary_interval = summary_interval
        self.quiet_after = quiet_after
        self.escalate_after = escalate_after
        self._clock = clock
        self._lock = threading.Lock()
        self._episode: _Episode | None = None

    @property
    def in_episode(self) -> bool:
        """Whether transient trouble is going on (an episode is open)."""
        return self._episode is not None

    def filter(self, record: logging.LogRecord) -> bool:
        """Lets ``record`` through (possibly rewritten as the episode's first line or a
        summary) or drops it (``False``) as part of an open episode."""
        if not is_transient(record):
            return True
        closing: _Line | None = None
        keep = True
        with self._lock:
            now = self._clock()
            episode = self._episode
            if episode is None or now - episode.last_seen >= self.quiet_after:
                if episode is not None:
                    closing = self._close_line()
                self._episode = _Episode(since=now, last_seen=now, last_summary=now)
                _rewrite(
                    record,
                    (
                        logging.WARNING,
                        "Kafka client trouble, retried by the client (repeats are "
                        "summarised every %.0f s until it is over): %s",
                        (self.summary_interval, _render(record)),
                    ),
                )
            else:
                episode.last_seen = now
                episode.count(record)
                if now - episode.last_summary >= self.summary_interval:
                    _rewrite(record, self._summary(now))
                else:
                    keep = False
        if closing is not None:
            _log(closing)
        return keep

    def tick(self) -> None:
        """Closes the episode once it has been quiet for ``quiet_after`` seconds, and
        writes a due summary when no record arrives to carry it. Call it periodically
        (:func:`install` does, every :data:`TICK_SECONDS`)."""
        line: _Line | None = None
        with self._lock:
            episode = self._episode
            if episode is None:
                return
            now = self._clock()
            if now - episode.last_seen >= self.quiet_after:
                line = self._close_line()
                self._episode = None
            elif now - episode.last_summary >= self.summary_interval and episode.suppressed:
                line = self._summary(now)
        if line is not None:
            _log(line)

    def _summary(self, now: float) -> _Line:
        episode = self._episode
        assert episode is not None
        seconds = now - episode.since
        if seconds >= self.escalate_after:
            level = logging.ERROR
            message = (
                "Kafka client trouble for %.0f s and not recovering, check the brokers "
                "and topics: %d lines summarised (%s)"
            )
        else:
            level = logging.WARNING
            message = "Kafka client trouble for %.0f s, still retrying: %d lines summarised (%s)"
        line = (level, message, (seconds, episode.suppressed, episode.top()))
        episode.suppressed = 0
        episode.by_message.clear()
        episode.last_summary = now
        return line

    def _close_line(self) -> _Line:
        episode = self._episode
        assert episode is not None
        return (
            logging.WARNING,
            "Kafka client trouble over after %.1f s (%d lines summarised since the last line)",
            (episode.last_seen - episode.since, episode.suppressed),
        )


#: A line to log: level, format string, arguments.
_Line = tuple[int, str, tuple[Any, ...]]


def _log(line: _Line) -> None:
    level, message, args = line
    logger.log(level, message, *args)


def _rewrite(record: logging.LogRecord, line: _Line) -> None:
    record.levelno, record.msg, record.args = line
    record.levelname = logging.getLevelName(record.levelno)


_installed: KafkaTroubleFilter | None = None


def install(app: Any | None = None, **options: Any) -> KafkaTroubleFilter:
    """Attaches one :class:`KafkaTroubleFilter` to aiokafka's loggers; idempotent.

    Call it once in the worker, before Faust starts (e.g. where the ``faust.App`` is
    built). With ``app`` (a ``faust.App``), a Faust timer ticks the filter every
    :data:`TICK_SECONDS` so an episode is closed even when nothing else is logged.

    Args:
        app: The worker's ``faust.App``, or ``None`` (episodes then close when the next
            transient record comes after the quiet period).
        options: :class:`KafkaTroubleFilter` arguments, for the first call.

    Returns:
        The installed filter.
    """
    global _installed
    if _installed is None:
        _installed = KafkaTroubleFilter(**options)
        names = set(AIOKAFKA_LOGGERS) | {
            name
            for name in logging.root.manager.loggerDict
            if name == "aiokafka" or name.startswith("aiokafka.")
        }
        for name in sorted(names):
            logging.getLogger(name).addFilter(_installed)
    if app is not None:
        trouble = _installed

        async def kafka_log_episodes() -> None:
            trouble.tick()

        app.timer(TICK_SECONDS, name="kafka-log-episodes")(kafka_log_episodes)
    return _installed

"""Prometheus metrics of a worker (``prometheus_client``), served at ``GET /metrics``.

Every name starts with ``faust_a2a_``; ``agent`` is the hosted A2A agent, ``method``
the JSON-RPC method (A2A 1.0 §9.4). The request path calls the small functions below
(:func:`track_request`, :func:`redelivery_answered`, ...); Kafka consumer lag and
table recovery are read from the Faust app when Prometheus scrapes
(:class:`FaustCollector`), so they cost nothing between scrapes. The README lists
every metric; ``docs/grafana-dashboard.json`` draws them.

Metrics live in :data:`REGISTRY` (one per process, with the process collector), not
in ``prometheus_client``'s global registry, so importing this module never clashes
with an embedding application's metrics.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, cast

import faust
from faust.web import Request, Response, View
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

#: The registry ``/metrics`` serves.
REGISTRY = CollectorRegistry()
ProcessCollector(registry=REGISTRY)

#: Content type of :func:`exposition`: the classic Prometheus text format, which every
#: Prometheus server reads.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

#: Request latency buckets, seconds: from a cached reply to a long agent run.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

REQUESTS = Counter(
    "faust_a2a_requests",
    "Request records handled, by outcome (ok, error, bad_input, internal_error, "
    "redelivery, rekeyed, expired).",
    ["agent", "method", "outcome"],
    registry=REGISTRY,
)
REQUEST_LATENCY = Histogram(
    "faust_a2a_request_duration_seconds",
    "Time from taking a request record to its last response record, seconds.",
    ["agent", "method"],
    buckets=LATENCY_BUCKETS,
    registry=REGISTRY,
)
IN_FLIGHT = Gauge(
    "faust_a2a_requests_in_flight",
    "Request records being handled now.",
    ["agent"],
    registry=REGISTRY,
)
TASK_STATES = Counter(
    "faust_a2a_task_state_changes",
    "Task state changes published by executors, by the state entered.",
    ["agent", "state"],
    registry=REGISTRY,
)
REDELIVERIES = Counter(
    "faust_a2a_redeliveries_answered",
    "Redelivered SendMessage records answered from their task instead of run again.",
    ["agent"],
    registry=REGISTRY,
)
DEAD_LETTERS = Counter(
    "faust_a2a_dead_letters",
    "Records written to agent.<name>.dlq, by reason.",
    ["agent", "reason"],
    registry=REGISTRY,
)
PUSH_DELIVERIES = Counter(
    "faust_a2a_push_deliveries",
    "Push notifications finished, by outcome (delivered, dead_lettered, skipped).",
    ["agent", "outcome"],
    registry=REGISTRY,
)
PUSH_FAILURES = Counter(
    "faust_a2a_push_failures",
    "Failed webhook POSTs (each attempt), by reason.",
    ["agent", "reason"],
    registry=REGISTRY,
)
PUSH_LATENCY = Histogram(
    "faust_a2a_push_delivery_seconds",
    "Time from an outbox record's timestamp to its successful POST, seconds.",
    ["agent"],
    buckets=LATENCY_BUCKETS,
    registry=REGISTRY,
)
OUTBOX_PAUSED = Gauge(
    "faust_a2a_outbox_partitions_paused",
    "Outbox partitions (agent.<name>.push) this worker had caught up and stopped "
    "fetching at its last check.",
    ["agent"],
    registry=REGISTRY,
)
ORPHANED_TASKS = Counter(
    "faust_a2a_orphaned_tasks",
    "Tasks found unfinished after their worker died, by what was done (rerun, failed).",
    ["agent", "action"],
    registry=REGISTRY,
)


@dataclass
class RequestTrack:
    """Labels of a request being tracked, set by the request path as it learns them.

    Attributes:
        method: The JSON-RPC method (``unknown`` until the record is parsed).
        outcome: ``ok`` (default), ``error`` (an A2A error answered), ``bad_input``
            (answered and dead-lettered), ``internal_error`` (an exception),
            ``redelivery``, ``rekeyed`` or ``expired`` (deadline passed).
    """

    method: str = "unknown"
    outcome: str = "ok"


@contextmanager
def track_request(agent: str) -> Iterator[RequestTrack]:
    """Counts one request: in flight while the block runs, then latency and outcome.

    Usage::

        with metrics.track_request(agent) as track:
            track.method = "SendMessage"
            ...
            track.outcome = "error"      # "internal_error" if the block raises
    """
    track = RequestTrack()
    gauge = _child(IN_FLIGHT, agent)
    gauge.inc()
    start = time.perf_counter()
    try:
        yield track
    except BaseException:
        track.outcome = "internal_error"
        raise
    finally:
        gauge.dec()
        _child(REQUEST_LATENCY, agent, track.method).observe(time.perf_counter() - start)
        _child(REQUESTS, agent, track.method, track.outcome).inc()


_children: dict[tuple[object, ...], Any] = {}


def _child(metric: Counter | Gauge | Histogram, *labels: str) -> Any:
    """``metric.labels(*labels)``, cached: the request path skips the metric's lock."""
    key = (metric, *labels)
    child = _children.get(key)
    if child is None:
        child = _children[key] = metric.labels(*labels)
    return child


def task_state_changed(agent: str, state: str) -> None:
    """Counts a task entering ``state`` (a ``TaskState`` name, ``TASK_STATE_WORKING``)."""
    _child(TASK_STATES, agent, state).inc()


def redelivery_answered(agent: str) -> None:
    """Counts a redelivered message answered from its task."""
    REDELIVERIES.labels(agent).inc()


def dead_lettered(agent: str, reason: str) -> None:
    """Counts a DLQ record (``reason`` as in the ``dlq-reason`` header)."""
    DEAD_LETTERS.labels(agent, reason).inc()


def push_finished(agent: str, outcome: str, seconds: float | None = None) -> None:
    """Counts a finished push notification; ``seconds`` since it was written, if delivered."""
    PUSH_DELIVERIES.labels(agent, outcome).inc()
    if seconds is not None:
        PUSH_LATENCY.labels(agent).observe(max(seconds, 0.0))


def push_failed(agent: str, reason: str) -> None:
    """Counts one failed POST attempt (``http-503``, ``connect``, ``timeout``, ``ssrf`` ...)."""
    PUSH_FAILURES.labels(agent, reason).inc()


def outbox_partitions_paused(agent: str, count: int) -> None:
    """Sets how many outbox partitions of ``agent`` are paused (caught up)."""
    OUTBOX_PAUSED.labels(agent).set(count)


def orphaned_task(agent: str, action: str) -> None:
    """Counts an orphaned task handled (``action``: ``rerun`` or ``failed``)."""
    ORPHANED_TASKS.labels(agent, action).inc()


@dataclass(eq=False)
class FaustCollector(Collector):
    """Consumer lag and table recovery, read from a Faust app at scrape time.

    Public Faust API only: ``app.consumer.assignment()`` and ``highwater(tp)``,
    ``app.monitor.tp_committed_offsets`` (the ``Monitor`` sensor every app has),
    ``app.tables.recovery.active_remaining()`` / ``standby_remaining()`` and its
    ``completed`` event.

    Attributes:
        app: The worker's app.
        topics: Request topics by agent name: lag is reported for these only.
    """

    app: faust.App
    topics: Mapping[str, str] = field(default_factory=dict)

    def collect(self) -> Iterable[Any]:
        """Yields ``faust_a2a_consumer_lag``, ``faust_a2a_table_recovery_remaining``
        and ``faust_a2a_table_recovery_completed``."""
        lag = GaugeMetricFamily(
            "faust_a2a_consumer_lag",
            "Records of a request partition this worker owns not yet committed "
            "(highwater minus committed offset, 0 before the first commit).",
            labels=["agent", "topic", "partition"],
        )
        remaining = GaugeMetricFamily(
            "faust_a2a_table_recovery_remaining",
            "Changelog records still to apply before tables are recovered, "
            "by kind (active, standby).",
            labels=["kind"],
        )
        completed = GaugeMetricFamily(
            "faust_a2a_table_recovery_completed",
            "1 once this worker's tables are recovered, else 0.",
        )
        agents = {topic: agent for agent, topic in self.topics.items()}
        try:
            consumer = self.app.consumer
            committed = self.app.monitor.tp_committed_offsets
            for tp in sorted(consumer.assignment()):
                agent = agents.get(tp.topic)
                highwater = consumer.highwater(tp) if agent is not None else None
                if agent is not None and highwater is not None:
                    offset = committed.get(tp) or 0
                    lag.add_metric([agent, tp.topic, str(tp.partition)], max(highwater - offset, 0))
        except Exception:  # not started, or mid-rebalance: no lag sample this scrape
            pass
        try:
            recovery = cast(Any, self.app.tables).recovery
            remaining.add_metric(["active"], float(sum(recovery.active_remaining().values())))
            remaining.add_metric(["standby"], float(sum(recovery.standby_remaining().values())))
            completed.add_metric([], 1.0 if recovery.completed.is_set() else 0.0)
        except Exception:  # recovery not built yet
            pass
        yield lag
        yield remaining
        yield completed

    def describe(self) -> Iterable[Any]:
        """No fixed description: collected at scrape time only."""
        return []


def register_metrics(app: faust.App, topics: Mapping[str, str]) -> FaustCollector:
    """Serves ``GET /metrics`` on ``app``'s web server and registers its :class:`FaustCollector`.

    Args:
        app: The worker's Faust app.
        topics: Request topic of each hosted agent, by agent name (lag is reported
            for these).
    """
    collector = FaustCollector(app, topics)
    REGISTRY.register(collector)

    @app.page("/metrics")
    async def metrics_view(view: View, request: Request) -> Response:
        """Every metric in Prometheus text format (``text/plain; version=0.0.4``)."""
        return view.bytes(exposition(), headers={"Content-Type": CONTENT_TYPE})

    return collector


def exposition() -> bytes:
    """Every metric in Prometheus text format (for ``GET /metrics``)."""
    return generate_latest(REGISTRY)

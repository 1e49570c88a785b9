"""``GET /metrics`` on a real worker: Prometheus text that counts what was asked."""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Callable

import pytest
from a2a.helpers import new_text_message
from a2a.types import GetTaskRequest, Role, SendMessageRequest, TaskState
from a2a.utils.errors import TaskNotFoundError
from prometheus_client.parser import text_string_to_metric_families
from support.clients import Connect
from support.processes import WorkerProcess

from app.metrics import LATENCY_BUCKETS

pytestmark = pytest.mark.kafka

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(worker: WorkerProcess) -> tuple[str, Samples]:
    """The content type and every sample of ``/metrics``, parsed by prometheus_client."""
    with urllib.request.urlopen(worker.url + "/metrics", timeout=10) as response:
        content_type = response.headers["Content-Type"]
        text = response.read().decode()
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return content_type, samples


def settled(worker: WorkerProcess, timeout: float = 60.0) -> Samples:
    """A scrape once the worker has handled nothing new for 1.5 s (a fresh consumer
    group replays the topics' older records first)."""
    deadline = time.monotonic() + timeout
    _, previous = scrape(worker)
    while time.monotonic() < deadline:
        time.sleep(1.5)
        _, samples = scrape(worker)
        if _requests(samples) == _requests(previous):
            return samples
        previous = samples
    raise TimeoutError("the worker kept handling requests")


def _requests(samples: Samples) -> dict[object, float]:
    return {k: v for k, v in samples.items() if k[0] == "faust_a2a_requests_total"}


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def delta(before: Samples, after: Samples) -> Callable[..., float]:
    return lambda name, **labels: value(after, name, **labels) - value(before, name, **labels)


async def test_metrics_count_requests_by_agent_method_and_outcome(
    worker: WorkerProcess, connect: Connect
) -> None:
    before = settled(worker)
    client = connect("data", streaming=False)
    task_ids = []
    for race in ("Zerg", "Terran", "Protoss"):
        request = SendMessageRequest(
            message=new_text_message(f"{race} win rate", role=Role.ROLE_USER)
        )
        (event,) = [e async for e in client.send_message(request)]
        assert event.task.status.state == TaskState.TASK_STATE_COMPLETED
        task_ids.append(event.task.id)
    await client.get_task(GetTaskRequest(id=task_ids[0]))
    with pytest.raises(TaskNotFoundError):
        await client.get_task(GetTaskRequest(id="0" * 32 + ".nowhere"))
    content_type, after = scrape(worker)
    changed = delta(before, after)

    assert content_type.startswith("text/plain; version=0.0.4")
    counted = {
        tuple(sorted(labels)): after[(name, labels)] - before.get((name, labels), 0)
        for name, labels in after
        if name == "faust_a2a_requests_total"
    }
    ok = {"agent": "data", "method": "SendMessage", "outcome": "ok"}
    assert changed("faust_a2a_requests_total", **ok) == 3, counted
    assert changed("faust_a2a_requests_total", agent="data", method="GetTask", outcome="ok") == 1
    assert changed("faust_a2a_requests_total", agent="data", method="GetTask", outcome="error") == 1
    send = {"agent": "data", "method": "SendMessage"}
    assert changed("faust_a2a_request_duration_seconds_count", **send) == 3, counted
    assert changed("faust_a2a_request_duration_seconds_sum", **send) > 0
    buckets = [
        value(after, "faust_a2a_request_duration_seconds_bucket", **send, le=str(bound))
        for bound in LATENCY_BUCKETS
    ]
    assert buckets == sorted(buckets)
    assert value(after, "faust_a2a_request_duration_seconds_bucket", **send, le="+Inf") == value(
        after, "faust_a2a_request_duration_seconds_count", **send
    )
    assert value(after, "faust_a2a_requests_in_flight", agent="data") == 0
    completed = {"agent": "data", "state": "TASK_STATE_COMPLETED"}
    assert changed("faust_a2a_task_state_changes_total", **completed) == 3
    assert value(after, "faust_a2a_table_recovery_completed") == 1
    assert value(after, "faust_a2a_table_recovery_remaining", kind="active") == 0
    lags = [
        key for key in after if key[0] == "faust_a2a_consumer_lag" and ("agent", "data") in key[1]
    ]
    assert len(lags) == 8, lags  # every request partition of the only worker
    assert all(after[key] >= 0 for key in lags)

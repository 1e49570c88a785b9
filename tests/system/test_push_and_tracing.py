"""Push notifications through the Kafka outbox, and W3C trace context, on a real worker.

One worker (``support.obs_app``: every demo agent plus ``slow``, renamed with a
prefix so the topics are this module's alone) with ``FAUST_A2A_PUSH_ALLOW=127.0.0.1/32``
and a test-only span exporter writing to a file; webhooks hit a real aiohttp server on
127.0.0.1 in the test process. The worker-kill test runs last: it restarts the worker.
"""

from __future__ import annotations

import asyncio
import json
import signal
import time
import urllib.request
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from a2a.client import Client, ClientConfig
from a2a.helpers import new_text_message
from a2a.types import (
    AuthenticationInfo,
    DeleteTaskPushNotificationConfigRequest,
    Role,
    SendMessageConfiguration,
    SendMessageRequest,
    TaskPushNotificationConfig,
)
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from google.protobuf.json_format import MessageToDict
from opentelemetry import trace
from prometheus_client.parser import text_string_to_metric_families
from support.clients import wait_for_cards
from support.processes import WorkerProcess
from support.tracing import in_memory_exporter
from support.webhook import Notification, WebhookReceiver

from app import binding
from app.transport import kafka_client_factory

pytestmark = pytest.mark.kafka


class ObsWorker:
    """The module's worker and what a test needs to talk to it."""

    def __init__(self, bootstrap_servers: str, base: Path) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.prefix = f"o{uuid.uuid4().hex[:6]}-"
        self.trace_file = base / "spans.jsonl"
        self.process = WorkerProcess(
            "support.obs_app",
            bootstrap_servers=bootstrap_servers,
            app_id=f"{self.prefix}app",
            datadir=base / "data",
            log_path=base / "worker.log",
            env={
                "TEST_AGENT_PREFIX": self.prefix,
                "TEST_TRACE_FILE": str(self.trace_file),
                "FAUST_A2A_PUSH_ALLOW": "127.0.0.1/32",
                "FAUST_A2A_PUSH_BACKOFF_MS": "200",
                "FAUST_A2A_PUSH_BACKOFF_MAX_MS": "1000",
                "FAUST_A2A_PUSH_ATTEMPTS": "40",
            },
        )

    def agent(self, name: str) -> str:
        """The hosted name of demo agent ``name``."""
        return f"{self.prefix}{name}"

    def restart(self, sig: signal.Signals) -> None:
        """Stops the worker with ``sig`` and starts it again on the same data directory."""
        self.process.stop(sig)
        port = self.process.web_port
        fresh = WorkerProcess(
            "support.obs_app",
            bootstrap_servers=self.bootstrap_servers,
            app_id=self.process.app_id,
            datadir=self.process.datadir,
            log_path=self.process.log_path,
            env={
                k: self.process.env[k]
                for k in self.process.env
                if k.startswith(("TEST_", "FAUST_A2A_PUSH"))
            },
        )
        fresh.web_port = port
        fresh.env["FAUST_A2A_WEB_PORT"] = str(port)
        self.process = fresh.start()

    def spans(self) -> list[dict[str, Any]]:
        """Every span the worker exported so far."""
        if not self.trace_file.exists():
            return []
        return [json.loads(line) for line in self.trace_file.read_text().splitlines() if line]


async def create_topics(bootstrap_servers: str, names: list[str]) -> None:
    """Creates ``names`` with the worker's 8 partitions."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, 8, 1) for name in names])
    finally:
        await admin.close()


@pytest.fixture(scope="module")
def obs_worker(
    bootstrap_servers: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ObsWorker]:
    """The module's worker, started once on topics created beforehand.

    Topics a worker creates at its first start reach its consumer's metadata only
    after it joined the group, which then rebalances once more and redelivers what
    it had not committed; created first, the worker starts with one assignment.
    """
    obs = ObsWorker(bootstrap_servers, tmp_path_factory.mktemp("obs"))
    topics = [
        topic(obs.agent(name))
        for name in ("data", "cs", "balance", "slow")
        for topic in (
            binding.requests_topic,
            binding.responses_topic,
            binding.dlq_topic,
            binding.push_topic,
        )
    ]
    asyncio.run(create_topics(bootstrap_servers, topics))
    obs.process.start()
    yield obs
    obs.process.stop()


@pytest.fixture
async def connect(obs_worker: ObsWorker) -> AsyncIterator[Any]:
    """``connect(name, **ClientConfig fields)`` → a Client of the module's agent ``name``."""
    names = {obs_worker.agent(n) for n in ("data", "cs", "balance", "slow")}
    cards = await wait_for_cards(obs_worker.bootstrap_servers, names)
    clients: list[Client] = []

    def _connect(name: str, **config: Any) -> Client:
        client = kafka_client_factory(ClientConfig(**config)).create(cards[obs_worker.agent(name)])
        clients.append(client)
        return client

    yield _connect
    for client in clients:
        await client.close()


@pytest.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    """A webhook receiver on 127.0.0.1, stopped after the test."""
    hook = await WebhookReceiver().start()
    yield hook
    await hook.stop()


def push_request(text: str, url: str, token: str, **auth: str) -> SendMessageRequest:
    """A SendMessage whose task notifies ``url`` with ``token`` (and ``authentication``)."""
    config = TaskPushNotificationConfig(url=url, token=token)
    if auth:
        config.authentication.CopyFrom(AuthenticationInfo(**auth))
    return SendMessageRequest(
        message=new_text_message(text, role=Role.ROLE_USER),
        configuration=SendMessageConfiguration(task_push_notification_config=config),
    )


def first_seen(notifications: list[Notification]) -> list[dict[str, Any]]:
    """Bodies in arrival order with redeliveries (identical bodies) dropped."""
    seen: list[dict[str, Any]] = []
    for n in notifications:
        if n.body not in seen:
            seen.append(n.body)
    return seen


def is_final(body: dict[str, Any]) -> bool:
    """Whether a notification reports the task completed."""
    state = (body.get("statusUpdate") or body.get("task") or {}).get("status", {}).get("state")
    return state == "TASK_STATE_COMPLETED"


async def stream_events(client: Client, request: SendMessageRequest) -> list[dict[str, Any]]:
    """Every StreamResponse of a streaming call, as protobuf JSON."""
    return [MessageToDict(event) async for event in client.send_message(request)]


async def push_offsets(obs: ObsWorker, topic: str, partition: int) -> tuple[int | None, int]:
    """The worker group's committed offset and the end offset of an outbox partition."""
    tp = TopicPartition(topic, partition)
    admin = AIOKafkaAdminClient(bootstrap_servers=obs.bootstrap_servers)
    consumer = AIOKafkaConsumer(bootstrap_servers=obs.bootstrap_servers)
    await admin.start()
    await consumer.start()
    try:
        offsets = await admin.list_consumer_group_offsets(obs.process.app_id)
        end = (await consumer.end_offsets([tp]))[tp]
    finally:
        await consumer.stop()
        await admin.close()
    committed = offsets.get(tp)
    return (committed.offset if committed is not None else None), end


async def test_every_event_arrives_in_order_with_the_token(
    obs_worker: ObsWorker, connect: Any, receiver: WebhookReceiver
) -> None:
    client = connect("slow", streaming=True)
    request = push_request("3", receiver.url, "tok-1", scheme="Bearer", credentials="cred-1")
    events = await stream_events(client, request)
    assert is_final(events[-1]), events
    await receiver.wait_for(lambda got: len(got) >= len(events), timeout=60)
    await asyncio.sleep(1.0)  # anything extra would arrive now
    assert [n.body for n in receiver.received] == events
    for n in receiver.received:
        assert n.headers["X-A2A-Notification-Token"] == "tok-1"
        assert n.headers["Authorization"] == "Bearer cred-1"
        assert n.headers["Content-Type"] == "application/json"
    kinds = [next(iter(body)) for body in events]
    assert kinds[0] == "task" and kinds.count("artifactUpdate") == 3, kinds
    # delivered records are committed: the task's outbox partition is committed to its end
    partition = binding.partition_for(events[0]["task"]["contextId"], 8)
    topic = binding.push_topic(obs_worker.agent("slow"))
    committed, end = await push_offsets(obs_worker, topic, partition)
    deadline = time.monotonic() + 30
    while committed != end and time.monotonic() < deadline:
        await asyncio.sleep(1.0)
        committed, end = await push_offsets(obs_worker, topic, partition)
    assert committed == end >= len(events)


async def test_a_config_created_while_the_task_runs_gets_its_later_events(
    connect: Any, receiver: WebhookReceiver
) -> None:
    """The worker reads a task's push configs once per execution; creating one for a
    running task (``CreateTaskPushNotificationConfig``) makes it read them again, so
    the events after it are delivered; deleting it stops them."""
    client = connect("slow", streaming=True)
    events = client.send_message(
        SendMessageRequest(message=new_text_message("15", role=Role.ROLE_USER))
    )
    first = MessageToDict(await anext(events))
    task_id = first["task"]["id"]
    created = await client.create_task_push_notification_config(
        TaskPushNotificationConfig(task_id=task_id, url=receiver.url, token="tok-late")
    )
    await receiver.wait_for(lambda got: len(got) >= 2, timeout=30)
    await client.delete_task_push_notification_config(
        DeleteTaskPushNotificationConfigRequest(task_id=task_id, id=created.id)
    )
    deleted_at = len(receiver.received)
    rest = [MessageToDict(event) async for event in events]
    assert is_final(rest[-1]), rest
    await asyncio.sleep(1.0)  # a notification after the delete would arrive now
    delivered = [n.body for n in receiver.received]
    assert all(body in rest for body in delivered), "only events after the config was created"
    assert all(n.headers["X-A2A-Notification-Token"] == "tok-late" for n in receiver.received)
    assert len(delivered) <= deleted_at + 2, "events went on being delivered after the delete"
    assert not any(is_final(body) for body in delivered)


async def test_receiver_down_for_five_seconds_gets_everything_after(
    connect: Any, receiver: WebhookReceiver
) -> None:
    client = connect("slow", streaming=True)
    calling = asyncio.create_task(stream_events(client, push_request("30", receiver.url, "tok-2")))
    await receiver.wait_for(lambda got: len(got) >= 1, timeout=60)
    await receiver.stop()
    stopped_at = time.monotonic()
    await asyncio.sleep(5.0)
    await receiver.start()
    events = await calling
    assert time.monotonic() - stopped_at < 6.0 + 30 * 0.2, "the task ended long before"
    assert is_final(events[-1])
    await receiver.wait_for(lambda got: any(is_final(n.body) for n in got), timeout=90)
    assert first_seen(receiver.received) == events
    assert all(n.headers["X-A2A-Notification-Token"] == "tok-2" for n in receiver.received)


async def test_other_tasks_are_not_held_up_by_a_failing_webhook(
    connect: Any, receiver: WebhookReceiver
) -> None:
    dead = WebhookReceiver()  # never started: every POST is refused
    client = connect("slow", streaming=True)
    stuck = await stream_events(client, push_request("1", dead.url, "tok-dead"))
    started = time.monotonic()
    events = await stream_events(client, push_request("1", receiver.url, "tok-live"))
    await receiver.wait_for(lambda got: any(is_final(n.body) for n in got), timeout=30)
    assert time.monotonic() - started < 20
    assert first_seen(receiver.received) == events
    assert is_final(stuck[-1])


async def dead_letters(obs: ObsWorker, task_id: str, count: int) -> list[Any]:
    """The first ``count`` records of the slow agent's DLQ whose ``push-task-id`` is ``task_id``."""
    consumer = AIOKafkaConsumer(
        binding.dlq_topic(obs.agent("slow")),
        bootstrap_servers=obs.bootstrap_servers,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    found: list[Any] = []
    try:
        deadline = time.monotonic() + 60
        while len(found) < count and time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=1000)
            for records in batches.values():
                found.extend(
                    r for r in records if binding.header(r.headers, binding.PUSH_TASK_ID) == task_id
                )
    finally:
        await consumer.stop()
    return found


async def test_a_refused_notification_goes_to_the_dlq_with_its_reason(
    obs_worker: ObsWorker, connect: Any, receiver: WebhookReceiver
) -> None:
    receiver.status = 404
    client = connect("slow", streaming=True)
    events = await stream_events(client, push_request("1", receiver.url, "tok-404"))
    task_id = events[0]["task"]["id"]
    letters = await dead_letters(obs_worker, task_id, len(events))
    assert [json.loads(r.value) for r in letters] == events
    for record in letters:
        headers = dict(record.headers)
        assert headers[binding.DLQ_REASON] == b"http-404"
        assert headers[binding.DLQ_TOPIC] == binding.push_topic(obs_worker.agent("slow")).encode()
        assert record.key == events[0]["task"]["contextId"].encode()
        assert b"tok-404" not in b"".join(v for _, v in record.headers)
    assert receiver.received == []
    slow = obs_worker.agent("slow")
    samples = metric_samples(obs_worker)
    letters_key = ("faust_a2a_dead_letters_total", (("agent", slow), ("reason", "push-http-404")))
    failures_key = ("faust_a2a_push_failures_total", (("agent", slow), ("reason", "http-404")))
    assert samples[letters_key] == samples[failures_key] == len(events)
    delivered = ("faust_a2a_push_deliveries_total", (("agent", slow), ("outcome", "delivered")))
    assert samples[delivered] >= 1  # the earlier tests' notifications


async def test_balance_ask_is_one_trace_across_peers_and_pushes(
    obs_worker: ObsWorker, connect: Any, receiver: WebhookReceiver
) -> None:
    exporter = in_memory_exporter()
    tracer = trace.get_tracer("test-caller")
    client = connect("balance", streaming=False)
    with tracer.start_as_current_span("caller asks balance") as caller:
        request = push_request("Is Terran too strong?", receiver.url, "tok-trace")
        events = [e async for e in client.send_message(request)]
    trace_id = format(caller.get_span_context().trace_id, "032x")
    assert events[-1].task.status.state == 3, events  # TASK_STATE_COMPLETED
    caller_spans = {f"0x{s.context.span_id:016x}": s for s in exporter.get_finished_spans()}
    assert all(
        s.context.trace_id == caller.get_span_context().trace_id for s in caller_spans.values()
    )
    await receiver.wait_for(lambda got: any(is_final(n.body) for n in got), timeout=60)
    assert all(n.headers["traceparent"].split("-")[1] == trace_id for n in receiver.received)

    balance, data, cs = (obs_worker.agent(n) for n in ("balance", "data", "cs"))
    deadline = time.monotonic() + 30
    expected = {
        f"{balance} SendMessage",
        f"{balance} execute",
        f"peer {data}",
        f"peer {cs}",
        f"{data} SendMessage",
        f"{cs} SendMessage",
        f"{data} execute",
        f"{cs} execute",
        f"{balance} push",
    }
    while True:
        spans = [s for s in obs_worker.spans() if s["context"]["trace_id"] == f"0x{trace_id}"]
        names = {s["name"] for s in spans}
        if expected <= names or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.5)
    assert expected <= names, sorted(names)
    by_id = {s["context"]["span_id"]: s for s in spans}

    def ancestors(name: str) -> list[str]:
        """Names of the spans above span ``name``, nearest first; ``caller`` for the
        caller's process (a2a-sdk's own spans may sit in between)."""
        chain, parent = [], named[name]["parent_id"]
        while parent is not None:
            if parent in caller_spans:
                return [*chain, "caller"]
            chain.append(by_id[parent]["name"])
            parent = by_id[parent]["parent_id"]
        return chain

    named = {s["name"]: s for s in spans}
    assert ancestors(f"{balance} SendMessage")[-1] == "caller"
    assert f"{balance} SendMessage" in ancestors(f"{balance} execute")
    for peer in (data, cs):
        assert ancestors(f"peer {peer}")[0] == f"{balance} execute"
        assert f"peer {peer}" in ancestors(f"{peer} SendMessage")
        assert f"{peer} SendMessage" in ancestors(f"{peer} execute")
    assert f"{balance} SendMessage" in ancestors(f"{balance} push")


def metric_samples(obs: ObsWorker) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of the worker's ``/metrics``, by name and sorted labels."""
    with urllib.request.urlopen(obs.process.url + "/metrics", timeout=10) as response:
        return {
            (sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(response.read().decode())
            for sample in family.samples
        }


async def paused_outbox_partitions(obs: ObsWorker, agent: str, count: int) -> float:
    """The worker's ``faust_a2a_outbox_partitions_paused`` of ``agent`` once it is
    ``count``, or as it stands after 30 s."""
    key = ("faust_a2a_outbox_partitions_paused", (("agent", agent),))
    deadline = time.monotonic() + 30
    while (paused := metric_samples(obs).get(key)) != count and time.monotonic() < deadline:
        await asyncio.sleep(0.5)
    return paused if paused is not None else -1


async def test_caught_up_outbox_partitions_are_paused_and_resumed_for_any_record(
    obs_worker: ObsWorker, connect: Any, receiver: WebhookReceiver
) -> None:
    slow = obs_worker.agent("slow")
    assert await paused_outbox_partitions(obs_worker, slow, 8) == 8
    # a record this worker produces resumes its partition at once
    client = connect("slow", streaming=True)
    events = await stream_events(client, push_request("1", receiver.url, "tok-pause"))
    await receiver.wait_for(lambda got: len(got) >= len(events), timeout=30)
    assert [n.body for n in receiver.received] == events
    assert await paused_outbox_partitions(obs_worker, slow, 8) == 8
    # a record another producer writes (a worker that has just lost the partition) is
    # found at the next check of the end offsets, and delivered
    topic = binding.push_topic(slow)
    partition = binding.partition_for(events[0]["task"]["contextId"], 8)
    tp = TopicPartition(topic, partition)
    consumer = AIOKafkaConsumer(bootstrap_servers=obs_worker.bootstrap_servers)
    await consumer.start()
    try:
        consumer.assign([tp])
        end = (await consumer.end_offsets([tp]))[tp]
        consumer.seek(tp, end - 1)
        last = (await consumer.getmany(tp, timeout_ms=10_000))[tp][-1]
    finally:
        await consumer.stop()
    producer = AIOKafkaProducer(bootstrap_servers=obs_worker.bootstrap_servers)
    await producer.start()
    try:
        await producer.send_and_wait(
            topic, last.value, key=last.key, partition=partition, headers=list(last.headers)
        )
    finally:
        await producer.stop()
    await receiver.wait_for(lambda got: len(got) > len(events), timeout=30)
    assert receiver.received[-1].body == json.loads(last.value) == events[-1]
    assert await paused_outbox_partitions(obs_worker, slow, 8) == 8


async def test_worker_killed_after_a_state_change_still_delivers(
    obs_worker: ObsWorker, connect: Any, receiver: WebhookReceiver
) -> None:
    await receiver.stop()  # nothing can be delivered before the kill
    client = connect("slow", streaming=True)
    events = await stream_events(client, push_request("2", receiver.url, "tok-kill"))
    assert is_final(events[-1])  # the last state change: its outbox record is written
    obs_worker.restart(signal.SIGKILL)
    await receiver.start()
    await receiver.wait_for(lambda got: any(is_final(n.body) for n in got), timeout=120)
    assert first_seen(receiver.received) == events
    assert all(n.headers["X-A2A-Notification-Token"] == "tok-kill" for n in receiver.received)

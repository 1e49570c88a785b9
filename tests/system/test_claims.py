"""What the README and docs/kafka-binding.md promise, against real worker processes.

Requests go through a2a-sdk ``Client``s on ``KafkaTransport`` or raw records; what the
workers did is read back from the broker (responses, DLQ, changelogs) and from web
views. The ``/probe`` views (``support.probes``) show the live consumer for the Faust
workarounds, which no A2A call shows.
"""

from __future__ import annotations

import asyncio
import json
import signal
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator

import pytest
from a2a.client import A2AClientTimeoutError, Client, ClientConfig
from a2a.helpers import get_artifact_text, get_message_text, new_text_message
from a2a.types import (
    GetTaskRequest,
    ListTasksRequest,
    Role,
    SendMessageConfiguration,
    SendMessageRequest,
    Task,
    TaskPushNotificationConfig,
    TaskState,
)
from a2a.utils.errors import A2AError
from aiokafka import AIOKafkaConsumer, TopicPartition
from support.cluster import Cluster
from support.dataset import win_rate_line
from support.records import RawPeer, header, read_topic
from support.webhook import WebhookReceiver

from app.binding import PUSH_TASK_ID, partition_for, push_topic, requests_topic
from app.transport import kafka_client_factory

pytestmark = pytest.mark.kafka

RACES = ("Terran", "Zerg", "Protoss")
PARTITIONS = 8
#: Settings of the configured worker, each shown by one test below.
MAX_IN_FLIGHT, INTERRUPTED_TASK_TIMEOUT, FETCH_MAX_WAIT_MS = 2, 3, 77
#: Above the producers' ``max.request.size`` (1 MiB, Kafka's default).
OVERSIZED = 1_500_000


async def send(client: Client, text: str, **ids: str) -> Task:
    """Sends a message (unary client) and returns the task it ended in."""
    request = SendMessageRequest(message=new_text_message(text, role=Role.ROLE_USER, **ids))
    (event,) = [e async for e in client.send_message(request)]
    return event.task


def contexts_on_one_partition(count: int, avoid: frozenset[int] = frozenset()) -> list[str]:
    """``count`` new context ids that all route to one partition not in ``avoid``."""
    first = uuid.uuid4().hex
    while partition_for(first, PARTITIONS) in avoid:
        first = uuid.uuid4().hex
    target = partition_for(first, PARTITIONS)
    found = [first]
    while len(found) < count:
        candidate = uuid.uuid4().hex
        if partition_for(candidate, PARTITIONS) == target:
            found.append(candidate)
    return found


def completed_at(task: Task) -> float:
    """The worker's clock when ``task`` reached its state, seconds since the epoch."""
    return task.status.timestamp.ToNanoseconds() / 1e9


@pytest.fixture(scope="module")
def configured(
    bootstrap_servers: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    """One worker with ``FAUST_A2A_MAX_IN_FLIGHT``, ``…_INTERRUPTED_TASK_TIMEOUT`` and
    ``…_FETCH_MAX_WAIT_MS`` set away from their defaults, shared by this module."""
    cluster = Cluster(
        bootstrap_servers,
        tmp_path_factory.mktemp("configured"),
        env={
            "FAUST_A2A_MAX_IN_FLIGHT": str(MAX_IN_FLIGHT),
            "FAUST_A2A_INTERRUPTED_TASK_TIMEOUT": str(INTERRUPTED_TASK_TIMEOUT),
            "FAUST_A2A_FETCH_MAX_WAIT_MS": str(FETCH_MAX_WAIT_MS),
        },
    )
    cluster.start_worker()
    yield cluster
    for worker in cluster.workers:
        worker.stop(signal.SIGTERM)


@pytest.fixture
async def connect(configured: Cluster) -> AsyncIterator[Callable[..., Client]]:
    """``connect(agent, **ClientConfig fields)`` → a Client of the configured worker."""
    cards = await configured.cards()
    clients: list[Client] = []

    def _connect(name: str, **config: object) -> Client:
        factory = kafka_client_factory(ClientConfig(**config))  # type: ignore[arg-type]
        clients.append(factory.create(cards[configured.agent(name)]))
        return clients[-1]

    yield _connect
    for client in clients:
        await client.close()


async def test_requests_wait_while_no_worker_runs(make_cluster: Callable[..., Cluster]) -> None:
    """Stop every worker, send N requests, start a worker: all N are answered within
    their deadlines (README: "requests wait durably in a topic while an agent is down")."""
    cluster = make_cluster()
    worker = cluster.start_worker()
    # A fresh worker, before its first task: unknown ids are 404s, not errors.
    assert worker.get(f"/contexts/{uuid.uuid4().hex}")[0] == 404
    assert worker.get(f"/tasks/{uuid.uuid4().hex}.{uuid.uuid4().hex}")[0] == 404
    client = await cluster.client("data", streaming=False)
    assert (await send(client, "Terran win rate")).status.state == TaskState.TASK_STATE_COMPLETED
    worker.stop(signal.SIGTERM)

    deadline = time.monotonic() + 40  # KafkaTransport's default per-call deadline
    calls = [asyncio.create_task(send(client, f"{RACES[i % 3]} win rate")) for i in range(30)]
    await asyncio.sleep(3)
    assert not any(call.done() for call in calls), "answered while no worker ran"
    cluster.start_worker(0)

    tasks = await asyncio.gather(*calls)
    assert time.monotonic() < deadline
    for i, task in enumerate(tasks):
        assert task.status.state == TaskState.TASK_STATE_COMPLETED
        assert get_artifact_text(task.artifacts[0]) == win_rate_line(RACES[i % 3])


async def test_a_long_task_does_not_stall_its_partition(
    connect: Callable[..., Client],
) -> None:
    """One slow task, then fast requests on the same partition: the fast ones finish
    first (docs/kafka-binding.md §9: records are handled concurrently)."""
    client = connect("slow", streaming=False)
    slow_context, *fast_contexts = contexts_on_one_partition(4)
    slow = asyncio.create_task(send(client, "15", context_id=slow_context))  # 3 s
    await asyncio.sleep(0.5)
    fast = [await send(client, "1", context_id=context) for context in fast_contexts]
    assert not slow.done(), "the slow task finished before the fast ones were answered"
    long_task = await slow
    for task in fast:
        assert task.status.state == TaskState.TASK_STATE_COMPLETED
        assert completed_at(task) < completed_at(long_task)


async def test_max_in_flight_bounds_concurrent_requests(
    connect: Callable[..., Client],
) -> None:
    """With ``FAUST_A2A_MAX_IN_FLIGHT=2`` and two slow tasks in flight, a third request
    waits until one of them is done (README: "requests one agent handles at once per
    worker")."""
    client = connect("slow", streaming=False)
    first, second, third = contexts_on_one_partition(3)
    slow = [asyncio.create_task(send(client, "10", context_id=first))]  # 2 s each
    await asyncio.sleep(0.3)
    slow.append(asyncio.create_task(send(client, "10", context_id=second)))
    await asyncio.sleep(0.3)
    fast = await send(client, "1", context_id=third)
    ended = sorted(completed_at(task) for task in await asyncio.gather(*slow))
    assert fast.status.state == TaskState.TASK_STATE_COMPLETED
    assert completed_at(fast) >= ended[0], "a third request ran beside two in flight"


async def test_a_waiting_task_holds_nothing_in_memory(
    connect: Callable[..., Client], configured: Cluster
) -> None:
    """The lean handler keeps nothing of an ``input-required`` task between turns (no
    asyncio task; ``FAUST_A2A_INTERRUPTED_TASK_TIMEOUT`` is a2a-sdk's handler's): a
    follow-up loads the task from the table and the conversation goes on."""
    worker = configured.workers[0]
    client = connect("data", streaming=False)
    parked = [await send(client, "What is the win rate?") for _ in range(3)]

    def held(task: Task) -> int:
        status, body = worker.get(f"/probe/asyncio-tasks/{task.id}")
        assert status == 200, body
        return int(body["count"])

    assert all(task.status.state == TaskState.TASK_STATE_INPUT_REQUIRED for task in parked)
    assert [held(task) for task in parked] == [0, 0, 0]
    for task, race in zip(parked, RACES, strict=True):
        done = await send(client, race, task_id=task.id)
        assert done.id == task.id
        assert done.status.state == TaskState.TASK_STATE_COMPLETED
        assert get_artifact_text(done.artifacts[0]) == win_rate_line(race)


async def test_worker_consumer_fetch_wait_is_the_setting(configured: Cluster) -> None:
    """``app.kafka_driver``: the live worker consumer's fetch wait is
    ``FAUST_A2A_FETCH_MAX_WAIT_MS``, not Faust's hard-coded 1500 ms."""
    status, body = configured.workers[0].get("/probe/consumer")
    assert status == 200, body
    assert body["fetch_max_wait_ms"] == FETCH_MAX_WAIT_MS


async def test_worker_consumer_runs_on_the_worker_loop(configured: Cluster) -> None:
    """``app.kafka_driver.InlineConsumerThread``: the worker's aiokafka consumer runs on
    the worker's event loop, and Faust started no consumer thread for it."""
    status, body = configured.workers[0].get("/probe/consumer")
    assert status == 200, body
    assert body["on_worker_loop"] is True
    assert "WorkerThread" not in body["threads"], body["threads"]


async def test_worker_consumer_fetches_only_what_the_worker_reads(configured: Cluster) -> None:
    """``app.kafka_driver.Consumer.pause_partitions``: once recovery is over, the
    worker's aiokafka consumer no longer fetches the tables' changelogs (Faust pauses
    them only in its own bookkeeping) nor the recovery topic (paused by the worker after
    its record), while every partition of the request topic stays fetched."""
    deadline = time.monotonic() + 30
    while True:
        status, body = configured.workers[0].get("/probe/consumer")
        assert status == 200, body
        fetching = body["fetching"]
        idle = [t for t in fetching if t.endswith(("-changelog", "-recovery"))]
        if not idle or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.5)
    assert not idle, fetching
    assert fetching.get(requests_topic(configured.agent("data"))) == PARTITIONS, fetching


async def test_worker_runs_on_uvloop(configured: Cluster) -> None:
    """``app.event_loop``: a worker started as ``faust -A <app> worker``, without
    ``--loop``, runs on uvloop (the choice must be made before Faust creates its loop)."""
    status, body = configured.workers[0].get("/probe/consumer")
    assert status == 200, body
    assert body["loop"] == "uvloop", body


async def test_worker_freezes_its_startup_heap(configured: Cluster) -> None:
    """``app.heap``: once started, the worker's startup objects sit in the collector's
    permanent generation, which its full collections skip."""
    status, body = configured.workers[0].get("/probe/heap")
    assert status == 200, body
    assert body["frozen"] > 50_000


async def test_task_writes_after_the_record_land_in_its_partition(
    connect: Callable[..., Client], configured: Cluster, bootstrap_servers: str
) -> None:
    """The pinned event (``app.worker.pin_current_event``): a task that runs on after
    its request record was handled and acked (``return_immediately``) still writes
    every state to the changelog partition of its conversation."""
    poller = connect("slow", streaming=False, polling=True)
    context_id = uuid.uuid4().hex
    started = await send(poller, "5", context_id=context_id)  # runs 1 s after the answer
    assert started.status.state != TaskState.TASK_STATE_COMPLETED
    async with asyncio.timeout(30):
        while True:
            task = await poller.get_task(GetTaskRequest(id=started.id))
            if task.status.state == TaskState.TASK_STATE_COMPLETED:
                break
            await asyncio.sleep(0.3)
    assert get_artifact_text(task.artifacts[0]).endswith("tick 4")
    writes = await read_topic(
        bootstrap_servers,
        f"{configured.app_id}-tasks-changelog",
        lambda r: started.id.encode() in (r.key or b""),
    )
    assert len(writes) >= 3, "the later states were not written"
    assert {r.partition for r in writes} == {partition_for(context_id, PARTITIONS)}
    last = Task()
    last.ParseFromString(writes[-1].value)
    assert last.status.state == TaskState.TASK_STATE_COMPLETED


async def test_never_committed_partitions_are_rewound(
    connect: Callable[..., Client], configured: Cluster, bootstrap_servers: str
) -> None:
    """``app.offsets``: after a rebalance Faust seeks every partition to its committed
    offset; one that was never committed is rewound to its earliest offset, so records
    Faust fetched and dropped meanwhile are read again instead of lost."""
    agent = configured.agent("slow")
    topic = requests_topic(agent)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers)
    await consumer.start()
    try:
        ends = await consumer.end_offsets([TopicPartition(topic, p) for p in range(PARTITIONS)])
    finally:
        await consumer.stop()
    used = frozenset(tp.partition for tp, end in ends.items() if end > 0)
    assert len(used) < PARTITIONS, "no partition is left without records"
    (context_id,) = contexts_on_one_partition(1, avoid=used)
    partition = partition_for(context_id, PARTITIONS)
    client = connect("slow", streaming=False)
    # The record stays in flight (unacked, so never committed) for 5 s.
    in_flight = asyncio.create_task(send(client, "25", context_id=context_id))
    await asyncio.sleep(1.5)
    status, body = configured.workers[0].get(f"/probe/reseek/{requests_topic(agent)}/{partition}/1")
    assert status == 200, body
    assert body == {"before": 1, "after": 0}
    await in_flight


async def test_request_records_never_wait_in_faust_stream_buffers(
    connect: Callable[..., Client], configured: Cluster
) -> None:
    """``app.kafka_driver.Transport.deliver_directly``: Faust's ``Recovery`` resumes the
    flow around its seek after every rebalance, and each resume clears the streams'
    buffers. Request records are handed from the fetch loop to the agent's handler and
    never wait in a stream's buffer: here two slow tasks fill
    ``FAUST_A2A_MAX_IN_FLIGHT``, one record waits for a slot and more wait behind it,
    a resume clears nothing, and every call is answered."""
    client = connect("slow", streaming=False)
    first, second, waiting, behind, after = contexts_on_one_partition(5)
    calls = [asyncio.create_task(send(client, "10", context_id=c)) for c in (first, second)]
    await asyncio.sleep(0.5)
    calls.append(asyncio.create_task(send(client, "1", context_id=waiting)))
    await asyncio.sleep(0.3)
    calls.append(asyncio.create_task(send(client, "1", context_id=behind)))
    await asyncio.sleep(0.3)
    status, body = configured.workers[0].get("/probe/resume-flow")
    assert status == 200, body
    assert body["cleared"] == 0, "request records waited in a Faust stream's buffer"
    calls.append(asyncio.create_task(send(client, "1", context_id=after)))
    tasks = await asyncio.wait_for(asyncio.gather(*calls), 20)
    assert [task.status.state for task in tasks] == [TaskState.TASK_STATE_COMPLETED] * 5
    assert [task.context_id for task in tasks] == [first, second, waiting, behind, after]


async def test_a_lone_call_puts_its_task_on_the_wire_before_encoding_its_answer(
    connect: Callable[..., Client], configured: Cluster
) -> None:
    """``app.handler.PRODUCER_STEPS``: on an otherwise idle worker, each step of the
    executor (here the task and ``working``, then 0.2 s later the artifact and
    ``completed``) has its table write on the broker's socket before the binding
    encodes the step's answers, so encoding overlaps the broker's acknowledgement. It
    fails when Faust or aiokafka take more event-loop steps to produce a record."""
    client = connect("slow", streaming=True)
    worker = configured.workers[0]
    status, body = worker.get("/probe/answer-order")
    assert status == 200, body
    request = SendMessageRequest(message=new_text_message("1", role=Role.ROLE_USER))
    events = [event async for event in client.send_message(request)]
    assert events[-1].status_update.status.state == TaskState.TASK_STATE_COMPLETED
    status, body = worker.get("/probe/answer-order")
    assert status == 200, body
    steps = [
        kind for i, kind in enumerate(body["events"]) if kind != body["events"][i - 1] or i == 0
    ]
    assert steps == ["changelog", "encode", "changelog", "encode"], body["events"]


async def test_a_push_record_faust_drops_is_read_again(
    make_cluster: Callable[..., Cluster], bootstrap_servers: str
) -> None:
    """``app.acks`` on the push outbox: with ``FAUST_A2A_PUSH_MAX_PENDING=1`` and a
    webhook that hangs, one outbox record is being delivered, the next waits for the
    slot and the rest of the task's notifications wait in the stream's buffer, which a
    resume of the flow (as ``Recovery`` does) clears. A later task's notifications on
    the same partition show the gap, the partition is read again, and every
    notification of both tasks reaches the webhook once it answers."""
    cluster = make_cluster(
        env={
            "FAUST_A2A_PUSH_MAX_PENDING": "1",
            "FAUST_A2A_PUSH_ALLOW": "127.0.0.1/32",
            "FAUST_A2A_PUSH_TIMEOUT": "30",
        }
    )
    worker = cluster.start_worker()
    receiver = await WebhookReceiver().start()
    try:
        receiver.open.clear()
        client = await cluster.client("data", streaming=False)
        dropped, after = contexts_on_one_partition(2)
        tasks = [await send_with_push(client, "Terran win rate", dropped, receiver.url)]
        outbox = push_topic(cluster.agent("data"))
        await read_topic(bootstrap_servers, outbox, lambda r: True, timeout=10)
        await asyncio.sleep(1)  # the worker fetched them: one waits at the webhook
        status, body = worker.get("/probe/resume-flow")
        assert status == 200, body
        assert body["cleared"] >= 1, "no outbox record was dropped from the buffer"
        tasks.append(await send_with_push(client, "Zerg win rate", after, receiver.url))
        receiver.open.set()
        ids = {task.id for task in tasks}
        records = await read_topic(
            bootstrap_servers, outbox, lambda r: header(r, PUSH_TASK_ID) in ids
        )
        expected = [json.loads(record.value) for record in records]
        await receiver.wait_for(lambda got: all(b in [n.body for n in got] for b in expected), 30)
        assert {header(r, PUSH_TASK_ID) for r in records} == ids
    finally:
        await receiver.stop()


async def send_with_push(client: Client, text: str, context_id: str, url: str) -> Task:
    """Sends a message whose task notifies ``url``; returns the task it ended in."""
    request = SendMessageRequest(
        message=new_text_message(text, role=Role.ROLE_USER, context_id=context_id),
        configuration=SendMessageConfiguration(
            task_push_notification_config=TaskPushNotificationConfig(url=url, token="t")
        ),
    )
    (event,) = [e async for e in client.send_message(request)]
    return event.task


async def test_answers_too_large_for_kafka(make_cluster: Callable[..., Cluster]) -> None:
    """A task that grows past what a changelog record may hold ends ``failed`` and its
    caller is told why; a >1 MiB answer that cannot be produced is answered with an A2A
    error and dead-lettered with the reason. Neither leaves the caller waiting, and the
    worker serves on."""
    cluster = make_cluster()
    worker = cluster.start_worker()
    card = (await cluster.cards())[cluster.agent("probe")]
    client = kafka_client_factory(ClientConfig(streaming=False), timeout=20.0).create(card)
    cluster.clients.append(client)
    dlq = f"agent.{cluster.agent('probe')}.dlq"
    peer = await RawPeer(cluster.bootstrap_servers, dlq).start()
    try:
        context_id = uuid.uuid4().hex
        request = SendMessageRequest(
            message=new_text_message(f"big {OVERSIZED}", role=Role.ROLE_USER, context_id=context_id)
        )
        started = time.monotonic()
        with pytest.raises(A2AError) as raised:
            _ = [event async for event in client.send_message(request)]
        assert not isinstance(raised.value, A2AClientTimeoutError), "the caller was left waiting"
        assert "more than a stored task may be" in str(raised.value)
        (failed,) = (await client.list_tasks(ListTasksRequest(context_id=context_id))).tasks
        assert failed.status.state == TaskState.TASK_STATE_FAILED
        assert "more than a stored task may be" in get_message_text(failed.status.message)

        request = SendMessageRequest(
            message=new_text_message(f"bigmessage {OVERSIZED}", role=Role.ROLE_USER)
        )
        with pytest.raises(A2AError) as raised:
            _ = [event async for event in client.send_message(request)]
        assert not isinstance(raised.value, A2AClientTimeoutError), "the caller was left waiting"
        assert time.monotonic() - started < 60
        message_id = request.message.message_id.encode()
        dead = await peer.wait_for(lambda r: message_id in (r.value or b""))
        assert header(dead, "dlq-reason") == "response-too-large"
        assert "too large" in (header(dead, "dlq-error") or "")
    finally:
        await peer.stop()
    assert worker.process is not None and worker.process.poll() is None, worker.log_tail()
    small = await send(client, "big 10")
    assert get_artifact_text(small.artifacts[0]) == "x" * 10

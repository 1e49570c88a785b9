"""Fault injection under load: brokers and workers to break, a load to run, an audit.

The pieces, used by ``tests/chaos``:

- :class:`KafkaCluster`: the broker(s) of one test module, run by ``scripts/kafka`` on
  ports of their own (``CHAOS_KAFKA_PORT``, default 28092; node *i* on port + *i* - 1,
  controllers on port + 100 + *i* - 1) with data in the test's tmp dir, so a test may
  stop, kill and restart them. Nodes are killed by the PID in their pid file. The
  ports must lie outside the kernel's ephemeral range (``ip_local_port_range``, 32768
  and up on Linux): while a broker is down its clients reconnect thousands of times a
  second, and one such connect can be given the broker's own port as its source port
  and connect to itself (a TCP self-connect), which then holds the port and the broker
  cannot start again ("a port is already in use").
- :class:`EchoWorkers`: real ``faust -A support.chaos_app worker`` processes hosting
  the ``echo`` agent (:mod:`support.echo_agent`: working → 0.5 s → artifact →
  completed; each execution appended to a file).
- :func:`run_scenario`: ``calls`` ``SendMessage`` calls, ``concurrency`` at a time,
  each in a fresh conversation (its own ``context_id``), through a2a-sdk ``Client``\\s
  on ``KafkaTransport``, while a fault script runs; the load goes on until the
  script is over. Then it waits for the system to settle and audits every
  conversation: ``ListTasks`` (all partitions, paged) for what exists, ``GetTask`` for what each
  caller was told, the executions file for what ran twice, the agent's DLQ for what was
  dead-lettered, the workers' logs for what they wrote during the fault.
- :class:`Report`: the figures of one run, one JSON line.

Definitions (issue 8):

- *lost*: a conversation with no task, whose request was not dead-lettered and whose
  caller was not told of a failure (any error but a timeout waiting for the answer;
  ``KafkaTransport``'s timeout "could not produce the request" tells the caller). A caller
  told a task the store does not have also counts as lost.
  ``lost_with_request_in_topic`` counts the lost whose request record is in the
  requests topic: a worker consumed it and answered nothing (the sample names the
  record's partition and offset, to find it in the workers' logs).
  ``lost_acknowledged_not_written`` counts the lost whose request the broker
  acknowledged (``KafkaTransport`` waited for the answer, which it does only after the
  acknowledgement) but which the requests topic does not hold: no worker ever saw it.
- *dead-lettered*: the calls whose request is in the agent's DLQ, counted by the
  record's ``dlq-reason`` (``deadline-exceeded``: it reached a worker after the
  caller's deadline, e.g. while the broker was down).
- *non-terminal*: a stored task not in a terminal state after the settle period.
- *told a state the store does not hold*: the caller's answer names a task whose
  stored state is another terminal state, is missing, or is behind the state told
  (``submitted`` < ``working`` < terminal).
- *conversations with extra tasks*: conversations of one message that hold more than
  one task (the message ran again as a new task: a duplicate execution).
- *calls after the fault*: calls started once the fault script was over (every
  caller makes one); all completed means serving resumed by itself.
- *failed by the orphan rule*: a ``failed`` task whose status message says the worker
  running it stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import re
import signal
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from a2a.client import A2AClientTimeoutError, Client, ClientConfig
from a2a.helpers import get_artifact_text, new_text_message
from a2a.types import GetTaskRequest, ListTasksRequest, Role, SendMessageRequest, TaskState
from a2a.utils.errors import TaskNotFoundError
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from app import binding
from app.transport import kafka_client_factory
from support.clients import wait_for_cards
from support.processes import ROOT, WorkerProcess

KAFKA_SCRIPT = ROOT / "scripts" / "kafka"

TERMINAL = frozenset(
    {
        TaskState.TASK_STATE_COMPLETED,
        TaskState.TASK_STATE_FAILED,
        TaskState.TASK_STATE_CANCELED,
        TaskState.TASK_STATE_REJECTED,
    }
)
#: Order of the states a task of the echo agent goes through.
_RANK: dict[int, int] = {TaskState.TASK_STATE_SUBMITTED: 0, TaskState.TASK_STATE_WORKING: 1}
#: Words of the status message of a task ended by the orphan rule (issue 8: "the
#: worker running the task stopped").
ORPHAN_MESSAGE = re.compile(r"worker\b.*\bstopped", re.IGNORECASE)
#: A worker log line at a level (Faust's format: ``[time] [pid] [LEVEL] message``).
_LOG_LEVEL = re.compile(rb"^\[[^\]]*\] \[\d+\] \[(\w+)\]")


def env_int(name: str, default: int) -> int:
    """An integer from the environment (the chaos run's knobs), else ``default``."""
    raw = os.environ.get(name, "")
    return int(raw) if raw else default


#: The run numbers of each scenario: ``CHAOS_RUNS`` (default 1) runs, one after another.
RUNS = list(range(1, env_int("CHAOS_RUNS", 1) + 1))


class KafkaCluster:
    """``scripts/kafka`` broker(s) for fault injection, with data under ``data_dir``.

    Args:
        data_dir: ``KAFKA_DATA_DIR``, wiped by :meth:`reset`.
        port: Client port of node 1; node *i* uses ``port + i - 1``.
        brokers: Node count (1, or 3: replication factor 3, ``min.insync.replicas`` 2).
    """

    def __init__(self, data_dir: Path, port: int, brokers: int = 1) -> None:
        self.data_dir = data_dir
        self.port = port
        self.brokers = brokers
        self.env = {
            **os.environ,
            "KAFKA_PORT": str(port),
            "KAFKA_CONTROLLER_PORT": str(port + 100),
            "KAFKA_DATA_DIR": str(data_dir),
            "KAFKA_BROKERS": str(brokers),
            "KAFKA_STOP_TIMEOUT": "20",
            "KAFKA_START_TIMEOUT": "120",
        }

    @property
    def bootstrap_servers(self) -> str:
        """Every node's ``host:port``."""
        return ",".join(f"127.0.0.1:{self.port + i}" for i in range(self.brokers))

    def script(self, *args: str, timeout: float = 180.0) -> None:
        """Runs ``scripts/kafka ARGS`` for this cluster.

        Raises:
            RuntimeError: the script failed (its output in the message).
        """
        done = subprocess.run(
            [str(KAFKA_SCRIPT), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"scripts/kafka {' '.join(args)}: {done.stdout}{done.stderr}")

    def start(self, attempts: int = 3) -> None:
        """Starts every node that is not running and waits until all answer.

        A node restarted right after it stopped can find its controller port still
        held by closing connections ("Unable to start acceptor"): the start is tried
        up to ``attempts`` times, 5 s apart.

        Raises:
            RuntimeError: the last attempt failed.
        """
        for attempt in range(1, attempts + 1):
            try:
                self.script("--brokers", str(self.brokers), "start")
                return
            except RuntimeError:
                if attempt == attempts:
                    raise
                time.sleep(5)

    def stop(self) -> None:
        """Stops every node (SIGTERM, as an operator would)."""
        self.script("stop")

    def reset(self) -> None:
        """Stops every node and deletes the data."""
        self.script("reset")

    def node_pid(self, node: int) -> int | None:
        """The PID of node ``node`` (1-based) if it runs this cluster's config."""
        node_dir = self.data_dir / f"node-{node}"
        try:
            pid = int((node_dir / "kafka.pid").read_text())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except (OSError, ValueError):
            return None
        return pid if str(node_dir / "server.properties").encode() in cmdline else None

    def kill(self, node: int, timeout: float = 10.0) -> None:
        """SIGKILLs node ``node`` by PID and waits until it is gone.

        Raises:
            RuntimeError: the node is not running.
        """
        pid = self.node_pid(node)
        if pid is None:
            raise RuntimeError(f"node-{node} is not running")
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + timeout
        while self.node_pid(node) is not None and time.monotonic() < deadline:
            time.sleep(0.1)


class EchoWorkers:
    """Workers of one Faust app hosting ``<prefix>echo``, with their own data and logs.

    Args:
        bootstrap_servers: The broker(s).
        base: A directory for the workers' data, logs and the executions file.
        count: How many workers.
        env: Extra environment for every worker.
    """

    def __init__(
        self, bootstrap_servers: str, base: Path, count: int = 2, env: dict[str, str] | None = None
    ) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.base = base
        self.prefix = f"c{uuid.uuid4().hex[:6]}-"
        self.agent = f"{self.prefix}echo"
        self.executions_file = base / "executions.txt"
        self.env = {
            "TEST_AGENT_PREFIX": self.prefix,
            "CHAOS_EXECUTIONS_FILE": str(self.executions_file),
            **(env or {}),
        }
        self.workers = [self._process(i) for i in range(count)]

    def _process(self, index: int) -> WorkerProcess:
        return WorkerProcess(
            "support.chaos_app",
            bootstrap_servers=self.bootstrap_servers,
            app_id=f"{self.prefix}app",
            datadir=self.base / f"worker-{index}",
            log_path=self.base / f"worker-{index}.log",
            env=self.env,
        )

    async def start(self, timeout: float = 120.0) -> None:
        """Starts every worker at once; returns when all are ready and the card is out.

        Raises:
            RuntimeError, TimeoutError: a worker did not become ready in time.
        """
        await asyncio.gather(*(asyncio.to_thread(w.start, timeout) for w in self.workers))
        deadline = time.monotonic() + timeout
        while any(w.get("/health")[0] != 200 for w in self.workers):
            if time.monotonic() > deadline:
                raise TimeoutError([w.log_tail(5) for w in self.workers])
            await asyncio.sleep(0.5)
        await wait_for_cards(self.bootstrap_servers, {self.agent}, timeout)

    async def restart(self, index: int, timeout: float = 120.0) -> None:
        """Starts worker ``index`` again (same data directory and web port)."""
        old = self.workers[index]
        new = self._process(index)
        new.web_port = old.web_port
        new.env["FAUST_A2A_WEB_PORT"] = str(old.web_port)
        self.workers[index] = new
        await asyncio.to_thread(new.start, timeout)

    async def stop(self, index: int, sig: signal.Signals) -> None:
        """Sends ``sig`` to worker ``index`` by PID and waits until it exits."""
        await asyncio.to_thread(self.workers[index].stop, sig)

    def stop_all(self) -> None:
        """Stops every worker by PID (SIGTERM to all, SIGKILL to any left after 30 s)."""
        for worker in self.workers:
            if worker.process is not None and worker.process.poll() is None:
                worker.process.send_signal(signal.SIGTERM)
        for worker in self.workers:
            worker.stop(signal.SIGTERM)

    def log_marks(self) -> list[int]:
        """Where each worker's log ends now, bytes."""
        return [_size(w.log_path) for w in self.workers]

    def log_lines_since(self, marks: Sequence[int]) -> list[Counter[str]]:
        """Per worker, the lines written since ``marks``, counted by level (``lines``:
        every line, continuation lines such as tracebacks included)."""
        counts = []
        for worker, mark in zip(self.workers, marks, strict=True):
            with worker.log_path.open("rb") as log:
                log.seek(mark)
                text = log.read()
            counter: Counter[str] = Counter()
            for line in text.splitlines():
                counter["lines"] += 1
                match = _LOG_LEVEL.match(line)
                if match:
                    counter[match.group(1).decode()] += 1
            counts.append(counter)
        return counts

    def executions(self) -> Counter[str]:
        """How often each task id was executed."""
        if not self.executions_file.exists():
            return Counter()
        return Counter(self.executions_file.read_text().split())


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


@dataclass
class Call:
    """One ``SendMessage`` call of the load and what its caller saw."""

    index: int
    context_id: str
    text: str
    started: float
    ended: float = math.nan
    task_id: str = ""
    told: int | None = None
    error: str = ""
    error_detail: str = ""
    after_fault: bool = False


class Timeline:
    """Seconds since the load started, and the fault script's events at them."""

    def __init__(self) -> None:
        self.t0 = time.monotonic()
        self.events: list[tuple[float, str]] = []

    def now(self) -> float:
        """Seconds since the load started."""
        return time.monotonic() - self.t0

    def mark(self, event: str) -> float:
        """Records ``event`` now; returns its time."""
        at = round(self.now(), 2)
        self.events.append((at, event))
        return at


#: A fault script: breaks things while the load runs (its events on the timeline) and
#: returns when each of its faults started (seconds on the timeline).
Fault = Callable[[Timeline], Awaitable[list[float]]]


@dataclass
class Report:
    """The figures of one fault-injection run (see the module for the definitions)."""

    scenario: str
    run: int
    calls: int = 0
    answered: int = 0
    answered_completed: int = 0
    answered_not_terminal: int = 0
    calls_failed_clear_error: int = 0
    calls_timed_out: int = 0
    calls_after_fault: int = 0
    completed_after_fault: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    tasks: int = 0
    tasks_completed: int = 0
    tasks_completed_wrong_echo: int = 0
    tasks_failed_orphan_rule: int = 0
    tasks_failed_other: int = 0
    tasks_canceled_or_rejected: int = 0
    executions: int = 0
    tasks_run_again: int = 0
    conversations_with_extra_tasks: int = 0
    dead_lettered: int = 0
    dead_lettered_by_reason: dict[str, int] = field(default_factory=dict)
    tasks_lost: int = 0
    lost_with_request_in_topic: int = 0
    lost_acknowledged_not_written: int = 0
    tasks_non_terminal: int = 0
    told_state_not_in_store: int = 0
    audit_errors: int = 0
    latency_ms: dict[str, float] = field(default_factory=dict)
    fault_windows: list[dict[str, float]] = field(default_factory=list)
    worker_log_during_fault: list[dict[str, int]] = field(default_factory=list)
    timeline: list[tuple[float, str]] = field(default_factory=list)
    settle_seconds: float = 0.0
    seconds: float = 0.0
    samples: dict[str, list[str]] = field(default_factory=dict)

    def json_line(self) -> str:
        """The report as one JSON line."""
        return json.dumps(asdict(self), sort_keys=False, separators=(",", ":"))

    @property
    def worker_error_lines(self) -> int:
        """ERROR (and CRITICAL) lines the busiest worker wrote during the fault window."""
        return max(
            (c.get("ERROR", 0) + c.get("CRITICAL", 0) for c in self.worker_log_during_fault),
            default=0,
        )


def assert_nothing_lost(report: Report) -> None:
    """The three figures issue 8 requires to be 0 (lost, non-terminal, told a state the
    store does not hold), and an audit that could read every conversation.

    Raises:
        AssertionError: one is not 0 (the message is the report's JSON line).
    """
    assert report.audit_errors == 0, report.json_line()
    figures = (report.tasks_lost, report.tasks_non_terminal, report.told_state_not_in_store)
    assert figures == (0, 0, 0), report.json_line()


def percentiles(seconds: Sequence[float]) -> dict[str, float]:
    """``count``, ``p50_ms``, ``p99_ms``, ``max_ms`` (nearest rank) of ``seconds``."""
    ordered = sorted(seconds)

    def rank(q: float) -> float:
        return round(ordered[max(0, math.ceil(q * len(ordered)) - 1)] * 1000, 1)

    if not ordered:
        return {"count": 0}
    return {
        "count": len(ordered),
        "p50_ms": rank(0.5),
        "p99_ms": rank(0.99),
        "max_ms": round(ordered[-1] * 1000, 1),
    }


async def _call(client: Client, call: Call, timeline: Timeline, hard_timeout: float) -> None:
    request = SendMessageRequest(
        message=new_text_message(call.text, role=Role.ROLE_USER, context_id=call.context_id)
    )
    try:
        async with asyncio.timeout(hard_timeout):
            events = [event async for event in client.send_message(request)]
        task = events[-1].task
        call.task_id, call.told = task.id, task.status.state
    except Exception as exc:
        call.error = type(exc).__name__
        call.error_detail = str(exc)[:300]
    call.ended = timeline.now()


async def drive(
    clients: Sequence[Client],
    timeline: Timeline,
    *,
    calls: int,
    concurrency: int,
    until: asyncio.Event,
    max_calls: int,
    hard_timeout: float,
) -> list[Call]:
    """Runs ``concurrency`` callers, each sending one message at a time in a fresh
    conversation, until ``calls`` calls were made and ``until`` is set; each caller
    then makes one more call, started after ``until`` (at most ``max_calls`` in all).
    Those last calls show whether serving resumed once the fault was over."""
    made: list[Call] = []

    async def caller(number: int) -> None:
        client = clients[number % len(clients)]
        after = 0
        while len(made) < max_calls and not (len(made) >= calls and after > 0):
            after += until.is_set()
            index = len(made)
            call = Call(index, uuid.uuid4().hex, f"chaos {index}", timeline.now())
            call.after_fault = until.is_set()
            made.append(call)
            await _call(client, call, timeline, hard_timeout)

    await asyncio.gather(*(caller(n) for n in range(concurrency)))
    return made


async def topic_partitions(bootstrap_servers: str, topic: str) -> list[TopicPartition]:
    """The partitions of ``topic`` as the broker describes them (none if it does not
    exist; the topic is not created).

    A consumer's ``partitions_for_topic`` cannot tell: it reads the consumer's own
    metadata cache, which ``topics()`` does not fill, and answers ``None`` for a topic
    the consumer has not subscribed to or been assigned.
    """
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        described = await admin.describe_topics()
    finally:
        await admin.close()
    for entry in described:
        if entry["topic"] == topic:
            return sorted(TopicPartition(topic, p["partition"]) for p in entry["partitions"])
    return []


@dataclass(frozen=True)
class Seen:
    """Where a key's record is in a topic (the last one, if several) and the value of
    the header asked for ("" without one, or if none was asked)."""

    partition: int
    offset: int
    header: str = ""

    def __str__(self) -> str:
        return f"{self.partition}@{self.offset}"


async def topic_records(
    bootstrap_servers: str, topic: str, header: str | None = None
) -> dict[str, Seen]:
    """Every keyed record of ``topic`` (context ids, for requests and dead letters):
    its partition and offset, with the value of its ``header`` if one is asked.

    Raises:
        TimeoutError: reading to the end offsets took more than 30 s.
    """
    tps = await topic_partitions(bootstrap_servers, topic)
    seen: dict[str, Seen] = {}
    if not tps:
        return seen
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers, enable_auto_commit=False)
    try:
        await consumer.start()
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        deadline = time.monotonic() + 30
        while [tp for tp in tps if await consumer.position(tp) < ends[tp]]:
            if time.monotonic() > deadline:
                raise TimeoutError(f"reading {topic} took more than 30 s")
            for records in (await consumer.getmany(timeout_ms=500)).values():
                for record in records:
                    if record.key:
                        value = binding.header(record.headers, header) if header else None
                        seen[record.key.decode()] = Seen(
                            record.partition, record.offset, value or ""
                        )
    finally:
        await consumer.stop()
    return seen


@dataclass
class _Stored:
    """What the store holds for one conversation (``None``: the audit call failed)."""

    tasks: list[Any] | None


async def _list_conversations(client: Client, calls: Sequence[Call]) -> dict[str, _Stored]:
    """Every conversation's tasks, from one paged ``ListTasks`` over all partitions
    (asking each conversation with ``ListTasks(context_id)`` costs a table scan per
    conversation on the worker)."""
    for attempt in range(3):
        found: dict[str, list[Any]] = {}
        token = ""
        try:
            for _ in range(1000):
                page = await client.list_tasks(
                    ListTasksRequest(page_size=100, page_token=token, include_artifacts=True)
                )
                for task in page.tasks:
                    found.setdefault(task.context_id, []).append(task)
                token = page.next_page_token
                if not token:
                    return {c.context_id: _Stored(found.get(c.context_id, [])) for c in calls}
        except Exception:
            await asyncio.sleep(2 * (attempt + 1))
    return {c.context_id: _Stored(None) for c in calls}


async def _told_states(client: Client, calls: Sequence[Call]) -> dict[str, int | str | None]:
    """The stored state of each task a caller was told (``None``: not found; ``"?"``:
    the audit call failed)."""
    slots = asyncio.Semaphore(32)

    async def one(call: Call) -> tuple[str, int | str | None]:
        async with slots:
            for _ in range(3):
                try:
                    task = await client.get_task(GetTaskRequest(id=call.task_id))
                    return call.task_id, task.status.state
                except TaskNotFoundError:
                    return call.task_id, None
                except Exception:
                    await asyncio.sleep(1)
            return call.task_id, "?"

    return dict(await asyncio.gather(*(one(c) for c in calls if c.task_id)))


#: Start of the message of ``KafkaTransport``'s timeout when the request itself could
#: not be produced before the call's deadline (the caller is told it was not sent).
NOT_PRODUCED = "could not produce the request"


def _error_kind(call: Call) -> str:
    """The call's error type; a timeout says whether the request was not produced."""
    if call.error == A2AClientTimeoutError.__name__ and call.error_detail.startswith(NOT_PRODUCED):
        return f"{call.error} (request not produced)"
    return call.error


def _clear_failure(call: Call) -> bool:
    """Whether the caller was told its call failed: any error but a timeout waiting for
    the answer to a request that was sent (its fate is unknown to the caller)."""
    return bool(call.error) and _error_kind(call) not in (
        A2AClientTimeoutError.__name__,
        "TimeoutError",
    )


def _unsettled(calls: Sequence[Call], stored: dict[str, _Stored], dead: Mapping[str, str]) -> int:
    """Conversations not over yet: a task not terminal, or no task although the
    request may still be waiting in its topic (no clear failure, no dead letter)."""
    count = 0
    for call in calls:
        tasks = stored[call.context_id].tasks
        if (
            tasks is None
            or any(t.status.state not in TERMINAL for t in tasks)
            or (not tasks and not _clear_failure(call) and call.context_id not in dead)
        ):
            count += 1
    return count


def _behind(told: int, stored: int | str | None) -> bool:
    """Whether the store does not hold the state the caller was told."""
    if not isinstance(stored, int):
        return True
    if told in TERMINAL:
        return stored != told
    return stored not in TERMINAL and _RANK.get(stored, 0) < _RANK.get(told, 0)


async def run_scenario(
    name: str,
    run: int,
    workers: EchoWorkers,
    fault: Fault,
    report_path: Path,
    *,
    calls: int | None = None,
    concurrency: int | None = None,
    settle: float | None = None,
    call_timeout: float = 40.0,
    window: float = 15.0,
) -> Report:
    """Runs the load while ``fault`` runs, settles, audits; appends the report's JSON
    line to ``report_path`` (and to ``$CHAOS_REPORT`` if set) and returns it.

    Args:
        name: The scenario's name in the report.
        run: The run's number.
        workers: Started workers.
        fault: The fault script.
        report_path: A JSON-lines file.
        calls: Calls at least (``CHAOS_CALLS``, default 500).
        concurrency: Callers (``CHAOS_CONCURRENCY``, default 64).
        settle: Longest wait for every conversation to end after the load, seconds
            (``CHAOS_SETTLE``, default 30).
        call_timeout: Each call's deadline, seconds.
        window: A fault's window: the calls in flight when it started or started within
            ``window`` seconds after it (their latency percentiles are reported).
    """
    calls = calls or env_int("CHAOS_CALLS", 500)
    concurrency = concurrency or env_int("CHAOS_CONCURRENCY", 64)
    settle = settle if settle is not None else env_int("CHAOS_SETTLE", 30)
    report = Report(name, run)
    card = (await wait_for_cards(workers.bootstrap_servers, {workers.agent}))[workers.agent]
    factory = kafka_client_factory(ClientConfig(streaming=False), timeout=call_timeout)
    clients = [factory.create(card) for _ in range(4)]
    auditor = kafka_client_factory(ClientConfig(streaming=False), timeout=20.0).create(card)
    try:
        warmup = Timeline()
        for i, client in enumerate(clients):
            await _call(client, Call(-1, uuid.uuid4().hex, f"warm-up {i}", 0.0), warmup, 60)
        timeline = Timeline()
        over = asyncio.Event()
        fault_started: list[float] = []
        log_marks = workers.log_marks()

        async def script() -> None:
            try:
                fault_started.extend(await fault(timeline))
            finally:
                timeline.mark("fault script over")
                over.set()

        fault_task = asyncio.create_task(script())
        made = await drive(
            clients,
            timeline,
            calls=calls,
            concurrency=concurrency,
            until=over,
            max_calls=calls * 5,
            hard_timeout=call_timeout + 20,
        )
        timeline.mark("load over")
        await fault_task

        settle_started = time.monotonic()
        dlq = binding.dlq_topic(workers.agent)
        while True:
            stored = await _list_conversations(auditor, made)
            dead = {
                key: seen.header
                for key, seen in (
                    await topic_records(workers.bootstrap_servers, dlq, binding.DLQ_REASON)
                ).items()
            }
            if _unsettled(made, stored, dead) == 0 or time.monotonic() - settle_started > settle:
                break
            await asyncio.sleep(3)
        report.settle_seconds = round(time.monotonic() - settle_started, 1)
        told_states = await _told_states(auditor, made)
        requested = await topic_records(
            workers.bootstrap_servers, binding.requests_topic(workers.agent)
        )
        _fill(report, made, stored, told_states, dead, requested, workers.executions())
        for started in fault_started:
            in_window = [
                c.ended - c.started
                for c in made
                if not c.error and c.started <= started + window and c.ended >= started
            ]
            report.fault_windows.append({"started_s": round(started, 2), **percentiles(in_window)})
        report.latency_ms = percentiles([c.ended - c.started for c in made if not c.error])
        report.worker_log_during_fault = [dict(c) for c in workers.log_lines_since(log_marks)]
        report.timeline = timeline.events
        report.seconds = round(timeline.now(), 1)
    finally:
        for client in [*clients, auditor]:
            with contextlib.suppress(Exception):
                await client.close()
    line = report.json_line()
    for path in (report_path, os.environ.get("CHAOS_REPORT")):
        if path:
            with open(path, "a") as out:
                out.write(line + "\n")
    print(line)
    return report


def _fill(
    report: Report,
    made: Sequence[Call],
    stored: dict[str, _Stored],
    told_states: dict[str, int | str | None],
    dead: Mapping[str, str],
    requested: Mapping[str, Seen],
    executions: Counter[str],
) -> None:
    samples: dict[str, list[str]] = {}

    def sample(kind: str, text: str) -> None:
        samples.setdefault(kind, [])
        if len(samples[kind]) < 5:
            samples[kind].append(text)

    errors: Counter[str] = Counter()
    report.calls = len(made)
    for call in made:
        tasks = stored[call.context_id].tasks
        report.calls_after_fault += call.after_fault
        report.completed_after_fault += (
            call.after_fault and call.told == TaskState.TASK_STATE_COMPLETED
        )
        if call.told is not None:
            report.answered += 1
            report.answered_completed += call.told == TaskState.TASK_STATE_COMPLETED
            report.answered_not_terminal += call.told not in TERMINAL
        elif call.error:
            errors[_error_kind(call)] += 1
            sample(f"error {_error_kind(call)}", call.error_detail)
            if _clear_failure(call):
                report.calls_failed_clear_error += 1
            else:
                report.calls_timed_out += 1
        if call.context_id in dead:
            report.dead_lettered += 1
            reason = dead[call.context_id] or "?"
            report.dead_lettered_by_reason[reason] = (
                report.dead_lettered_by_reason.get(reason, 0) + 1
            )
        if tasks is None:
            report.audit_errors += 1
            continue
        if not tasks and call.context_id not in dead and not _clear_failure(call):
            report.tasks_lost += 1
            report.lost_with_request_in_topic += call.context_id in requested
            report.lost_acknowledged_not_written += (
                call.context_id not in requested
                and _error_kind(call) == A2AClientTimeoutError.__name__
            )
            sample(
                "lost",
                f"{call.context_id} {call.started:.1f}-{call.ended:.1f}s "
                f"request at {requested.get(call.context_id, 'none')} "
                f"{call.error}: {call.error_detail}",
            )
        if len(tasks) > 1:
            report.conversations_with_extra_tasks += 1
            sample("extra tasks", f"{call.context_id}: {len(tasks)} tasks")
        for task in tasks:
            report.tasks += 1
            state = task.status.state
            if state == TaskState.TASK_STATE_COMPLETED:
                report.tasks_completed += 1
                texts = [get_artifact_text(a) for a in task.artifacts]
                if call.text not in texts:
                    report.tasks_completed_wrong_echo += 1
            elif state == TaskState.TASK_STATE_FAILED:
                message = " ".join(p.text for p in task.status.message.parts)
                if ORPHAN_MESSAGE.search(message):
                    report.tasks_failed_orphan_rule += 1
                else:
                    report.tasks_failed_other += 1
                    sample("failed", f"{task.id}: {message[:200]}")
            elif state in TERMINAL:
                report.tasks_canceled_or_rejected += 1
            else:
                report.tasks_non_terminal += 1
                sample("non-terminal", f"{task.id} {TaskState.Name(state)}")
        if call.told is not None:
            held = told_states.get(call.task_id, "?")
            if held == "?":
                report.audit_errors += 1
            elif _behind(call.told, held):
                report.told_state_not_in_store += 1
                shown = TaskState.Name(held) if isinstance(held, int) else "missing"
                sample("told", f"{call.task_id} told {TaskState.Name(call.told)} store {shown}")
    ids = {t.id for s in stored.values() if s.tasks for t in s.tasks}
    report.executions = sum(n for task_id, n in executions.items() if task_id in ids)
    report.tasks_run_again = sum(1 for task_id, n in executions.items() if task_id in ids and n > 1)
    report.errors = dict(errors)
    report.samples = samples

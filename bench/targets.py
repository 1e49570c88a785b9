"""The systems under test: what each target starts, which client drives it, what it costs.

A target is a :class:`TargetDef` in :data:`TARGETS`. Started, it is a
:class:`Deployment`: its server processes (started through :class:`Context`, so
they are stopped by PID when the run ends), the :class:`~bench.clients.ClientSpec`
the load processes open, and its :meth:`~Deployment.facts` — what the report states
about it, read from the running processes where they can tell.

- ``faust-a2a``: one faust-a2a worker (:mod:`bench.worker_app`) hosting the agent
  ``bench``, driven over ``KafkaTransport``; the worker's settings are the project's
  defaults.
- ``faust-a2a-default``: the same with ``FAUST_A2A_REQUEST_HANDLER=default`` (a2a-sdk's
  ``DefaultRequestHandler`` instead of the lean one), hosting ``bench-default``.
- ``a2a-http``: a2a-sdk's JSON-RPC HTTP server under uvicorn on uvloop and httptools
  (:mod:`bench.http_server`), driven by a2a-sdk's JSON-RPC client.
- ``raw-kafka``: the raw aiokafka echo (:mod:`bench.echo`), the floor.
- ``faust-echo``: the same echo served by a Faust agent that writes a table and waits
  for its changelog record before replying (:mod:`bench.faust_echo`): what Faust and
  the durability rule cost before any A2A work.
- ``a2a-http-h11`` (only when asked for, ``--targets``): the HTTP server on plain
  asyncio and h11, uvicorn's fallback without ``uvicorn[standard]``.

Adding a target — e.g. ``gateway`` (HTTP client → gateway → Kafka → worker): write a
class with the :class:`Deployment` attributes (start the gateway with
``ctx.start(ServerProcess(...))`` next to a :class:`FaustDeployment`; ``client`` is
``ClientSpec("a2a-jsonrpc", <gateway's JSON-RPC URL>)``; ``processes`` are the gateway
and the worker(s), so both count as its server CPU; ``uses_broker=True``), then add
one :class:`TargetDef` at the REGISTRATION POINT at the end of this module. Nothing
else changes: the run, the report and the results file iterate over the targets.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

from app import binding
from bench import echo
from bench.agent import NAME, PARTITIONS
from bench.clients import ClientSpec
from bench.http_server import KEEP_ALIVE, endpoint
from bench.servers import (
    EchoProcess,
    FaustEchoProcess,
    HttpServerProcess,
    ServerProcess,
    WorkerProcess,
    free_port,
    get_json,
    retire_card,
    skip_stale_requests,
)

S = TypeVar("S", bound=ServerProcess)

#: The worker setting choosing its ``RequestHandler`` (``lean`` or ``default``).
HANDLER_VARIABLE = "FAUST_A2A_REQUEST_HANDLER"


@dataclass
class Context:
    """What a target needs to start.

    Attributes:
        bootstrap_servers: The broker.
        base_dir: Scratch space for data directories and logs.
        run_id: Unique per run; prefixes Faust app ids (fresh consumer groups).
        profile_path: Where a worker saves its pyinstrument session.
        stack: Stops everything started, when the run ends.
    """

    bootstrap_servers: str
    base_dir: Path
    run_id: str
    profile_path: Path
    stack: contextlib.ExitStack

    def start(self, server: S) -> S:
        """Starts ``server`` (without waiting for it) and stops it when the run ends."""
        server.start()
        self.stack.callback(server.stop)
        return server


class Deployment(Protocol):
    """A started target.

    Attributes:
        client: The client the load processes open.
    """

    client: ClientSpec

    def processes(self) -> Sequence[ServerProcess]:
        """The processes serving the target: their CPU is its server CPU."""
        ...

    def wait_ready(self) -> None:
        """Waits until every process serves (raises ``RuntimeError`` otherwise)."""
        ...

    def facts(self) -> dict[str, Any]:
        """What the report states about the target (JSON-able, short phrases)."""
        ...


class FaustDeployment:
    """faust-a2a workers of one app id hosting the benchmark agent ``agent``.

    Args:
        ctx: The run.
        agent: The agent's name (its own topics, consumer group and card).
        env: ``FAUST_A2A_*`` settings of its workers beyond the defaults.
    """

    def __init__(self, ctx: Context, agent: str, env: dict[str, str] | None = None) -> None:
        self._ctx = ctx
        self.agent = agent
        self.env = dict(env or {})
        self.app_id = f"{ctx.run_id}-{agent}"
        servers = ctx.bootstrap_servers
        asyncio.run(skip_stale_requests(servers, self.app_id, binding.requests_topic(agent)))
        ctx.stack.callback(lambda: asyncio.run(retire_card(servers, agent)))
        self.client = ClientSpec("a2a-kafka", servers, agent)
        self.workers: list[WorkerProcess] = []
        self.add_worker()

    def add_worker(self) -> WorkerProcess:
        """Starts one more worker with the same app id (it joins the consumer group)."""
        worker = WorkerProcess(
            self._ctx.bootstrap_servers,
            self.app_id,
            self._ctx.base_dir,
            f"{self.agent}-worker-{len(self.workers) + 1}",
            agent=self.agent,
            profile_path=self._ctx.profile_path,
            env=self.env,
        )
        self.workers.append(self._ctx.start(worker))
        return worker

    def processes(self) -> Sequence[ServerProcess]:
        """The workers."""
        return self.workers

    def wait_ready(self) -> None:
        """Waits until every worker's ``/health`` answers 200."""
        for worker in self.workers:
            worker.wait_ready()

    def facts(self) -> dict[str, Any]:
        """The first worker's ``/bench/config``: fetch wait, in-flight cap, handler, acks."""
        config = self.workers[0].config()
        settings = config["settings"]
        field = next((f for f, v in config["env_vars"].items() if v == HANDLER_VARIABLE), None)
        handler = settings.get(field) if field else None
        if handler is None:
            asked = self.env.get(HANDLER_VARIABLE)
            handler = "not a setting of this worker" + (
                f" ({HANDLER_VARIABLE}={asked} ignored)" if asked else ""
            )
        return {
            "agent": self.agent,
            "workers": len(self.workers),
            "partitions": settings["partitions"],
            "worker fetch.max.wait.ms": config["consumer_fetch_max_wait_ms"],
            "worker in-flight cap (FAUST_A2A_MAX_IN_FLIGHT)": settings["max_in_flight"],
            f"request handler ({HANDLER_VARIABLE})": handler,
            "worker producer acks": config["producer_acks"],
            "worker event loop": config["event_loop"],
            "startup heap frozen (objects)": config["frozen_objects"],
            "task store": f"Faust tables ({settings['store']}) with changelog topics",
            "client": f"KafkaTransport, fetch.max.wait.ms {echo.FETCH_MAX_WAIT_MS}",
        }


class HttpDeployment:
    """a2a-sdk's HTTP server on uvicorn's ``loop`` and ``http`` implementations.

    Attributes:
        peer: What the server reports it runs on (``{"loop", "http", …}``), once ready.
    """

    def __init__(self, ctx: Context, name: str, *, loop: str, http: str) -> None:
        self._ctx, self._name, self._loop, self._http = ctx, name, loop, http
        self.peer: dict[str, str] = {}
        self._start()

    def _start(self) -> None:
        """Starts a server process on a free port and points :attr:`client` at it."""
        self.server = self._ctx.start(
            HttpServerProcess(self._ctx.base_dir, self._name, loop=self._loop, http=self._http)
        )
        self.client = ClientSpec("a2a-jsonrpc", endpoint(self.server.port))

    def restart(self) -> None:
        """Replaces the server with a fresh process and waits until it serves.

        The harness restarts it before each of its cells: its ``InMemoryTaskStore``
        keeps every task, and in one ``make bench`` run (about 100,000 tasks) its CPU
        per task grew by half from the first repeat to the last, with its RSS from 128
        to 218 MB. A fresh server races at its best.

        Raises:
            RuntimeError: the new server did not come up.
        """
        self.server.stop()
        self._start()
        self.wait_ready()

    def processes(self) -> Sequence[ServerProcess]:
        """The server."""
        return (self.server,)

    def wait_ready(self) -> None:
        """Waits until the server answers; records :attr:`peer`."""
        self.peer = self.server.wait_ready()

    def facts(self) -> dict[str, Any]:
        """The loop and HTTP implementation it runs on, its handler and task store."""
        return {
            "uvicorn loop": self.peer["loop_class"],
            "uvicorn http": self.peer["http_class"],
            "request handler": "a2a-sdk DefaultRequestHandler",
            "a2a-sdk tracing (OpenTelemetry spans)": self.peer["a2a_tracing"],
            "task store": "InMemoryTaskStore (nothing persisted), fresh for each cell",
            "startup heap frozen (objects)": int(self.peer["frozen_objects"]),
            "keep-alive s": KEEP_ALIVE,
            "client": "a2a-sdk JSON-RPC client, one httpx connection per caller",
        }


class EchoDeployment:
    """The raw aiokafka echo (:mod:`bench.echo`).

    Attributes:
        server: Its one process (the echo, or the Faust echo's worker).
    """

    server: ServerProcess

    def __init__(self, ctx: Context) -> None:
        self.server = ctx.start(EchoProcess(ctx.bootstrap_servers, ctx.base_dir))
        self.client = ClientSpec("raw-echo", ctx.bootstrap_servers, echo.NAME)

    def processes(self) -> Sequence[ServerProcess]:
        """The echo's process."""
        return (self.server,)

    def wait_ready(self) -> None:
        """Only checks the process lives; the first call tells it serves."""
        self.server.check_alive()

    def facts(self) -> dict[str, Any]:
        """Its topics, fetch wait, acks and reply records."""
        return {
            "partitions": PARTITIONS,
            "fetch.max.wait.ms (both ends)": echo.FETCH_MAX_WAIT_MS,
            "producer acks": echo.ACKS,
            "reply records per streamed call": echo.STREAM_RECORDS,
            "A2A": "none (the request's bytes echoed)",
            "task store": "none",
        }


class FaustEchoDeployment(EchoDeployment):
    """The Faust floor (:mod:`bench.faust_echo`): a Faust agent, a table write whose
    changelog record is acknowledged before the replies, and the raw echo's replies."""

    def __init__(self, ctx: Context) -> None:
        app_id = f"{ctx.run_id}-faust-echo"
        requests = echo.requests_topic(echo.FAUST_NAME)
        asyncio.run(skip_stale_requests(ctx.bootstrap_servers, app_id, requests))
        self.server = ctx.start(FaustEchoProcess(ctx.bootstrap_servers, app_id, ctx.base_dir))
        self.client = ClientSpec("raw-echo", ctx.bootstrap_servers, echo.FAUST_NAME)

    def facts(self) -> dict[str, Any]:
        """What it runs and what it leaves out."""
        return {
            "partitions": PARTITIONS,
            "Faust": "faust-a2a's app settings and Kafka transport (app.worker.faust_app)",
            "per request": "one table write on RocksDB, its changelog record acknowledged "
            "before the replies",
            "reply records per streamed call": echo.STREAM_RECORDS,
            "A2A": "none (the request's bytes echoed)",
        }


class GatewayDeployment:
    """HTTP JSON-RPC client → the gateway (``faust -A app gateway --agent``) → Kafka →
    a faust-a2a worker: what an HTTP-only A2A client pays to reach a Kafka agent."""

    def __init__(self, ctx: Context) -> None:
        self.faust = FaustDeployment(ctx, f"{NAME}-gateway")
        self.port = free_port()
        argv = [sys.executable, "-m", "faust", "-A", "app", "gateway"]
        argv += ["--port", str(self.port), "--agent", self.faust.agent]
        self.gateway = ctx.start(
            ServerProcess(
                "gateway",
                argv,
                log_path=ctx.base_dir / "gateway.log",
                env={"KAFKA_BOOTSTRAP_SERVERS": ctx.bootstrap_servers},
            )
        )
        self.client = ClientSpec("a2a-jsonrpc", f"http://127.0.0.1:{self.port}/")

    def processes(self) -> Sequence[ServerProcess]:
        """The worker(s) and the gateway: both count as this target's server CPU."""
        return (*self.faust.processes(), self.gateway)

    def wait_ready(self, timeout: float = 120.0) -> None:
        """Waits for the worker, then for the gateway to serve the agent's card.

        Raises:
            RuntimeError: the gateway exited, or did not serve within ``timeout`` s.
        """
        self.faust.wait_ready()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.gateway.check_alive()
            if get_json(self.port, "/.well-known/agent-card.json")[0] == 200:
                return
            time.sleep(0.3)
        raise RuntimeError(f"gateway not ready after {timeout}s:\n{self.gateway.log_tail()}")

    def facts(self) -> dict[str, Any]:
        """The worker's facts, and the path through the gateway."""
        return {
            **self.faust.facts(),
            "path": "a2a-sdk JSON-RPC client → gateway (uvicorn) → KafkaTransport → worker",
        }


@dataclass(frozen=True)
class TargetDef:
    """A target the benchmark can run.

    Attributes:
        name: Its name in the report and the results (``target``).
        summary: One line saying what it is.
        uses_broker: Whether its requests go through the broker: the broker's CPU
            then counts as its own (``server_plus_broker_cpu_ms_per_task``).
        deploy: Starts it.
        default: Whether a run includes it unless ``--targets`` says otherwise.
    """

    name: str
    summary: str
    uses_broker: bool
    deploy: Callable[[Context], Deployment]
    default: bool = True


# ======================= REGISTRATION POINT: every target, in report order =======================
# Add a target here (see the module's docstring); "faust-a2a" and "a2a-http" are the two
# the summary line compares, "faust-a2a" the one profiled and scaled out.
TARGETS: dict[str, TargetDef] = {
    target.name: target
    for target in (
        TargetDef(
            "faust-a2a",
            "faust-a2a worker (project defaults) over KafkaTransport",
            True,
            lambda ctx: FaustDeployment(ctx, NAME),
        ),
        TargetDef(
            "faust-a2a-default",
            "faust-a2a worker with FAUST_A2A_REQUEST_HANDLER=default (a2a-sdk's handler)",
            True,
            lambda ctx: FaustDeployment(ctx, f"{NAME}-default", {HANDLER_VARIABLE: "default"}),
        ),
        TargetDef(
            "a2a-http",
            "a2a-sdk JSON-RPC HTTP server, uvicorn on uvloop + httptools",
            False,
            lambda ctx: HttpDeployment(ctx, "a2a-http", loop="uvloop", http="httptools"),
        ),
        TargetDef(
            "raw-kafka",
            "raw aiokafka request-reply echo (no A2A): the floor",
            True,
            EchoDeployment,
        ),
        TargetDef(
            "faust-echo",
            "the raw echo served by a Faust agent with a durable table write: Faust's floor",
            True,
            FaustEchoDeployment,
        ),
        TargetDef(
            "gateway",
            "HTTP client → faust-a2a gateway → Kafka → faust-a2a worker",
            True,
            GatewayDeployment,
            default=False,
        ),
        TargetDef(
            "a2a-http-h11",
            "a2a-sdk JSON-RPC HTTP server, uvicorn on asyncio + h11 (untuned)",
            False,
            lambda ctx: HttpDeployment(ctx, "a2a-http-h11", loop="asyncio", http="h11"),
            default=False,
        ),
    )
}
# ================================================================================================

#: The targets a run has unless told otherwise.
DEFAULT_TARGETS: tuple[str, ...] = tuple(name for name, t in TARGETS.items() if t.default)
#: The two targets the summary line and the ratios compare.
KAFKA, HTTP = "faust-a2a", "a2a-http"

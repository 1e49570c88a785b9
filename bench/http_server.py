"""The baseline: the benchmark agent behind a2a-sdk's own JSON-RPC HTTP server.

``python -m bench.http_server PORT [--loop uvloop] [--http httptools]`` serves
:class:`bench.agent.EchoExecutor` through a2a-sdk's ``DefaultRequestHandler`` with
its ``InMemoryTaskStore`` and the Starlette routes of ``create_jsonrpc_routes``,
under uvicorn, in one process on 127.0.0.1 — the way a2a-sdk serves an agent over
HTTP. By default uvicorn runs on uvloop with httptools' parser, as deployments do
(``uvicorn[standard]``); naming them rather than uvicorn's ``auto`` makes a missing
one fail instead of silently falling back to asyncio and h11. Once started it freezes
its startup heap (:func:`app.heap.freeze_startup_heap`), as a faust-a2a worker does.
Stops on SIGTERM or SIGINT.

``GET /bench/peer`` answers what the server really runs on: the running event
loop's class, the HTTP protocol class uvicorn loaded and how many objects the
collector holds frozen and whether a2a-sdk's OpenTelemetry instrumentation is on
(``{"loop": "uvloop", "http": "httptools", "loop_class": …, "http_class": …,
"frozen_objects": …, "a2a_tracing": "off"}``; off in the benchmark, see :mod:`bench`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator

import uvicorn
from a2a.server.request_handlers import DefaultRequestHandler
from a2a.server.routes.jsonrpc_routes import create_jsonrpc_routes
from a2a.server.tasks import InMemoryTaskStore
from a2a.utils import telemetry
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from app.heap import freeze_startup_heap
from bench.agent import EchoExecutor, http_card

HOST = "127.0.0.1"
#: Path of the JSON-RPC endpoint.
PATH = "/"
#: Path of the view telling what the server runs on.
PEER_PATH = "/bench/peer"
#: Seconds uvicorn keeps an idle connection (default 5): longer than any pause in a
#: run, so a pooled connection is never closed just as a call reuses it.
KEEP_ALIVE = 120
#: uvicorn's event loop and HTTP implementation unless told otherwise.
DEFAULT_LOOP, DEFAULT_HTTP = "uvloop", "httptools"


def endpoint(port: int) -> str:
    """The URL of the JSON-RPC endpoint on ``port``."""
    return f"http://{HOST}:{port}{PATH}"


def _qualified(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def peer_info(config: uvicorn.Config) -> dict[str, str]:
    """What a loaded uvicorn ``config`` serves with, read in the running server.

    ``loop`` is the top package of the running event loop's class (``uvloop`` or
    ``asyncio``); ``http`` is the module of the HTTP protocol class uvicorn
    instantiates per connection, without uvicorn's ``_impl`` suffix (``httptools``
    or ``h11``); ``frozen_objects`` counts the collector's permanent generation;
    ``a2a_tracing`` is ``on`` when a2a-sdk wraps its handlers in OpenTelemetry spans.
    """
    loop_class = type(asyncio.get_running_loop())
    http_class: type = config.http_protocol_class
    return {
        "loop": loop_class.__module__.split(".")[0],
        "http": http_class.__module__.rpartition(".")[2].removesuffix("_impl"),
        "loop_class": _qualified(loop_class),
        "http_class": _qualified(http_class),
        "frozen_objects": str(gc.get_freeze_count()),
        "a2a_tracing": "on" if telemetry.otel_enabled else "off",
    }


def build_app(port: int) -> Starlette:
    """The Starlette app serving the echo agent at :func:`endpoint`, and
    :func:`peer_info` of ``app.state.uvicorn_config`` at :data:`PEER_PATH`."""
    handler = DefaultRequestHandler(
        agent_executor=EchoExecutor(),
        task_store=InMemoryTaskStore(),
        agent_card=http_card(endpoint(port)),
    )

    async def peer(request: Request) -> JSONResponse:
        return JSONResponse(peer_info(request.app.state.uvicorn_config))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        freeze_startup_heap()
        yield

    return Starlette(
        routes=[Route(PEER_PATH, peer), *create_jsonrpc_routes(handler, PATH)], lifespan=lifespan
    )


def main(argv: list[str] | None = None) -> None:
    """Serves on 127.0.0.1:PORT until SIGTERM or SIGINT."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("port", type=int)
    parser.add_argument("--loop", default=DEFAULT_LOOP, help="uvicorn --loop")
    parser.add_argument("--http", default=DEFAULT_HTTP, help="uvicorn --http")
    args = parser.parse_args(argv)
    app = build_app(args.port)
    config = uvicorn.Config(
        app,
        host=HOST,
        port=args.port,
        loop=args.loop,
        http=args.http,
        log_level="warning",
        access_log=False,
        timeout_keep_alive=KEEP_ALIVE,
    )
    app.state.uvicorn_config = config
    uvicorn.Server(config).run()


if __name__ == "__main__":
    main()

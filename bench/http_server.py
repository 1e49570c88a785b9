"""The baseline: the benchmark agent behind a2a-sdk's own JSON-RPC HTTP server.

``python -m bench.http_server PORT`` serves :class:`bench.agent.EchoExecutor` through
a2a-sdk's ``DefaultRequestHandler`` with its ``InMemoryTaskStore`` and the Starlette
routes of ``create_jsonrpc_routes``, under uvicorn, in one process on 127.0.0.1 —
the way a2a-sdk serves an agent over HTTP. Stops on SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse

import uvicorn
from a2a.server.request_handlers import DefaultRequestHandler
from a2a.server.routes.jsonrpc_routes import create_jsonrpc_routes
from a2a.server.tasks import InMemoryTaskStore
from starlette.applications import Starlette

from bench.agent import EchoExecutor, http_card

HOST = "127.0.0.1"
#: Path of the JSON-RPC endpoint.
PATH = "/"
#: Seconds uvicorn keeps an idle connection (default 5): longer than any pause in a
#: run, so a pooled connection is never closed just as a call reuses it.
KEEP_ALIVE = 120


def endpoint(port: int) -> str:
    """The URL of the JSON-RPC endpoint on ``port``."""
    return f"http://{HOST}:{port}{PATH}"


def build_app(port: int) -> Starlette:
    """The Starlette app serving the echo agent at :func:`endpoint`."""
    handler = DefaultRequestHandler(
        agent_executor=EchoExecutor(),
        task_store=InMemoryTaskStore(),
        agent_card=http_card(endpoint(port)),
    )
    return Starlette(routes=create_jsonrpc_routes(handler, PATH))


def main(argv: list[str] | None = None) -> None:
    """Serves on 127.0.0.1:PORT until SIGTERM or SIGINT."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("port", type=int)
    args = parser.parse_args(argv)
    uvicorn.run(
        build_app(args.port),
        host=HOST,
        port=args.port,
        log_level="warning",
        access_log=False,
        timeout_keep_alive=KEEP_ALIVE,
    )


if __name__ == "__main__":
    main()

"""The Faust app of the benchmark: one worker hosting only one benchmark agent.

Run as ``faust -A bench.worker_app worker`` from the repository root; the agent is
:func:`bench.agent.spec` named ``$BENCH_AGENT_NAME`` (default ``bench``). Besides the
``/health`` view (with the others of :mod:`app.views`), the worker answers
``/bench/profile/start`` and ``/bench/profile/stop`` (:mod:`bench.profile`), which
save a pyinstrument session to ``$BENCH_PROFILE_PATH`` (default
``bench-profile.pyisession`` in the working directory), and ``/bench/config``, what
the running worker was configured with (:func:`worker_config`).
"""

import asyncio
import gc
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any, cast

from faust.web import Request, Response, View

from app.kafka_driver import Transport
from app.settings import ENV_VARS, Settings
from app.views import register_views
from app.worker import A2AWorker
from bench.agent import NAME, spec
from bench.profile import register_profile_views
from bench.servers import CONFIG_PATH


def worker_config(worker: A2AWorker) -> dict[str, Any]:
    """What the running worker uses, read from its objects rather than restated:

    ``settings`` (every field of its :class:`app.settings.Settings`), ``env_vars``
    (the environment variable of each field, :data:`app.settings.ENV_VARS`), the
    ``fetch_max_wait_ms`` of the Faust transport that builds its consumer
    (:mod:`app.kafka_driver`), the Faust producer's ``acks``, the module of the
    running event loop's class (``event_loop``: ``uvloop`` or ``asyncio.unix_events``)
    and how many objects the collector holds frozen (``frozen_objects``, :mod:`app.heap`).
    Call it on the worker's loop.
    """
    return {
        "event_loop": type(asyncio.get_running_loop()).__module__,
        "settings": asdict(worker.settings),
        "env_vars": ENV_VARS,
        "consumer_fetch_max_wait_ms": cast(Transport, worker.app.transport).fetch_max_wait_ms,
        "producer_acks": worker.app.conf.producer_acks,
        "frozen_objects": gc.get_freeze_count(),
    }


AGENT = spec(os.environ.get("BENCH_AGENT_NAME", NAME))
worker = A2AWorker({AGENT.name: AGENT}, Settings.from_env())
register_views(worker)
register_profile_views(
    worker.app, Path(os.environ.get("BENCH_PROFILE_PATH", "bench-profile.pyisession"))
)


@worker.app.page(CONFIG_PATH)
async def config_view(view: View, request: Request) -> Response:
    """Answers :func:`worker_config`."""
    return view.json(worker_config(worker))


app = worker.app

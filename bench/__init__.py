"""Benchmark: faust-a2a over Kafka against a2a-sdk's own JSON-RPC HTTP server.

``make bench`` (``scripts/bench``) runs :mod:`bench.run`; ``QUICK=1`` runs one short
repeat. The modules, one job each:

- :mod:`bench.agent`: the benchmark agent (working → echo artifact → completed);
- :mod:`bench.worker_app`: the Faust app hosting it (``faust -A bench.worker_app``);
- :mod:`bench.http_server`: the same executor behind a2a-sdk's Starlette JSON-RPC app,
  under uvicorn on uvloop and httptools;
- :mod:`bench.echo`: the floor, a raw aiokafka request-reply echo;
- :mod:`bench.targets`: the systems under test, registered in one place: what each
  starts, which client drives it, what counts as its server, what it runs with;
- :mod:`bench.clients`: the clients the load processes open, each making one call;
- :mod:`bench.load`: the closed-loop load generator run in load processes;
- :mod:`bench.cell`: one measurement, its callers split over load processes, the
  servers' and the broker's CPU read around its window;
- :mod:`bench.procstat`: CPU time and peak memory of a process, and the CPU time the
  hypervisor stole, from ``/proc``;
- :mod:`bench.servers`: starting and stopping the server processes by PID; finding the
  broker's process by its port;
- :mod:`bench.profile`: reading the worker's pyinstrument session;
- :mod:`bench.report`: the tables, the summary line and the JSON lines;
- :mod:`bench.run`: the whole benchmark, end to end.

Every process of the benchmark imports this package first (the HTTP server, the load
processes, the workers), and each runs a2a-sdk with its OpenTelemetry
instrumentation off, as a faust-a2a worker does without a trace exporter
(``app/__init__.py``): with it on, a2a-sdk wraps its request handler, event queues,
JSON-RPC dispatcher and client transports in spans that cost its HTTP server about
a fifth of its CPU per task even with no tracer configured (``docs/upstream.md``).
"""

import os

os.environ.setdefault("OTEL_INSTRUMENTATION_A2A_SDK_ENABLED", "false")

"""Benchmark: faust-a2a over Kafka against a2a-sdk's own JSON-RPC HTTP server.

``make bench`` (``scripts/bench``) runs :mod:`bench.run`; ``QUICK=1`` shortens every
measurement. The modules, one job each:

- :mod:`bench.agent`: the benchmark agent (working → echo artifact → completed);
- :mod:`bench.worker_app`: the Faust app hosting it (``faust -A bench.worker_app``);
- :mod:`bench.http_server`: the same executor behind a2a-sdk's Starlette JSON-RPC app;
- :mod:`bench.echo`: the floor, a raw aiokafka request-reply echo;
- :mod:`bench.targets`: one client per system under test, each making one call;
- :mod:`bench.load`: the closed-loop load generator run in a client process;
- :mod:`bench.procstat`: CPU time and peak memory of a process from ``/proc``;
- :mod:`bench.servers`: starting and stopping the server processes by PID;
- :mod:`bench.profile`: reading the worker's pyinstrument session;
- :mod:`bench.report`: the tables, the summary line and the JSON lines;
- :mod:`bench.run`: the whole benchmark, end to end.
"""

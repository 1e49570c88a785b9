"""Client CPU per task with 1, 4 and 16 client processes: what reading replies costs.

One faust-a2a worker hosts the ``bench`` agent. For each count N, N client processes
(each one ``KafkaTransport``, ``SendStreamingMessage``, one call in flight)
call it for ``--seconds`` after a warm-up, all measured in the same window. A
process's CPU time (``time.process_time``) over the window, divided by the tasks it
completed, is its CPU per task; the line gives the mean over the processes and, where
the transport counts them, the response records each read per task of its own.

A client that reads the agent's whole responses topic pays for every client's
replies, so its cost grows with N; one that reads only its reply partition does not
(until clients share partitions). ``--code DIR`` runs the worker and the clients
from another checkout of the project (e.g. ``git archive`` of an older commit) to
measure "before"::

    python -m bench.clients                          # this checkout
    python -m bench.clients --code /tmp/before       # another one

Needs the broker at ``KAFKA_BOOTSTRAP_SERVERS``. Prints one line per N and a JSON
line with every figure. Run on a quiet machine for figures to compare.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import sys
import tempfile
import time
import uuid
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


async def _calls(
    bootstrap_servers: str, warmup: float, seconds: float, barrier: Barrier
) -> dict[str, Any]:
    from a2a.helpers import new_text_message
    from a2a.types import Role, SendMessageRequest

    from app.registry import resolve_card
    from app.transport import KafkaTransport

    card = await resolve_card(bootstrap_servers, "bench")
    transport = KafkaTransport(card)

    async def one() -> None:
        message = new_text_message("hello", role=Role.ROLE_USER)
        async for _ in transport.send_message_streaming(SendMessageRequest(message=message)):
            pass

    try:
        end = time.monotonic() + warmup
        while time.monotonic() < end:
            await one()
        await asyncio.to_thread(barrier.wait, 120)
        records_before = getattr(transport, "records_read", None)
        cpu, started, tasks = time.process_time(), time.monotonic(), 0
        while time.monotonic() < started + seconds:
            await one()
            tasks += 1
        cpu = time.process_time() - cpu
        records_after = getattr(transport, "records_read", None)
    finally:
        await transport.close()
    records = None if records_before is None else records_after - records_before
    return {"tasks": tasks, "cpu_s": cpu, "records": records}


def _client(
    code: str, bootstrap_servers: str, warmup: float, seconds: float, barrier: Barrier, out: Any
) -> None:
    if code:  # this module is already loaded from this checkout; the client is not
        sys.path.insert(0, code)
    out.put(asyncio.run(_calls(bootstrap_servers, warmup, seconds, barrier)))


def measure(code: str, bootstrap: str, counts: list[int], warmup: float, seconds: float) -> Any:
    """Runs one worker and the client rounds; returns one dict per client count."""
    from bench.servers import WorkerProcess, skip_stale_requests

    context = multiprocessing.get_context("spawn")
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-clients-") as base:
        app_id = f"bench-clients-{uuid.uuid4().hex[:8]}"
        asyncio.run(skip_stale_requests(bootstrap, app_id))
        worker = WorkerProcess(bootstrap, app_id, Path(base), 1, profile_path=Path(base) / "p")
        if code:  # -P: the working directory (this checkout) does not go first
            worker.env["PYTHONPATH"] = os.pathsep.join([code, str(ROOT)])
            worker.argv.insert(1, "-P")
        worker.start()
        try:
            worker.wait_ready()
            for count in counts:
                barrier, out = context.Barrier(count), context.Queue()
                processes = [
                    context.Process(
                        target=_client, args=(code, bootstrap, warmup, seconds, barrier, out)
                    )
                    for _ in range(count)
                ]
                for process in processes:
                    process.start()
                results = [out.get(timeout=warmup + seconds + 180) for _ in processes]
                for process in processes:
                    process.join(30)
                tasks = sum(r["tasks"] for r in results)
                cpu_ms = [1000 * r["cpu_s"] / max(1, r["tasks"]) for r in results]
                records = [r["records"] / max(1, r["tasks"]) for r in results if r["records"]]
                rows.append(
                    {
                        "clients": count,
                        "tasks": tasks,
                        "client_cpu_ms_per_task": sum(cpu_ms) / len(cpu_ms),
                        "records_read_per_task": sum(records) / len(records) if records else None,
                    }
                )
        finally:
            worker.stop()
    return rows


def main() -> None:
    """Command line: see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--code", default="", help="checkout to run (default: this one)")
    parser.add_argument("--clients", default="1,4,16", help="client process counts")
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    code = str(Path(args.code).resolve()) if args.code else ""
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    counts = [int(n) for n in args.clients.split(",")]
    rows = measure(code, bootstrap, counts, args.warmup, args.seconds)
    for row in rows:
        records = row["records_read_per_task"]
        print(
            f"{row['clients']:>3} client process(es): {row['tasks']:>5} tasks, "
            f"client CPU {row['client_cpu_ms_per_task']:.2f} ms/task"
            + (f", {records:.1f} response records read per task" if records else "")
        )
    print(json.dumps({"code": code or str(ROOT), "rows": rows}))


if __name__ == "__main__":
    main()

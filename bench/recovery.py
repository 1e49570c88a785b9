"""How long a worker takes to recover N tasks, and what they cost on disk.

``python -m bench.recovery --bootstrap-servers 127.0.0.1:39092 --tasks 10000``:

1. one worker hosting the ``bench`` agent; N tasks created through ``KafkaTransport``
   (64 calls in flight);
2. SIGTERM; the RocksDB directory's size and the changelogs' segment bytes on the
   broker (``--kafka-data-dir``, when given; before any compaction);
3. restart on the same data directory: seconds from process start to ``/health`` 200;
4. restart on an empty data directory: the same, now rebuilding every table from its
   changelog.

Prints a table and writes a JSON line under ``bench/results``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import time
import uuid
from pathlib import Path

from a2a.helpers import new_text_message
from a2a.types import ListTasksRequest, Role, SendMessageRequest

from app import binding
from app.cards import agent_card
from app.transport import KafkaTransport
from bench.agent import SPEC
from bench.servers import WorkerProcess, skip_stale_requests

RESULTS = Path(__file__).resolve().parent / "results"


def du(path: Path) -> int:
    """Bytes in the files under ``path``."""
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


async def create_tasks(bootstrap_servers: str, count: int, in_flight: int = 64) -> int:
    """Creates ``count`` completed tasks; returns how many ``ListTasks`` then counts."""
    slots = asyncio.Semaphore(in_flight)
    async with KafkaTransport(agent_card(SPEC, bootstrap_servers), timeout=120) as transport:

        async def one(i: int) -> None:
            async with slots:
                message = new_text_message(f"task {i}", role=Role.ROLE_USER)
                await transport.send_message(SendMessageRequest(message=message))

        await asyncio.gather(*(one(i) for i in range(count)))
        listed = await transport.list_tasks(ListTasksRequest(page_size=1))
    return listed.total_size


def time_to_ready(worker: WorkerProcess) -> float:
    """Starts ``worker`` and returns the seconds until its ``/health`` answers 200."""
    started = time.monotonic()
    worker.start()
    worker.wait_ready(timeout=600)
    return time.monotonic() - started


def main() -> None:
    """Runs the measurement described in the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap-servers", default="127.0.0.1:39092")
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--kafka-data-dir", type=Path, default=None)
    args = parser.parse_args()

    app_id = f"recovery-{uuid.uuid4().hex[:8]}"
    base = RESULTS / app_id
    base.mkdir(parents=True)
    asyncio.run(
        skip_stale_requests(args.bootstrap_servers, app_id, binding.requests_topic(SPEC.name))
    )

    def worker() -> WorkerProcess:
        return WorkerProcess(
            args.bootstrap_servers,
            app_id,
            base,
            "worker-0",
            agent=SPEC.name,
            profile_path=base / "unused.pyisession",
        )

    first = worker()
    first_start = time_to_ready(first)
    loaded_at = time.monotonic()
    total = asyncio.run(create_tasks(args.bootstrap_servers, args.tasks))
    load_seconds = time.monotonic() - loaded_at
    first.stop()
    datadir = base / "worker-0-data"
    rocksdb_bytes = du(datadir)
    # Segment files only: Kafka preallocates 10 MB index files per partition.
    changelog_bytes = (
        sum(f.stat().st_size for f in args.kafka_data_dir.rglob(f"{app_id}-*-changelog-*/*.log"))
        if args.kafka_data_dir
        else None
    )

    warm = worker()
    warm_seconds = time_to_ready(warm)
    warm.stop()
    shutil.rmtree(datadir)
    cold = worker()
    cold_seconds = time_to_ready(cold)
    cold.stop()

    per_10k = 10_000 / max(total, 1)
    result = {
        "tasks": total,
        "load_seconds": round(load_seconds, 1),
        "first_start_seconds": round(first_start, 1),
        "restart_with_local_state_seconds": round(warm_seconds, 1),
        "restart_from_changelog_seconds": round(cold_seconds, 1),
        "rocksdb_bytes_per_10k_tasks": int(rocksdb_bytes * per_10k),
        "changelog_bytes_per_10k_tasks": (
            None if changelog_bytes is None else int(changelog_bytes * per_10k)
        ),
    }
    for key, value in result.items():
        print(f"{key:40} {value}")
    with (RESULTS / "recovery.jsonl").open("a") as out:
        out.write(json.dumps({"app_id": app_id, **result}) + "\n")
    shutil.rmtree(base)


if __name__ == "__main__":
    main()

"""The worker's intake of request records from the consumer's fetch loop
(``A2AWorker._serve`` behind ``app.kafka_driver.Transport.deliver_directly``): a
record fetched before a rebalance is left to the partition's owner, as Faust's streams
skip it, and gives its in-flight slot back.

Run in a process of its own: building a worker picks the event loop policy
(``app.event_loop``) for the whole process.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from support.processes import ROOT

SNIPPET = textwrap.dedent(
    """
    import asyncio, sys
    from faust.types import Message
    from app.settings import Settings
    from app.worker import A2AWorker
    from bench.agent import SPEC

    settings = Settings.from_env(
        {"FAUST_A2A_DATADIR": sys.argv[1], "FAUST_A2A_MAX_IN_FLIGHT": "1"}
    )
    worker = A2AWorker({SPEC.name: SPEC}, settings)
    app = worker.app
    take = app.transport.direct_handlers["agent.bench.requests"]


    def record(offset, generation):
        return Message(
            "agent.bench.requests", 3, offset, 0.0, 0, None, b"k", b"{}", None, None,
            generation_id=generation,
        )


    async def taken(offset, generation):
        # How many tasks handling the record take() started; it must not block.
        before = asyncio.all_tasks()
        async with asyncio.timeout(1):
            await take(record(offset, generation))
        started = asyncio.all_tasks() - before
        for task in started:
            task.cancel()
        return len(started)


    async def main():
        current = app.consumer_generation_id
        app.flow_control.suspend()
        # One in-flight slot: a skipped record that kept it would block the next one.
        assert [await taken(offset, current) for offset in range(3)] == [0, 0, 0]
        app.flow_control.resume()
        assert [await taken(offset, current - 1) for offset in range(3, 6)] == [0, 0, 0]
        assert await taken(6, current) == 1
        print("ok")


    asyncio.run(main())
    """
)


def test_records_fetched_before_a_rebalance_are_skipped_and_free_their_slot(
    tmp_path: Path,
) -> None:
    result = subprocess.run(
        [sys.executable, "-c", SNIPPET, str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr[-3000:]

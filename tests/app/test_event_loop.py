"""The worker's event loop choice (``app.event_loop``), in fresh interpreters: the
choice installs a process-wide event loop policy, which this test process must keep."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

PROBE = (
    "import asyncio, json, sys\n"
    "from app.event_loop import choose_event_loop\n"
    "chosen = choose_event_loop(json.loads(sys.argv[1]))\n"
    "loop = asyncio.new_event_loop()\n"
    "print(chosen, type(loop).__module__)\n"
    "loop.close()\n"
)


def _choose(environ: dict[str, str]) -> list[str]:
    """``[choice, module of the class of a loop created afterwards]``."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(environ)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env={**os.environ, "PYTHONPATH": os.getcwd()},
    )
    return done.stdout.split()


def test_uvloop_by_default() -> None:
    assert _choose({}) == ["uvloop", "uvloop"]


@pytest.mark.parametrize("variable", ["FAUST_LOOP", "F_LOOP"])
def test_faust_loop_option_wins(variable: str) -> None:
    """``faust -L aio`` (recorded as ``FAUST_LOOP``) keeps asyncio's loop."""
    assert _choose({variable: "aio"}) == ["aio", "asyncio.unix_events"]

"""The app the integration tests run: the demo agents plus the test agents ``slow``,
``turns`` and ``faulty``.

Run as ``faust -A support.worker_app worker`` from ``tests/``.
"""

from agents import AGENTS
from app.service import create_worker
from support.slow_agent import SPEC as SLOW
from support.turns_agent import FAULTY, TURNS

worker = create_worker({**AGENTS, **{spec.name: spec for spec in (SLOW, TURNS, FAULTY)}})
app = worker.app

"""The app the integration tests run: the demo agents plus the test agents ``slow``,
``turns``, ``faulty`` and ``probe``, with the test-only ``/probe`` views.

Run as ``faust -A support.worker_app worker`` from ``tests/``.
"""

from agents import AGENTS
from app.service import create_worker
from support.probe_agent import SPEC as PROBE
from support.probes import register_probes
from support.slow_agent import SPEC as SLOW
from support.turns_agent import FAULTY, TURNS

worker = create_worker({**AGENTS, **{spec.name: spec for spec in (SLOW, TURNS, FAULTY, PROBE)}})
register_probes(worker)
app = worker.app

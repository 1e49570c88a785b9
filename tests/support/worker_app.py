"""The app the integration tests run: the demo agents plus the ``slow`` test agent.

Run as ``faust -A support.worker_app worker`` from ``tests/``.
"""

from agents import AGENTS
from app.service import create_worker
from support.slow_agent import SPEC as SLOW

worker = create_worker({**AGENTS, SLOW.name: SLOW})
app = worker.app

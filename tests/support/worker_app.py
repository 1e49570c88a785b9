"""The app the integration tests run: the demo agents plus the ``slow`` test agent.

Run as ``faust -A support.worker_app worker`` from ``tests/``.
"""

from agents import AGENTS
from app.commands import register_commands
from app.settings import Settings
from app.views import register_views
from app.worker import A2AWorker
from support.slow_agent import SPEC as SLOW

worker = A2AWorker({**AGENTS, SLOW.name: SLOW}, Settings.from_env())
register_views(worker)
register_commands(worker)
app = worker.app

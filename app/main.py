"""The service as ``faust -A app worker`` runs it: every agent of :data:`agents.AGENTS`."""

from agents import AGENTS
from app.commands import register_commands
from app.settings import Settings
from app.views import register_views
from app.worker import A2AWorker

worker = A2AWorker(AGENTS, Settings.from_env())
register_views(worker)
register_commands(worker)
app = worker.app

"""The service as ``faust -A app worker`` runs it: every agent of :data:`agents.AGENTS`."""

from agents import AGENTS
from app.service import create_worker

worker = create_worker(AGENTS)
app = worker.app

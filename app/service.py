"""Assembles a complete worker: Faust agents and tables, web views, retention, CLI."""

from __future__ import annotations

from collections.abc import Mapping

from agents.spec import AgentSpec
from app import binding
from app.commands import register_commands
from app.metrics import register_metrics
from app.retention import register_retention
from app.settings import Settings
from app.views import register_views
from app.worker import A2AWorker


def create_worker(specs: Mapping[str, AgentSpec], settings: Settings | None = None) -> A2AWorker:
    """A worker hosting ``specs`` with every part of the service registered on its app.

    ``faust -A <module> worker`` runs it when ``<module>.app`` is ``worker.app``.

    Args:
        specs: The agents to host, by name.
        settings: Service settings; default: :meth:`Settings.from_env`.
    """
    worker = A2AWorker(specs, settings or Settings.from_env())
    register_views(worker)
    register_retention(worker)
    register_commands(worker)
    register_metrics(worker.app, {name: binding.requests_topic(name) for name in worker.agents})
    return worker

"""Faust web views: tasks, conversations, agents and health, on every worker.

A view about a task or a conversation is answered by the worker that owns its
partition: the others proxy the request there (Faust's router, as ``table_route``
does, keyed by the routing key the task id carries).

With caller authentication on (:mod:`app.auth`), the task and conversation views ask
for the same bearer token as the Kafka binding (``Authorization: Bearer <JWT>``):
401 with a ``WWW-Authenticate`` challenge without a valid one (RFC 6750 §3), and 404
for another owner's task or conversation, exactly as for an unknown one.
"""

from __future__ import annotations

import json
from typing import Any, cast

from a2a.auth.user import User
from a2a.server.context import ServerCallContext
from a2a.types import Task, TaskState
from faust.exceptions import SameNode
from faust.tables import TableManager
from faust.web import Request, Response, View
from google.protobuf.json_format import MessageToDict

from app import binding
from app.auth import AuthenticationError
from app.worker import A2AWorker


def _json(view: View, body: Any, status: int = 200) -> Response:
    return view.text(json.dumps(body), content_type="application/json", status=status)


def _error(view: View, status: int, message: str) -> Response:
    return _json(view, {"error": {"status": status, "message": message}}, status)


def register_views(worker: A2AWorker) -> None:
    """Adds ``/tasks/{task_id}``, ``/contexts/{context_id}``, ``/agents``, ``/health``."""
    app = worker.app
    table_name = worker.tasks_table.name

    async def routed(view: View, request: Request, routing_key: str) -> Response | None:
        """The owner's response when another worker owns ``routing_key``, else ``None``.

        Faust's router hashes the key with the producer's partitioner, which needs the
        changelog topic in the producer's metadata; a worker that has not written a
        task since it started lacks it (aiokafka then raises ``TypeError``), so it is
        fetched first (``AIOKafkaProducer.partitions_for``, reached through Faust's
        aiokafka driver).
        """
        changelog = worker.tasks_table.changelog_topic.get_topic_name()
        await cast(Any, app.producer)._ensure_producer().partitions_for(changelog)
        try:
            return await app.router.route_req(table_name, routing_key, view.web, request)
        except SameNode:
            return None

    async def caller(view: View, request: Request) -> User | Response:
        """The authenticated caller of a web request, or the 401 response to give."""
        try:
            return await worker.authenticator.authenticate(request.headers.get("Authorization"))
        except AuthenticationError as exc:
            body = {"error": {"status": 401, "message": exc.message}}
            return view.text(
                json.dumps(body),
                content_type="application/json",
                status=401,
                headers={"WWW-Authenticate": exc.challenge},
            )

    async def find_task(task_id: str, context: ServerCallContext) -> tuple[str, Task] | None:
        for name, hosted in worker.agents.items():
            task = await hosted.tasks.get(task_id, context)
            if task is not None:
                return name, task
        return None

    @app.page("/tasks/{task_id}")
    async def task_view(view: View, request: Request, task_id: str) -> Response:
        """The task as A2A JSON (``{"agent", "owner", "task"}``); 404 when unknown.

        ``owner`` is the URL of the worker that owns the task's partition and answered.
        """
        user = await caller(view, request)
        if not isinstance(user, User):
            return user
        owner = await routed(view, request, binding.task_routing_key(task_id))
        if owner is not None:
            return owner
        found = await find_task(task_id, ServerCallContext(user=user))
        if found is None:
            return _error(view, 404, f"task {task_id} not found")
        agent, task = found
        owner_url = str(app.conf.canonical_url)
        return _json(view, {"agent": agent, "owner": owner_url, "task": MessageToDict(task)})

    @app.page("/contexts/{context_id}")
    async def context_view(view: View, request: Request, context_id: str) -> Response:
        """The conversation's tasks, oldest first, with their states; 404 when unknown."""
        user = await caller(view, request)
        if not isinstance(user, User):
            return user
        owner = await routed(view, request, context_id)
        if owner is not None:
            return owner
        context = ServerCallContext(user=user)
        conversations = []
        for name, hosted in worker.agents.items():
            tasks = []
            for task_id in hosted.conversations.task_ids(context_id, user.user_name):
                task = await hosted.tasks.get(task_id, context)
                if task is not None:
                    tasks.append({"id": task_id, "state": TaskState.Name(task.status.state)})
            if tasks:
                conversations.append({"agent": name, "tasks": tasks})
        if not conversations:
            return _error(view, 404, f"context {context_id} not found")
        return _json(view, {"contextId": context_id, "conversations": conversations})

    @app.page("/agents")
    async def agents_view(view: View, request: Request) -> Response:
        """The AgentCards this worker hosts."""
        return _json(view, [MessageToDict(h.card) for h in worker.agents.values()])

    @app.page("/health")
    async def health_view(view: View, request: Request) -> Response:
        """``200 {"ready": true}`` once table recovery is done and no rebalance runs, else 503."""
        recovery = cast(TableManager, app.tables).recovery
        ready = bool(recovery.completed.is_set()) and not app.rebalancing
        body = {
            "ready": ready,
            "recovered": bool(recovery.completed.is_set()),
            "rebalancing": app.rebalancing,
        }
        return _json(view, body, 200 if ready else 503)

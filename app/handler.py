"""The worker's lean A2A ``RequestHandler``: executor events applied as they come.

a2a-sdk's ``DefaultRequestHandler`` runs each task as a producer, a consumer and
subscriber taps joined by thread-safe queues, and saves a task more than once per
event. A worker is one asyncio thread, so :class:`LeanRequestHandler` lets the
executor write straight into the task: each event an executor enqueues is checked,
applied to the task, saved once (one changelog record) and handed to the calls that
follow the execution. One asyncio task runs the executor; nothing else is spawned.

The semantics are a2a-sdk's (the equivalence tests run the same scenarios against
a2a-sdk's own HTTP server), with what a Kafka worker needs on top:

* **Redelivery.** A2A message ids are unique (A2A 1.0 §3.4.1), so a ``SendMessage``
  whose ``messageId`` already started a task is Kafka redelivering a record: the
  caller follows the running execution, or gets the task as it stands.
* **Orphans.** A task stored as ``submitted`` or ``working`` that no execution on
  this worker holds was running on a worker that died. :meth:`recover` (called for
  every partition this worker is assigned) and any request that reaches such a task
  run it again or end it ``failed``, as the agent's spec says (``AgentSpec.recovery``).
* **Follow-ups by task id** continue the task in the task's own context, and every
  message of every turn stays in the task's history (A2A 1.0 §3.4).

Queries (``GetTask``, ``ListTasks``, push-config operations, the extended card) are
a2a-sdk's own: they are delegated to a ``DefaultRequestHandler`` over the same stores.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncGenerator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Literal

from a2a.server.agent_execution import AgentExecutor, RequestContext
from a2a.server.agent_execution.active_task import INTERRUPTED_TASK_STATES, TERMINAL_TASK_STATES
from a2a.server.context import ServerCallContext
from a2a.server.events import Event, EventQueue
from a2a.server.id_generator import IDGenerator, IDGeneratorContext
from a2a.server.owner_resolver import resolve_user_scope
from a2a.server.request_handlers import DefaultRequestHandler
from a2a.server.request_handlers.request_handler import RequestHandler, validate
from a2a.server.tasks import PushNotificationConfigStore, PushNotificationSender, TaskStore
from a2a.server.tasks.task_manager import append_artifact_to_task
from a2a.types import (
    AgentCard,
    CancelTaskRequest,
    DeleteTaskPushNotificationConfigRequest,
    GetExtendedAgentCardRequest,
    GetTaskPushNotificationConfigRequest,
    GetTaskRequest,
    ListTaskPushNotificationConfigsRequest,
    ListTaskPushNotificationConfigsResponse,
    ListTasksRequest,
    ListTasksResponse,
    Message,
    Part,
    Role,
    SendMessageRequest,
    SubscribeToTaskRequest,
    Task,
    TaskArtifactUpdateEvent,
    TaskPushNotificationConfig,
    TaskState,
    TaskStatus,
    TaskStatusUpdateEvent,
)
from a2a.utils.errors import (
    A2AError,
    InternalError,
    InvalidAgentResponseError,
    InvalidParamsError,
    TaskNotCancelableError,
    TaskNotFoundError,
    UnsupportedOperationError,
)
from a2a.utils.task import apply_history_length, validate_history_length

from app import metrics
from app.auth import owner_context
from app.executions import END, Execution, Executions, Item
from app.validation import validated
from tables import ConversationIndex, FaustTaskStore
from tables.changelog import HandedOver, WriteBehind
from tables.tasks import TaskTooLarge

logger = logging.getLogger(__name__)

#: What happens to an orphaned task: run the executor again, or end it ``failed``.
Recovery = Literal["rerun", "fail"]

#: States after which a blocking ``SendMessage`` answers (A2A 1.0 §3.1.1).
_ANSWER_STATES = TERMINAL_TASK_STATES | INTERRUPTED_TASK_STATES

#: Event-loop steps the worker's producer takes to put a flushed table write on the
#: wire: Faust's producer buffer task, then aiokafka's accumulator waiter, sender and
#: produce-request task, with what they await. Seven with faust-streaming 0.15 and
#: aiokafka 0.12, and one to spare; ``tests/system/test_claims.py`` notices a change.
PRODUCER_STEPS = 8

#: The status message of a task ended by the ``fail`` recovery.
ORPHAN_MESSAGE = (
    "The worker running this task stopped before the task finished; "
    "the task was not completed. Send the message again to retry."
)

Snapshot = Task | Message


def _status(state: TaskState, text: str | None = None) -> TaskStatus:
    status = TaskStatus(state=state)
    status.timestamp.FromDatetime(datetime.now(UTC))
    if text is not None:
        status.message.CopyFrom(
            Message(
                message_id=uuid.uuid4().hex,
                role=Role.ROLE_AGENT,
                parts=[Part(text=text)],
            )
        )
    return status


def _copy(task: Task) -> Task:
    snapshot = Task()
    snapshot.CopyFrom(task)
    return snapshot


class _TaskEvents(EventQueue):
    """The ``EventQueue`` one execution's executor writes to.

    Each event is validated as a2a-sdk's event consumer does, applied to the task,
    saved once, sent to the push-notification sender and published to the calls that
    follow the execution, before ``enqueue_event`` returns.
    """

    def __init__(
        self,
        handler: LeanRequestHandler,
        execution: Execution,
        call_context: ServerCallContext,
        initial_message: Message | None,
        message_to_save: Message | None,
    ) -> None:
        self._handler = handler
        self._execution = execution
        self._call_context = call_context
        self._initial_message = initial_message
        self._message_to_save = message_to_save
        self._mode: Literal["task", "message"] | None = None
        self._terminal = False

    async def enqueue_event(self, event: Event) -> None:
        """Applies ``event`` to the task and publishes it.

        Raises:
            InvalidAgentResponseError: the event breaks A2A's event rules (a Message
                after a Task, an event after a Message or a terminal state).
        """
        execution = self._execution
        if isinstance(event, Message):
            if self._mode == "task":
                raise InvalidAgentResponseError(
                    "Received Message object in task mode. Use TaskStatusUpdateEvent "
                    "or TaskArtifactUpdateEvent instead."
                )
            if self._mode == "message":
                raise InvalidAgentResponseError("Multiple Message objects received.")
            self._mode = "message"
            execution.result = event
            execution.publish((event, None))
            return
        if self._mode == "message":
            raise InvalidAgentResponseError(
                f"Received {type(event).__name__} in message mode. Use Task with "
                "TaskStatusUpdateEvent and TaskArtifactUpdateEvent instead."
            )
        if self._terminal:
            raise InvalidAgentResponseError(
                f"Received {type(event).__name__} after the task reached a terminal state."
            )
        self._mode = "task"
        task = await self._apply(event)
        self._terminal = task.status.state in TERMINAL_TASK_STATES
        await self._handler.notify(task, event, self._call_context, execution)
        # Followers read the task only at a Task or status event (a snapshot: the task
        # goes on changing); an artifact update is passed on as it is.
        snapshot = None if isinstance(event, TaskArtifactUpdateEvent) else _copy(task)
        execution.publish((event, snapshot))

    async def _apply(self, event: Event) -> Task:
        execution = self._execution
        if isinstance(event, Task):
            if event.id != execution.task_id:
                raise InternalError(message="Task ID mismatch in agent response")
            if execution.task is None:
                execution.task = _copy(event)
                await self._handler.save(execution.task, self._call_context, new=True)
                self._message_to_save = None
            elif self._message_to_save is not None:
                await self._save_with_message(execution.task)
            return execution.task
        if event.task_id != execution.task_id:
            raise InvalidParamsError(
                message=f"Task in event doesn't match the task {execution.task_id}: {event.task_id}"
            )
        task = execution.task
        if task is None:
            if isinstance(event, TaskStatusUpdateEvent):
                raise InvalidAgentResponseError(
                    f"Agent should enqueue Task before {type(event).__name__} event"
                )
            history = [self._initial_message] if self._initial_message else []
            task = execution.task = Task(
                id=event.task_id,
                context_id=event.context_id,
                status=TaskStatus(state=TaskState.TASK_STATE_SUBMITTED),
                history=history,
            )
            new = True
        else:
            new = False
            if event.context_id != task.context_id:
                raise InvalidParamsError(
                    message=f"Context in event doesn't match the task's {task.context_id}: "
                    f"{event.context_id}"
                )
        if self._message_to_save is not None:
            _add_to_history(task, self._message_to_save)
            self._message_to_save = None
        if isinstance(event, TaskStatusUpdateEvent):
            if task.status.HasField("message"):
                task.history.append(task.status.message)
            if event.metadata:
                task.metadata.MergeFrom(event.metadata)
            task.status.CopyFrom(event.status)
        else:
            append_artifact_to_task(task, event)
        await self._handler.save(task, self._call_context, new=new)
        return task

    async def _save_with_message(self, task: Task) -> None:
        assert self._message_to_save is not None
        _add_to_history(task, self._message_to_save)
        self._message_to_save = None
        await self._handler.save(task, self._call_context)

    async def fail(self, error: BaseException) -> None:
        """Ends the task ``failed`` with ``error``'s message (the executor raised)."""
        execution = self._execution
        task = execution.task
        if task is None:
            if self._mode == "message":
                return
            history = [self._initial_message] if self._initial_message else []
            context_id = self._initial_message.context_id if self._initial_message else ""
            task = execution.task = Task(
                id=execution.task_id, context_id=context_id, history=history
            )
            new = True
        elif task.status.state in TERMINAL_TASK_STATES:
            return
        else:
            new = False
        if self._message_to_save is not None:
            _add_to_history(task, self._message_to_save)
            self._message_to_save = None
        if task.status.HasField("message"):
            task.history.append(task.status.message)
        task.status.CopyFrom(
            _status(TaskState.TASK_STATE_FAILED, str(error) or type(error).__name__)
        )
        if isinstance(error, TaskTooLarge):
            task.ClearField("artifacts")
        await self._handler.save(task, self._call_context, new=new)
        update = TaskStatusUpdateEvent(
            task_id=task.id, context_id=task.context_id, status=task.status
        )
        await self._handler.notify(task, update, self._call_context, self._execution)


def _add_to_history(task: Task, message: Message) -> None:
    """A2A's turn rule: the status message moves to the history, then the new message."""
    if task.status.HasField("message"):
        task.history.append(task.status.message)
        task.status.ClearField("message")
    task.history.append(message)


class LeanRequestHandler(RequestHandler):
    """a2a-sdk's ``RequestHandler`` for a single-threaded worker.

    Args:
        agent_executor: The agent's executor.
        task_store: Where tasks are kept (``tables.FaustTaskStore`` in the worker);
            :meth:`recover` needs its ``tasks(partition)``.
        agent_card: The agent's public card.
        conversations: The conversation index (context id → task ids): earlier tasks
            of a conversation reach the executor in ``RequestContext.related_tasks``.
        executions: The worker's live executions (shared by its agents).
        partition_of: The request partition that owns a task id.
        task_id_generator: Mints task ids (the worker's carry their routing key).
        recovery: What happens to orphaned tasks: ``"rerun"`` runs the executor again
            with the task as stored (at-least-once: the agent must be able to take
            it); ``"fail"`` (default) ends them ``failed`` with :data:`ORPHAN_MESSAGE`.
        push_config_store: Push-notification configs; ``None`` turns them off.
        push_sender: Called with every task change (``PushNotificationSender``).
        push_url_validator: Refuses webhook URLs (a2a-sdk's hook of the same name).
        writes: Holds task writes to the end of the event loop step
            (``tables.changelog.WriteBehind``), so several events applied in one step
            cost one changelog record; ``None`` writes each at once. Whoever produces
            an answer must flush it first.
        acknowledged: Waits until a partition's table writes so far are acknowledged
            by Kafka (the worker's barrier); a push notification is sent only after
            it, so a webhook is never told a state a crash could take back.
        extended_agent_card: The card ``GetExtendedAgentCard`` answers with.
        extended_card_modifier: Adapts the extended card to the caller.
    """

    def __init__(
        self,
        *,
        agent_executor: AgentExecutor,
        task_store: TaskStore,
        agent_card: AgentCard,
        conversations: ConversationIndex,
        executions: Executions,
        partition_of: Callable[[str], int],
        task_id_generator: IDGenerator,
        recovery: Recovery = "fail",
        push_config_store: PushNotificationConfigStore | None = None,
        push_sender: PushNotificationSender | None = None,
        push_url_validator: Callable[[str], Awaitable[bool]] | None = None,
        extended_agent_card: AgentCard | None = None,
        extended_card_modifier: Callable[[AgentCard, ServerCallContext], Awaitable[AgentCard]]
        | None = None,
        writes: WriteBehind | None = None,
        acknowledged: Callable[[int], Awaitable[None]] | None = None,
    ) -> None:
        self._executor = agent_executor
        self._writes = writes
        self._acknowledged = acknowledged
        self._store = task_store
        self._agent_card = agent_card
        self._conversations = conversations
        self._executions = executions
        self._partition_of = partition_of
        self._task_ids = task_id_generator
        self._recovery: Recovery = recovery
        self._push_config_store = push_config_store
        self._push_sender = push_sender
        self._push_url_validator = push_url_validator
        #: First-task ids chosen by a ``SendMessage`` whose execution is not yet running.
        self._starting: set[str] = set()
        self._queries = DefaultRequestHandler(
            agent_executor=agent_executor,
            task_store=task_store,
            agent_card=agent_card,
            push_config_store=push_config_store,
            extended_agent_card=extended_agent_card,
            extended_card_modifier=extended_card_modifier,
            push_url_validator=push_url_validator,
        )

    # -- queries: a2a-sdk's own ------------------------------------------------------

    async def on_get_task(self, params: GetTaskRequest, context: ServerCallContext) -> Task | None:
        """``GetTask`` (a2a-sdk's)."""
        return await self._queries.on_get_task(params, context)

    async def on_list_tasks(
        self, params: ListTasksRequest, context: ServerCallContext
    ) -> ListTasksResponse:
        """``ListTasks`` (a2a-sdk's)."""
        return await self._queries.on_list_tasks(params, context)

    async def on_create_task_push_notification_config(
        self, params: TaskPushNotificationConfig, context: ServerCallContext
    ) -> TaskPushNotificationConfig:
        """``CreateTaskPushNotificationConfig`` (a2a-sdk's); a live execution of the task
        reads its configs again at its next event."""
        created = await self._queries.on_create_task_push_notification_config(params, context)
        self._push_configs_changed(params.task_id)
        return created

    async def on_get_task_push_notification_config(
        self, params: GetTaskPushNotificationConfigRequest, context: ServerCallContext
    ) -> TaskPushNotificationConfig:
        """``GetTaskPushNotificationConfig`` (a2a-sdk's)."""
        return await self._queries.on_get_task_push_notification_config(params, context)

    async def on_list_task_push_notification_configs(
        self, params: ListTaskPushNotificationConfigsRequest, context: ServerCallContext
    ) -> ListTaskPushNotificationConfigsResponse:
        """``ListTaskPushNotificationConfigs`` (a2a-sdk's)."""
        return await self._queries.on_list_task_push_notification_configs(params, context)

    async def on_delete_task_push_notification_config(
        self, params: DeleteTaskPushNotificationConfigRequest, context: ServerCallContext
    ) -> None:
        """``DeleteTaskPushNotificationConfig`` (a2a-sdk's); a live execution of the task
        reads its configs again at its next event."""
        await self._queries.on_delete_task_push_notification_config(params, context)
        self._push_configs_changed(params.task_id)

    def _push_configs_changed(self, task_id: str) -> None:
        execution = self._executions.get(task_id)
        if execution is not None:
            execution.has_push_configs = None

    async def on_get_extended_agent_card(
        self, params: GetExtendedAgentCardRequest, context: ServerCallContext
    ) -> AgentCard:
        """``GetExtendedAgentCard`` (a2a-sdk's)."""
        return await self._queries.on_get_extended_agent_card(params, context)

    # -- messages ----------------------------------------------------------------------

    @validated
    async def on_message_send(
        self, params: SendMessageRequest, context: ServerCallContext
    ) -> Task | Message:
        """``SendMessage``: the task once terminal or interrupted, or the agent's Message.

        With ``configuration.return_immediately`` the first task state is answered and
        the execution goes on.

        Raises:
            A2AError: ``TaskNotFoundError`` for an unknown ``taskId``,
                ``InvalidParamsError`` for a ``contextId`` that is not the task's,
                ``UnsupportedOperationError`` for a terminal task; the executor's
                failure as ``InternalError``.
        """
        execution, queue, snapshot = await self._start(params, context)
        if snapshot is not None:
            return _limited(snapshot, params)
        assert execution is not None and queue is not None
        result: Snapshot | None = None
        try:
            while (item := await self._next(queue)) is not END:
                if isinstance(item, BaseException):
                    raise item
                event, task = item
                if isinstance(event, Message):
                    result = event
                    continue
                if task is None or not isinstance(event, Task | TaskStatusUpdateEvent):
                    continue
                if params.configuration.return_immediately or task.status.state in _ANSWER_STATES:
                    result = task
                    if (
                        params.configuration.return_immediately
                        or task.status.state != TaskState.TASK_STATE_FAILED
                    ):
                        break
        finally:
            execution.unsubscribe(queue)
        if result is None:
            result = execution.task or execution.result
        if result is None:
            raise InternalError(message="The agent ended without a task or a message")
        return _limited(result, params)

    @validated
    @validate(
        lambda self: self._agent_card.capabilities.streaming,
        "Streaming is not supported by the agent",
    )
    async def on_message_send_stream(
        self, params: SendMessageRequest, context: ServerCallContext
    ) -> AsyncGenerator[Event]:
        """``SendStreamingMessage``: every event of the execution, as it is applied.

        Raises:
            A2AError: as :meth:`on_message_send`.
        """
        execution, queue, snapshot = await self._start(params, context)
        if snapshot is not None:
            yield _limited(snapshot, params)
            return
        assert execution is not None and queue is not None
        async for event in self._follow(execution, queue, params):
            yield event

    @validated
    async def on_cancel_task(
        self, params: CancelTaskRequest, context: ServerCallContext
    ) -> Task | None:
        """``CancelTask``: asks a running executor to cancel, or ends a waiting task.

        Raises:
            TaskNotFoundError: no such task.
            TaskNotCancelableError: the task is terminal, or its executor cannot cancel.
        """
        task = await self._store.get(params.id, context)
        if task is None:
            raise TaskNotFoundError
        if task.status.state in TERMINAL_TASK_STATES:
            raise TaskNotCancelableError
        execution = self._executions.get(task.id)
        if execution is not None and execution.events is not None:
            request = RequestContext(
                call_context=context, task_id=task.id, context_id=task.context_id, task=task
            )
            try:
                await self._executor.cancel(request, execution.events)
            except UnsupportedOperationError as exc:
                raise TaskNotCancelableError from exc
            if execution.runner is not None:
                execution.runner.cancel()
            await execution.finished.wait()
            task = execution.task or task
        if task.status.state not in TERMINAL_TASK_STATES:
            task = _copy(task)
            if task.status.HasField("message"):
                task.history.append(task.status.message)
            task.status.CopyFrom(_status(TaskState.TASK_STATE_CANCELED))
            await self.save(task, context)
            await self.notify(
                task,
                TaskStatusUpdateEvent(
                    task_id=task.id, context_id=task.context_id, status=task.status
                ),
                context,
            )
        return task

    @validated
    @validate(
        lambda self: self._agent_card.capabilities.streaming,
        "Streaming is not supported by the agent",
    )
    async def on_subscribe_to_task(
        self, params: SubscribeToTaskRequest, context: ServerCallContext
    ) -> AsyncGenerator[Event]:
        """``SubscribeToTask``: the task, then its further events while it runs.

        An orphaned task is recovered first (run again or ended), so a subscriber that
        reaches a partition's new owner follows the task, not a stale snapshot.

        Raises:
            TaskNotFoundError: no such task.
            UnsupportedOperationError: the task is terminal.
        """
        task = await self._store.get(params.id, context)
        if task is None:
            raise TaskNotFoundError
        if task.status.state in TERMINAL_TASK_STATES:
            raise UnsupportedOperationError(
                message=f"Task {task.id} is in terminal state: {TaskState.Name(task.status.state)}"
            )
        execution, queue, snapshot = await self._resume(task, context)
        if snapshot is not None:
            yield snapshot
            return
        assert execution is not None and queue is not None
        async for event in self._follow(execution, queue, None):
            yield event

    # -- recovery ----------------------------------------------------------------------

    async def recover(self, tasks: list[tuple[str, Task]]) -> dict[str, int]:
        """Recovers the orphans among ``tasks`` (``(owner, task)``: the stored tasks of a
        partition just assigned to this worker): each non-terminal, non-interrupted task
        that no live execution holds is run again or ended ``failed`` (see ``recovery``).

        Returns:
            How many tasks were ``{"rerun": n, "failed": n}``.
        """
        counts = {"rerun": 0, "failed": 0}
        for owner, task in tasks:
            if task.status.state in _ANSWER_STATES or self._executions.get(task.id):
                continue
            execution, queue, _ = await self._recover(task, owner_context(owner))
            if execution is not None and queue is not None:
                execution.unsubscribe(queue)
                counts["rerun"] += 1
            else:
                counts["failed"] += 1
        return counts

    async def _start(
        self, params: SendMessageRequest, context: ServerCallContext
    ) -> tuple[Execution | None, asyncio.Queue[Item] | None, Snapshot | None]:
        """Starts (or finds) the execution a ``SendMessage`` asks for.

        Returns ``(execution, queue, None)`` to follow a live execution, or
        ``(None, None, snapshot)`` when the answer is already known (a redelivered
        message of a task that has answered).
        """
        validate_history_length(params.configuration)
        message = params.message
        live = self._executions.for_message(message.message_id)
        if live is not None:
            return live, _attach(live), None
        task_id, context_id = message.task_id or None, message.context_id or None
        task: Task | None = None
        if task_id:
            task = await self._store.get(task_id, context)
            if task is None:
                raise TaskNotFoundError(f"Task {task_id} not found")
            if context_id and context_id != task.context_id:
                raise InvalidParamsError(
                    message=f"Context {context_id} does not match context {task.context_id} "
                    f"of task {task_id}"
                )
            context_id = task.context_id
        # The conversation's task ids, read once for the redelivery check and the
        # executor's related tasks (read again only after waiting for a running task).
        conversation = (
            self._conversations.task_ids(context_id, resolve_user_scope(context))
            if context_id
            else []
        )
        read: dict[str, Task | None] = {}  # the conversation's tasks read so far
        if context_id and message.message_id:
            seen = await self._task_with_message(conversation, message.message_id, context, read)
            if seen is not None:
                logger.info("redelivered message %s of task %s", message.message_id, seen.id)
                metrics.redelivery_answered(self._agent_card.name)
                return await self._resume(seen, context)
        if task is not None:
            if task.status.state in TERMINAL_TASK_STATES:
                raise UnsupportedOperationError(
                    message=f"Task {task.id} is in terminal state: "
                    f"{TaskState.Name(task.status.state)}"
                )
            running = self._executions.get(task.id)
            if running is not None:
                await running.finished.wait()
                task = await self._store.get(task.id, context) or task
                conversation = self._conversations.task_ids(
                    task.context_id, resolve_user_scope(context)
                )
        if context_id is None:
            context_id = uuid.uuid4().hex
            conversation = self._conversations.task_ids(context_id, resolve_user_scope(context))
        if task_id is None:
            task_id = await self._new_task_id(context_id, conversation, context, read)
            # Reserved until its execution is registered: a message of the same new
            # conversation handled meanwhile must not take the same id.
            self._starting.add(task_id)
        try:
            if self._push_config_store and params.configuration.HasField(
                "task_push_notification_config"
            ):
                config = params.configuration.task_push_notification_config
                if self._push_url_validator and not await self._push_url_validator(config.url):
                    raise InvalidParamsError(message="Invalid push notification URL")
                await self._push_config_store.set_info(task_id, config, context)
            request = RequestContext(
                call_context=context,
                request=params,
                task_id=task_id,
                context_id=context_id,
                task=task,
                related_tasks=await self._earlier_tasks(conversation, task_id, context),
            )
            execution = self._execute(request, task, message_to_save=message if task else None)
            if task is None:
                # A new task has no push config but the one its request set above.
                execution.has_push_configs = params.configuration.HasField(
                    "task_push_notification_config"
                )
        finally:
            self._starting.discard(task_id)
        return execution, execution.subscribers[0], None

    async def _new_task_id(
        self,
        context_id: str,
        conversation: list[str],
        context: ServerCallContext,
        read: dict[str, Task | None],
    ) -> str:
        """The id of a new task of ``conversation`` (its task ids, first first): the
        conversation's first-task id while the conversation has no task yet (none
        stored, running or waiting to be written), else a freshly minted one. ``read``
        holds the tasks this call has just read from the store, by id.

        The first task's id is derived from the conversation, so starting a
        conversation writes no index entry (:class:`tables.ConversationIndex`).
        """
        first = conversation[0]
        if (
            len(conversation) == 1
            and first not in self._starting
            and self._executions.get(first) is None
            and not (self._writes is not None and self._writes.holds(self._write_key(first)))
            and (read[first] if first in read else await self._store.get(first, context)) is None
        ):
            return first
        return self._task_ids.generate(IDGeneratorContext(context_id=context_id))

    async def _resume(
        self, task: Task, context: ServerCallContext
    ) -> tuple[Execution | None, asyncio.Queue[Item] | None, Snapshot | None]:
        """Follows ``task``'s live execution, recovers it if orphaned, or snapshots it."""
        live = self._executions.get(task.id)
        if live is not None:
            return live, _attach(live), None
        if task.status.state in _ANSWER_STATES:
            return None, None, task
        return await self._recover(task, context)

    async def _recover(
        self, task: Task, context: ServerCallContext
    ) -> tuple[Execution | None, asyncio.Queue[Item] | None, Snapshot | None]:
        """Runs an orphaned task again, or ends it ``failed``, per ``recovery``."""
        if self._recovery == "rerun":
            last = next((m for m in reversed(task.history) if m.role == Role.ROLE_USER), None)
            logger.info("orphaned task %s: running it again", task.id)
            metrics.orphaned_task(self._agent_card.name, "rerun")
            request = RequestContext(
                call_context=context,
                request=SendMessageRequest(message=last) if last is not None else None,
                task_id=task.id,
                context_id=task.context_id,
                task=task,
                related_tasks=await self._earlier_tasks(
                    self._conversations.task_ids(task.context_id, resolve_user_scope(context)),
                    task.id,
                    context,
                ),
            )
            execution = self._execute(
                request, _copy(task), message_to_save=None, first=(task, _copy(task))
            )
            return execution, execution.subscribers[0], None
        logger.info("orphaned task %s: ended failed", task.id)
        metrics.orphaned_task(self._agent_card.name, "failed")
        failed = _copy(task)
        if failed.status.HasField("message"):
            failed.history.append(failed.status.message)
        failed.status.CopyFrom(_status(TaskState.TASK_STATE_FAILED, ORPHAN_MESSAGE))
        await self.save(failed, context)
        await self.notify(
            failed,
            TaskStatusUpdateEvent(
                task_id=failed.id, context_id=failed.context_id, status=failed.status
            ),
            context,
        )
        return None, None, failed

    def _execute(
        self,
        request: RequestContext,
        task: Task | None,
        *,
        message_to_save: Message | None,
        first: Item | None = None,
    ) -> Execution:
        """Starts the executor for ``request`` in one asyncio task, with one subscriber
        (that gets ``first`` before the execution's events; a re-run starts with the
        task as stored)."""
        task_id = str(request.task_id)
        rerun = first is not None
        execution = Execution(
            task_id=task_id,
            partition=self._partition_of(task_id),
            message_id="" if rerun or request.message is None else request.message.message_id,
            task=task,
        )
        events = _TaskEvents(
            self, execution, request.call_context, request.message, message_to_save
        )
        execution.events = events
        execution.subscribe(first)
        self._executions.add(execution)
        execution.runner = asyncio.create_task(
            self._drive(execution, request, events), name=f"a2a-execution:{task_id}"
        )
        return execution

    async def _drive(
        self, execution: Execution, request: RequestContext, events: _TaskEvents
    ) -> None:
        """Runs the executor; a failure ends the task ``failed``; always ends the stream."""
        try:
            await self._executor.execute(request, events)
        except asyncio.CancelledError:
            if execution.handed_over:
                execution.publish(HandedOver(f"task {execution.task_id} was handed over"))
        except Exception as exc:
            if execution.handed_over:
                execution.publish(HandedOver(f"task {execution.task_id} was handed over"))
            else:
                logger.warning("executor of task %s failed: %r", execution.task_id, exc)
                try:
                    await events.fail(exc)
                except Exception:
                    logger.exception("could not record the failure of task %s", execution.task_id)
                execution.publish(
                    exc if isinstance(exc, A2AError) else InternalError(message=str(exc))
                )
        finally:
            execution.finished.set()
            execution.publish(END)
            execution.subscribers.clear()
            self._executions.discard(execution)

    async def _follow(
        self,
        execution: Execution,
        queue: asyncio.Queue[Item],
        params: SendMessageRequest | None,
    ) -> AsyncGenerator[Event]:
        """The events of a followed execution; a Task event is the task as applied."""
        try:
            while (item := await self._next(queue)) is not END:
                if isinstance(item, BaseException):
                    raise item
                event, task = item
                if isinstance(event, Task) and task is not None:
                    yield _limited(task, params) if params is not None else task
                else:
                    yield event
        finally:
            execution.unsubscribe(queue)

    async def _next(self, queue: asyncio.Queue[Item]) -> Item:
        """The next item of a followed execution.

        An item that had to be waited for comes from a step of the executor, whose
        table writes ``WriteBehind`` flushes right after that step. The call's answer
        waits for those writes to be acknowledged anyway (``Changelogs.acknowledged``),
        so when the worker runs no other execution the call first lets the producer put
        them on the wire (:data:`PRODUCER_STEPS` steps of the event loop) and only then
        spends CPU on its answer: encoding overlaps the broker's round trip instead of
        delaying the write. Under load other calls fill those steps, and nothing waits.
        """
        if not queue.empty():
            return queue.get_nowait()
        item = await queue.get()
        if self._writes is not None and len(self._executions) <= 1:
            for _ in range(PRODUCER_STEPS):
                await asyncio.sleep(0)
        return item

    # -- stores ------------------------------------------------------------------------

    async def save(self, task: Task, context: ServerCallContext, *, new: bool = False) -> None:
        """Saves ``task`` (one changelog record, deferred to the end of the loop step
        with ``writes``); a new task joins its conversation."""
        store = self._store
        if self._writes is not None and isinstance(store, FaustTaskStore):
            task_id, data = task.id, store.encode(task)
            self._writes.defer(self._write_key(task_id), lambda: store.put(task_id, data, context))
        else:
            await store.save(task, context)
        if new:
            self._conversations.add(task.context_id, task.id, resolve_user_scope(context))

    def _write_key(self, task_id: str) -> tuple[int, str]:
        """The key of a held write of task ``task_id`` (``WriteBehind``)."""
        return id(self._store), task_id

    async def notify(
        self,
        task: Task,
        event: Event,
        context: ServerCallContext,
        execution: Execution | None = None,
    ) -> None:
        """Counts a state change (``faust_a2a_task_state_changes_total``) and hands a task
        change to the push-notification sender once the change is durable; never raises.

        Whether the task has push configs is read from the store once per ``execution``
        (and again after a config of the task is created or deleted on this worker,
        the only one that writes the task's partition); without an execution, once
        per call.
        """
        if isinstance(event, Message):
            return
        if isinstance(event, Task | TaskStatusUpdateEvent):
            metrics.task_state_changed(self._agent_card.name, TaskState.Name(task.status.state))
        if self._push_sender is None or self._push_config_store is None:
            return
        try:
            if execution is None or execution.has_push_configs is None:
                configs = bool(await self._push_config_store.get_info(task.id, context))
                if execution is not None:
                    execution.has_push_configs = configs
            else:
                configs = execution.has_push_configs
            if not configs:
                return
            if self._acknowledged is not None:
                await self._acknowledged(self._partition_of(task.id))
            await self._push_sender.send_notification(
                task.id, task if isinstance(event, Task) else event
            )
        except Exception:
            logger.exception("push notification of task %s failed", task.id)

    async def _task_with_message(
        self,
        conversation: list[str],
        message_id: str,
        context: ServerCallContext,
        read: dict[str, Task | None],
    ) -> Task | None:
        """The task of ``conversation`` (its task ids, oldest first) whose history holds
        ``message_id``; each task read is kept in ``read``."""
        for task_id in reversed(conversation):
            task = read[task_id] = await self._store.get(task_id, context)
            if task is not None and any(m.message_id == message_id for m in task.history):
                return task
        return None

    async def _earlier_tasks(
        self, conversation: list[str], task_id: str, context: ServerCallContext
    ) -> list[Task]:
        """The tasks of ``conversation`` (its task ids, oldest first) other than
        ``task_id``."""
        earlier = []
        for other in conversation:
            if other != task_id and (task := await self._store.get(other, context)) is not None:
                earlier.append(task)
        return earlier


def _attach(execution: Execution) -> asyncio.Queue[Item]:
    """A queue that gets the execution's task as it stands, then its further events."""
    task = execution.task
    return execution.subscribe(None if task is None else (task, _copy(task)))


def _limited(result: Snapshot, params: SendMessageRequest | None) -> Snapshot:
    """``result`` with the request's ``historyLength`` applied (tasks only)."""
    if isinstance(result, Task) and params is not None:
        return apply_history_length(result, params.configuration)
    return result

"""a2a-sdk's ``DefaultRequestHandler`` as the worker can run it instead of the lean one.

``FAUST_A2A_REQUEST_HANDLER=default`` selects it, so the two can be compared at any
time (``make bench`` reports both). It gets the same stores and the conversation's
earlier tasks; the Kafka-specific recovery (redelivered messages answered from their
task, orphaned tasks run again or ended) is the lean handler's (:mod:`app.handler`).
"""

from __future__ import annotations

from a2a.server.agent_execution import (
    AgentExecutor,
    RequestContext,
    SimpleRequestContextBuilder,
)
from a2a.server.context import ServerCallContext
from a2a.server.id_generator import IDGenerator
from a2a.server.owner_resolver import resolve_user_scope
from a2a.server.request_handlers import DefaultRequestHandler
from a2a.server.tasks import PushNotificationConfigStore, PushNotificationSender
from a2a.types import AgentCard, SendMessageRequest, Task

from tables import ConversationIndex, FaustTaskStore


class ConversationContextBuilder(SimpleRequestContextBuilder):
    """Builds each ``RequestContext`` with the conversation's earlier tasks.

    Records every new task in the conversation index and puts the conversation's
    earlier tasks, oldest first, in ``RequestContext.related_tasks``.
    """

    def __init__(
        self,
        tasks: FaustTaskStore,
        conversations: ConversationIndex,
        task_id_generator: IDGenerator,
    ) -> None:
        super().__init__(task_id_generator=task_id_generator)
        self._tasks = tasks
        self._conversations = conversations

    async def build(
        self,
        context: ServerCallContext,
        params: SendMessageRequest | None = None,
        task_id: str | None = None,
        context_id: str | None = None,
        task: Task | None = None,
    ) -> RequestContext:
        """Builds the context, records the task, attaches the earlier tasks."""
        request_context = await super().build(context, params, task_id, context_id, task)
        new_task_id, conversation = request_context.task_id, request_context.context_id
        if new_task_id and conversation:
            owner = resolve_user_scope(context)
            for earlier_id in self._conversations.task_ids(conversation, owner):
                if earlier_id != new_task_id:
                    earlier = await self._tasks.get(earlier_id, context)
                    if earlier is not None:
                        request_context.attach_related_task(earlier)
            self._conversations.add(conversation, new_task_id, owner)
        return request_context


def sdk_request_handler(
    *,
    agent_executor: AgentExecutor,
    tasks: FaustTaskStore,
    conversations: ConversationIndex,
    agent_card: AgentCard,
    task_id_generator: IDGenerator,
    push_config_store: PushNotificationConfigStore | None,
    push_sender: PushNotificationSender | None,
    interrupted_task_timeout: float,
) -> DefaultRequestHandler:
    """a2a-sdk's ``DefaultRequestHandler`` over the worker's stores.

    Args:
        interrupted_task_timeout: Seconds a2a-sdk keeps an ``input-required`` task's
            execution in memory before a follow-up must reload it from the table.
    """
    return DefaultRequestHandler(
        agent_executor=agent_executor,
        task_store=tasks,
        agent_card=agent_card,
        extended_agent_card=agent_card,
        push_config_store=push_config_store,
        push_sender=push_sender,
        request_context_builder=ConversationContextBuilder(tasks, conversations, task_id_generator),
        interrupted_task_timeout=interrupted_task_timeout,
    )

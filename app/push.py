"""Push notifications (A2A 1.0 §3.5.3, §4.3.3) through a Kafka outbox: the producing half.

Push delivery survives crashes because every notification is first a Kafka record.
Two halves, joined by the outbox topic ``agent.<name>.push``:

* :class:`OutboxPushSender` (here) is a2a-sdk's ``PushNotificationSender``. A request
  handler calls it for every task event; for each push config of the task it
  produces one outbox record and waits for the broker's acknowledgement, before the
  event's response record is sent. Key: the task's routing key (so one task's
  notifications stay in one partition, in order, and the partition is the one that
  holds the task's push configs); value: the ``StreamResponse`` JSON of the event,
  exactly as a2a-sdk's ``BasePushNotificationSender`` posts it; headers: the task id,
  the config id and the trace context. No credentials: the token and
  ``authentication`` are read from the config at delivery time (a config deleted
  meanwhile is no longer notified).
* :class:`app.push_delivery.PushDelivery`, the Faust agent of the outbox, POSTs each
  record (order per task, retries with backoff, dead letters, at-least-once).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import faust
from a2a.server.tasks import PushNotificationConfigStore
from a2a.server.tasks.push_notification_sender import (
    PushNotificationEvent,
    PushNotificationSender,
)
from a2a.types import Task, TaskState, TaskStatusUpdateEvent
from a2a.utils.proto_utils import to_stream_response
from google.protobuf.json_format import MessageToDict

from app import binding, metrics, tracing

#: ``produce(topic, key, value, headers)``: sends one record and waits for the broker.
Produce = Callable[[str, bytes, bytes, list[tuple[str, bytes]]], Awaitable[None]]


def producer_of(app: faust.App) -> Produce:
    """A :data:`Produce` that sends with ``app``'s producer."""

    async def produce(
        topic: str, key: bytes, value: bytes, headers: list[tuple[str, bytes]]
    ) -> None:
        await app.producer.send_and_wait(topic, key, value, None, None, headers)

    return produce


def notification_body(event: PushNotificationEvent) -> bytes:
    """The POST body of ``event``: its ``StreamResponse`` as JSON (what a2a-sdk's
    ``BasePushNotificationSender`` posts, compactly encoded)."""
    return binding.encode_json(MessageToDict(to_stream_response(event)))


class OutboxPushSender(PushNotificationSender):
    """a2a-sdk ``PushNotificationSender`` that writes notifications to the outbox topic.

    Args:
        agent: The hosted agent.
        configs: The agent's push-config store (``get_info_for_dispatch``).
        produce: Sends a record and waits for the acknowledgement.
        count_states: Also count task state changes
            (``faust_a2a_task_state_changes_total``): a2a-sdk's handler passes every
            Task and status event through here (the lean handler counts them itself).
    """

    def __init__(
        self,
        agent: str,
        configs: PushNotificationConfigStore,
        produce: Produce,
        *,
        count_states: bool = True,
    ) -> None:
        self._agent = agent
        self._count_states = count_states
        self._configs = configs
        self._produce = produce
        self._topic = binding.push_topic(agent)

    async def send_notification(self, task_id: str, event: PushNotificationEvent) -> None:
        """Produces one outbox record per push config of ``task_id``.

        Raises:
            KafkaError: the record could not be produced (a2a-sdk's handlers log it).
        """
        if self._count_states and isinstance(event, TaskStatusUpdateEvent | Task):
            metrics.task_state_changed(self._agent, TaskState.Name(event.status.state))
        configs = await self._configs.get_info_for_dispatch(task_id)
        if not configs:
            return
        key = binding.task_routing_key(task_id).encode()
        body = notification_body(event)
        for config in configs:
            headers = [
                (binding.PUSH_TASK_ID, task_id.encode()),
                (binding.PUSH_CONFIG_ID, config.id.encode()),
            ]
            tracing.inject(headers)
            await self._produce(self._topic, key, body, headers)

"""a2a-sdk's ``PushNotificationConfigStore`` on a Faust table keyed by task id."""

from __future__ import annotations

from collections.abc import MutableMapping

from a2a.server.context import ServerCallContext
from a2a.server.tasks import PushNotificationConfigStore
from a2a.server.tasks.push_notification_config_store import normalize_push_notification_config
from a2a.types import ListTaskPushNotificationConfigsResponse, TaskPushNotificationConfig

from tables.keys import scoped


class FaustPushNotificationConfigStore(PushNotificationConfigStore):
    """Push-notification configs of one agent's tasks: ``<agent>/<task id>`` → configs.

    The value is a ``ListTaskPushNotificationConfigsResponse`` protobuf holding every
    config of the task; it is keyed by task id and written while handling a request
    routed by that task's routing key, so it lives in the task's partition.

    Args:
        table: The ``push-configs`` table (``MutableMapping[str, bytes]``).
        agent: The agent whose configs this store holds.
    """

    def __init__(self, table: MutableMapping[str, bytes], agent: str) -> None:
        self._table = table
        self._agent = agent

    def _load(self, task_id: str) -> list[TaskPushNotificationConfig]:
        raw = self._table.get(scoped(self._agent, task_id))
        return (
            []
            if raw is None
            else list(ListTaskPushNotificationConfigsResponse.FromString(raw).configs)
        )

    def _store(self, task_id: str, configs: list[TaskPushNotificationConfig]) -> None:
        key = scoped(self._agent, task_id)
        if configs:
            self._table[key] = ListTaskPushNotificationConfigsResponse(
                configs=configs
            ).SerializeToString()
        else:
            self._table.pop(key, None)

    async def set_info(
        self,
        task_id: str,
        notification_config: TaskPushNotificationConfig,
        context: ServerCallContext,
    ) -> TaskPushNotificationConfig:
        """Adds or replaces (same config id) a config; returns the stored copy."""
        stored = normalize_push_notification_config(task_id, notification_config)
        configs = [c for c in self._load(task_id) if c.id != stored.id]
        configs.append(stored)
        self._store(task_id, configs)
        return stored

    async def get_info(
        self, task_id: str, context: ServerCallContext
    ) -> list[TaskPushNotificationConfig]:
        """Every config of the task."""
        return self._load(task_id)

    async def get_info_for_dispatch(self, task_id: str) -> list[TaskPushNotificationConfig]:
        """Every config of the task, for the push sender."""
        return self._load(task_id)

    async def delete_info(
        self, task_id: str, context: ServerCallContext, config_id: str | None = None
    ) -> None:
        """Deletes one config (``config_id``) or all configs of the task."""
        configs = [] if config_id is None else [c for c in self._load(task_id) if c.id != config_id]
        self._store(task_id, configs)

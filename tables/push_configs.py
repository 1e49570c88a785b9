"""a2a-sdk's ``PushNotificationConfigStore`` on a Faust table keyed by task id."""

from __future__ import annotations

from collections.abc import MutableMapping

from a2a.server.context import ServerCallContext
from a2a.server.owner_resolver import OwnerResolver, resolve_user_scope
from a2a.server.tasks import PushNotificationConfigStore
from a2a.server.tasks.push_notification_config_store import normalize_push_notification_config
from a2a.types import ListTaskPushNotificationConfigsResponse, TaskPushNotificationConfig

from tables.keys import scoped, split


class FaustPushNotificationConfigStore(PushNotificationConfigStore):
    """Push-notification configs of one agent's tasks: (owner, task id) → configs.

    The value is a ``ListTaskPushNotificationConfigsResponse`` protobuf holding every
    config of the task; it is keyed by owner and task id (:mod:`tables.keys`) and
    written while handling a request routed by that task's routing key, so it lives in
    the task's partition. Reads and writes with a ``ServerCallContext`` see only the
    call's owner's configs (a2a-sdk's ``OwnerResolver`` convention, A2A 1.0 §13.1).

    Args:
        table: The ``push-configs`` table (``MutableMapping[str, bytes]``).
        agent: The agent whose configs this store holds.
        owner_resolver: The owner of a call (default: the user name of
            ``ServerCallContext.user``, ``""`` when unauthenticated).
    """

    def __init__(
        self,
        table: MutableMapping[str, bytes],
        agent: str,
        *,
        owner_resolver: OwnerResolver = resolve_user_scope,
    ) -> None:
        self._table = table
        self._agent = agent
        self._owner = owner_resolver

    def _load(self, task_id: str, owner: str) -> list[TaskPushNotificationConfig]:
        raw = self._table.get(scoped(self._agent, task_id, owner))
        return (
            []
            if raw is None
            else list(ListTaskPushNotificationConfigsResponse.FromString(raw).configs)
        )

    def _store(self, task_id: str, owner: str, configs: list[TaskPushNotificationConfig]) -> None:
        key = scoped(self._agent, task_id, owner)
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
        owner = self._owner(context)
        stored = normalize_push_notification_config(task_id, notification_config)
        configs = [c for c in self._load(task_id, owner) if c.id != stored.id]
        configs.append(stored)
        self._store(task_id, owner, configs)
        return stored

    async def get_info(
        self, task_id: str, context: ServerCallContext
    ) -> list[TaskPushNotificationConfig]:
        """Every config of the call's owner's task."""
        return self._load(task_id, self._owner(context))

    async def get_info_for_dispatch(self, task_id: str) -> list[TaskPushNotificationConfig]:
        """Every config of the task, whoever owns it, for the push sender.

        Without an owner the key is not known, so this reads the anonymous key first
        and otherwise scans the agent's keys for the task id (a2a-sdk's stores also
        dispatch across owners).
        """
        configs = self._load(task_id, "")
        if configs:
            return configs
        for key in list(self._table.keys()):
            try:
                agent, owner, key_task_id = split(key)
            except (ValueError, UnicodeDecodeError):
                continue
            if agent == self._agent and owner and key_task_id == task_id:
                configs.extend(self._load(task_id, owner))
        return configs

    async def delete_info(
        self, task_id: str, context: ServerCallContext, config_id: str | None = None
    ) -> None:
        """Deletes one config (``config_id``) or all configs of the call's owner's task."""
        owner = self._owner(context)
        configs = (
            []
            if config_id is None
            else [c for c in self._load(task_id, owner) if c.id != config_id]
        )
        self._store(task_id, owner, configs)

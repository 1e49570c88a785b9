"""A2A state on Faust tables (RocksDB through ``rocksdict``, changelogged to Kafka).

* :class:`FaustTaskStore` — a2a-sdk's ``TaskStore`` on the ``tasks`` table;
* :class:`ConversationIndex` — the ``contexts`` table: context id → ordered task ids;
* :class:`FaustPushNotificationConfigStore` — a2a-sdk's ``PushNotificationConfigStore``
  on the ``push-configs`` table, keyed by task id so it is co-partitioned with its task.

Every table is written while a request record of the owning partition is being handled
(Faust writes to the changelog partition of the current event), so requests must be
keyed by their routing key (``app.binding.routing_key``).
"""

from tables.contexts import ConversationIndex
from tables.push_configs import FaustPushNotificationConfigStore
from tables.tasks import FaustTaskStore

__all__ = ["ConversationIndex", "FaustPushNotificationConfigStore", "FaustTaskStore"]

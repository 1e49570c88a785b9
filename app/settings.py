"""Service settings, read from the environment once at start-up.

Every setting has an environment variable (upper case, shown per field) and a
default that runs a single worker against the local broker of ``scripts/kafka``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"{name} must be an integer, got {raw!r}") from None


@dataclass(frozen=True)
class Settings:
    """faust-a2a settings.

    Attributes:
        bootstrap_servers: ``KAFKA_BOOTSTRAP_SERVERS``, ``host:port[,host:port]``;
            default ``127.0.0.1:9092``.
        app_id: ``FAUST_A2A_APP_ID``, the Faust app id = Kafka consumer group and the
            prefix of changelog topics; default ``faust-a2a``.
        store: ``FAUST_A2A_STORE``, Faust table store URL; default ``rocksdb://``
            (RocksDB through ``rocksdict``).
        datadir: ``FAUST_A2A_DATADIR``, where this worker keeps its RocksDB files; one
            per worker (Faust's ``--datadir`` overrides it); default ``.data/worker``.
        web_host: ``FAUST_A2A_WEB_HOST``, host the web views bind and advertise;
            default ``127.0.0.1``.
        web_port: ``FAUST_A2A_WEB_PORT``, web view port (``--web-port`` overrides);
            default 6066.
        partitions: ``FAUST_A2A_PARTITIONS``, partitions of every request topic and
            table changelog (they must match); default 8.
        replication_factor: ``FAUST_A2A_REPLICATION_FACTOR``, of the topics the
            service creates; default 1 (3 on a three-broker cluster).
        standby_replicas: ``FAUST_A2A_STANDBY_REPLICAS``, warm table copies on other
            workers for fast fail-over; default 0.
        max_in_flight: ``FAUST_A2A_MAX_IN_FLIGHT``, requests one agent handles at once
            on one worker; default 64.
        max_request_bytes: ``FAUST_A2A_MAX_REQUEST_BYTES``, larger requests are
            refused and dead-lettered; default 1 MiB.
        interrupted_task_timeout: ``FAUST_A2A_INTERRUPTED_TASK_TIMEOUT``, seconds an
            ``input-required`` task stays in memory before a follow-up must reload it
            from the table; default 300.
        task_retention: ``FAUST_A2A_TASK_RETENTION``, seconds a finished task is kept;
            default 7 days.
    """

    bootstrap_servers: str = "127.0.0.1:9092"
    app_id: str = "faust-a2a"
    store: str = "rocksdb://"
    datadir: str = ".data/worker"
    web_host: str = "127.0.0.1"
    web_port: int = 6066
    partitions: int = 8
    replication_factor: int = 1
    standby_replicas: int = 0
    max_in_flight: int = 64
    max_request_bytes: int = 1 << 20
    interrupted_task_timeout: int = 300
    task_retention: int = 7 * 24 * 3600

    @classmethod
    def from_env(cls) -> Settings:
        """Settings from the environment.

        Raises:
            ValueError: a numeric variable is not an integer.
        """
        env = os.environ.get
        d = cls()
        return cls(
            bootstrap_servers=env("KAFKA_BOOTSTRAP_SERVERS") or d.bootstrap_servers,
            app_id=env("FAUST_A2A_APP_ID") or d.app_id,
            store=env("FAUST_A2A_STORE") or d.store,
            datadir=env("FAUST_A2A_DATADIR") or d.datadir,
            web_host=env("FAUST_A2A_WEB_HOST") or d.web_host,
            web_port=_int("FAUST_A2A_WEB_PORT", d.web_port),
            partitions=_int("FAUST_A2A_PARTITIONS", d.partitions),
            replication_factor=_int("FAUST_A2A_REPLICATION_FACTOR", d.replication_factor),
            standby_replicas=_int("FAUST_A2A_STANDBY_REPLICAS", d.standby_replicas),
            max_in_flight=_int("FAUST_A2A_MAX_IN_FLIGHT", d.max_in_flight),
            max_request_bytes=_int("FAUST_A2A_MAX_REQUEST_BYTES", d.max_request_bytes),
            interrupted_task_timeout=_int(
                "FAUST_A2A_INTERRUPTED_TASK_TIMEOUT", d.interrupted_task_timeout
            ),
            task_retention=_int("FAUST_A2A_TASK_RETENTION", d.task_retention),
        )

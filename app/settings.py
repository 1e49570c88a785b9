"""Service settings, read from the environment once at start-up.

Every setting has an environment variable (upper case, shown per field) and a
default that runs a single worker against the local broker of ``scripts/kafka``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields


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
        advertised_bootstrap_servers: ``FAUST_A2A_ADVERTISED_BOOTSTRAP_SERVERS``, the
            bootstrap servers put in AgentCards for callers (as Kafka's
            ``advertised.listeners``); default: ``bootstrap_servers``.
        web_host: ``FAUST_A2A_WEB_HOST``, host other workers reach this worker's web
            views at (Faust's ``canonical_url``); default ``127.0.0.1``.
        web_bind: ``FAUST_A2A_WEB_BIND``, address the web server binds; default
            ``127.0.0.1``.
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
        fetch_max_wait_ms: ``FAUST_A2A_FETCH_MAX_WAIT_MS``, how long the broker may
            hold an empty fetch of the worker's consumer, milliseconds; default 100
            (Faust's own 1500 stalls partitions whose buffer just drained).
        interrupted_task_timeout: ``FAUST_A2A_INTERRUPTED_TASK_TIMEOUT``, seconds an
            ``input-required`` task stays in memory before a follow-up must reload it
            from the table; default 300.
        task_retention: ``FAUST_A2A_TASK_RETENTION``, seconds a finished task is kept;
            default 7 days.
        push_allow: ``FAUST_A2A_PUSH_ALLOW``, comma-separated CIDRs (``127.0.0.1/32``)
            push-notification URLs may resolve to even though they are loopback,
            private, link-local or otherwise non-public; default none (see
            :mod:`app.push_guard`).
        push_timeout: ``FAUST_A2A_PUSH_TIMEOUT``, seconds one webhook POST may take
            (connect, write and read); default 10.
        push_max_response_bytes: ``FAUST_A2A_PUSH_MAX_RESPONSE_BYTES``, the most of a
            webhook's response body read; a longer one is cut off; default 64 KiB.
        push_attempts: ``FAUST_A2A_PUSH_ATTEMPTS``, POSTs of one notification before
            it is dead-lettered; default 8.
        push_backoff_ms: ``FAUST_A2A_PUSH_BACKOFF_MS``, wait after the first failed
            POST, doubled after each further failure; default 500.
        push_backoff_max_ms: ``FAUST_A2A_PUSH_BACKOFF_MAX_MS``, the longest wait
            between two POSTs; default 30000. With the defaults a notification is
            dead-lettered at most 0.5+1+2+4+8+16+30 = 61.5 s (plus 8 timeouts) after
            its first POST.
        push_max_pending: ``FAUST_A2A_PUSH_MAX_PENDING``, outbox records one agent's
            delivery holds at once per worker (in flight or waiting behind an
            earlier notification of the same task); default 1000.
    """

    bootstrap_servers: str = "127.0.0.1:9092"
    app_id: str = "faust-a2a"
    store: str = "rocksdb://"
    datadir: str = ".data/worker"
    advertised_bootstrap_servers: str = ""
    web_host: str = "127.0.0.1"
    web_bind: str = "127.0.0.1"
    web_port: int = 6066
    partitions: int = 8
    replication_factor: int = 1
    standby_replicas: int = 0
    max_in_flight: int = 64
    max_request_bytes: int = 1 << 20
    fetch_max_wait_ms: int = 100
    interrupted_task_timeout: int = 300
    task_retention: int = 7 * 24 * 3600
    push_allow: str = ""
    push_timeout: int = 10
    push_max_response_bytes: int = 64 * 1024
    push_attempts: int = 8
    push_backoff_ms: int = 500
    push_backoff_max_ms: int = 30_000
    push_max_pending: int = 1000

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Settings:
        """Settings from the environment (variables in :data:`ENV_VARS`).

        Raises:
            ValueError: a numeric variable is not an integer.
        """
        values: dict[str, object] = {}
        for f in fields(cls):
            raw = environ.get(ENV_VARS[f.name], "")
            if raw == "":
                continue
            if f.type in (int, "int"):
                try:
                    values[f.name] = int(raw)
                except ValueError:
                    raise ValueError(
                        f"{ENV_VARS[f.name]} must be an integer, got {raw!r}"
                    ) from None
            else:
                values[f.name] = raw
        return cls(**values)  # type: ignore[arg-type]

    @property
    def card_bootstrap_servers(self) -> str:
        """The bootstrap servers AgentCards advertise."""
        return self.advertised_bootstrap_servers or self.bootstrap_servers


#: The environment variable of each setting.
ENV_VARS: dict[str, str] = {
    "bootstrap_servers": "KAFKA_BOOTSTRAP_SERVERS",
    **{
        f.name: f"FAUST_A2A_{f.name.upper()}"
        for f in fields(Settings)
        if f.name != "bootstrap_servers"
    },
}

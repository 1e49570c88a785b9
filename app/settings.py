"""Service settings, read from the environment once at start-up.

Every setting has an environment variable (upper case, shown per field) and a
default that runs a single worker against the local broker of ``scripts/kafka``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields

import faust  # noqa: F401 -- importing faust copies `faust --datadir` into FAUST_DATADIR

from app.kafka_config import KafkaConfig


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
        datadir: ``FAUST_A2A_DATADIR``, where this worker keeps its RocksDB files, one
            directory per app id below it; one per worker. ``faust --datadir DIR``
            overrides it; default ``.data/worker``.
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
        consumer: ``FAUST_A2A_CONSUMER``, where the worker's Kafka consumer runs:
            ``inline`` (default: on the worker's event loop) or ``thread`` (Faust's own
            consumer thread, for comparison); see :mod:`app.kafka_driver`.
        interrupted_task_timeout: ``FAUST_A2A_INTERRUPTED_TASK_TIMEOUT``, with the
            ``default`` request handler only: seconds a2a-sdk keeps an
            ``input-required`` task's execution in memory before a follow-up must
            reload it from the table; default 300. The lean handler keeps nothing in
            memory between turns.
        request_handler: ``FAUST_A2A_REQUEST_HANDLER``, ``lean`` (default: the
            worker's own, :mod:`app.handler`) or ``default`` (a2a-sdk's
            ``DefaultRequestHandler``, for comparison).
        handover_timeout: ``FAUST_A2A_HANDOVER_TIMEOUT``, seconds the executions of a
            revoked partition may run on before they are stopped (their tasks are then
            recovered by the new owner); default 5. Keep it below the rebalance
            timeout (20 s).
        task_retention: ``FAUST_A2A_TASK_RETENTION``, seconds a finished task is kept;
            default 7 days.
        rocksdb_write_buffer_bytes: ``FAUST_A2A_ROCKSDB_WRITE_BUFFER_BYTES``, the
            memtable of one table partition's RocksDB database (RocksDB
            ``write_buffer_size``), bytes; at most two per database are held (one
            being filled, one being flushed). Default 4 MiB (Faust's own: 64 MiB, three
            held).
        rocksdb_block_cache_bytes: ``FAUST_A2A_ROCKSDB_BLOCK_CACHE_BYTES``, the block
            cache of one table partition's database (blocks read from its files),
            bytes; default 8 MiB. With Faust's own 2 GiB per database, and its
            memtables, a worker's resident memory grew by about 0.46 kB per task
            without levelling off (+116 MB over 254,000 tasks).
        kafka_security: Kafka security settings (``KAFKA_SECURITY_PROTOCOL``,
            ``KAFKA_SASL_*``, ``KAFKA_SSL_*``; see :class:`app.kafka_config.KafkaConfig`);
            default PLAINTEXT. Use :attr:`kafka` for the complete connection settings.
        jwt_secret: ``FAUST_A2A_JWT_SECRET``, HS256 secret that verifies callers'
            bearer JWTs (development); set it or ``jwt_jwks`` to turn caller
            authentication on. Default empty: authentication off.
        jwt_jwks: ``FAUST_A2A_JWT_JWKS``, a JWKS (RFC 7517) file path or ``https://``
            URL whose RS256/ES256 public keys verify callers' JWTs (production).
        jwt_issuer: ``FAUST_A2A_JWT_ISSUER``, required ``iss`` claim; default: not checked.
        jwt_audience: ``FAUST_A2A_JWT_AUDIENCE``, required ``aud`` claim (one value;
            a token with an ``aud`` claim is refused while this is empty).
        jwt_algorithms: ``FAUST_A2A_JWT_ALGORITHMS``, comma-separated accepted JWS
            algorithms; default ``HS256`` with a secret, ``RS256,ES256`` with a JWKS
            (both with both). ``none`` is never accepted.
        jwt_leeway: ``FAUST_A2A_JWT_LEEWAY``, clock skew allowed on ``exp``/``nbf``/``iat``,
            seconds; default 30.
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
    consumer: str = "inline"
    interrupted_task_timeout: int = 300
    request_handler: str = "lean"
    handover_timeout: int = 5
    task_retention: int = 7 * 24 * 3600
    rocksdb_write_buffer_bytes: int = 4 << 20
    rocksdb_block_cache_bytes: int = 8 << 20
    jwt_secret: str = ""
    jwt_jwks: str = ""
    jwt_issuer: str = ""
    jwt_audience: str = ""
    jwt_algorithms: str = ""
    jwt_leeway: int = 30
    push_allow: str = ""
    push_timeout: int = 10
    push_max_response_bytes: int = 64 * 1024
    push_attempts: int = 8
    push_backoff_ms: int = 500
    push_backoff_max_ms: int = 30_000
    push_max_pending: int = 1000
    kafka_security: KafkaConfig = field(default_factory=KafkaConfig)

    def __post_init__(self) -> None:
        if self.request_handler not in ("lean", "default"):
            raise ValueError(
                f"FAUST_A2A_REQUEST_HANDLER must be 'lean' or 'default', got {self.request_handler!r}"
            )
        if self.consumer not in ("inline", "thread"):
            raise ValueError(
                f"FAUST_A2A_CONSUMER must be 'inline' or 'thread', got {self.consumer!r}"
            )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Settings:
        """Settings from the environment (variables in :data:`ENV_VARS`).

        ``faust --datadir DIR`` (Faust's ``FAUST_DATADIR``) wins over
        ``FAUST_A2A_DATADIR``.

        Raises:
            ValueError: a numeric variable is not an integer, or a choice is unknown.
        """
        values: dict[str, object] = {"kafka_security": KafkaConfig.from_env(environ)}
        datadir = next((environ[name] for name in FAUST_DATADIR_VARS if environ.get(name)), None)
        if datadir:
            values["datadir"] = datadir
        for f in fields(cls):
            if f.name not in ENV_VARS:
                continue
            raw = environ.get(ENV_VARS[f.name], "")
            if raw == "" or f.name in values:
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
    def table_options(self) -> dict[str, int]:
        """The RocksDB options of every table partition's database (Faust's table
        ``options``, :class:`faust.stores.rocksdb.RocksDBOptions`): the memtable and
        block cache sizes of this worker; ignored by other stores."""
        return {
            "write_buffer_size": self.rocksdb_write_buffer_bytes,
            "max_write_buffer_number": 2,
            "block_cache_size": self.rocksdb_block_cache_bytes,
        }

    @property
    def kafka(self) -> KafkaConfig:
        """The Kafka connection settings of every client: :attr:`bootstrap_servers`
        with :attr:`kafka_security`."""
        return self.kafka_security.with_bootstrap_servers(self.bootstrap_servers)

    @property
    def card_bootstrap_servers(self) -> str:
        """The bootstrap servers AgentCards advertise."""
        return self.advertised_bootstrap_servers or self.bootstrap_servers


#: Where faust-streaming puts ``faust --datadir DIR``: ``import faust`` reads it from
#: ``sys.argv`` (its CLI imports the app before it parses its options).
FAUST_DATADIR_VARS = ("FAUST_DATADIR", "F_DATADIR")


#: The environment variable of each setting.
ENV_VARS: dict[str, str] = {
    "bootstrap_servers": "KAFKA_BOOTSTRAP_SERVERS",
    **{
        f.name: f"FAUST_A2A_{f.name.upper()}"
        for f in fields(Settings)
        if f.name not in ("bootstrap_servers", "kafka_security")
    },
}

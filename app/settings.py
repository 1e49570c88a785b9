"""Service settings, read from the environment once at start-up.

Every setting has an environment variable (upper case, shown per field) and a
default that runs a single worker against the local broker of ``scripts/kafka``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path


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
    request_handler: str = "lean"
    handover_timeout: int = 5
    task_retention: int = 7 * 24 * 3600

    def __post_init__(self) -> None:
        if self.request_handler not in ("lean", "default"):
            raise ValueError(
                f"FAUST_A2A_REQUEST_HANDLER must be 'lean' or 'default', got {self.request_handler!r}"
            )

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] = os.environ, argv: Sequence[str] = sys.argv
    ) -> Settings:
        """Settings from the environment (variables in :data:`ENV_VARS`).

        ``faust --datadir DIR`` (found in ``argv``, see :func:`cli_datadir`) wins over
        ``FAUST_A2A_DATADIR``.

        Raises:
            ValueError: a numeric variable is not an integer, or a choice is unknown.
        """
        values: dict[str, object] = {}
        datadir = cli_datadir(argv) or environ.get(FAUST_CLI_DATADIR)
        if datadir:
            values["datadir"] = datadir
        for f in fields(cls):
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
    def card_bootstrap_servers(self) -> str:
        """The bootstrap servers AgentCards advertise."""
        return self.advertised_bootstrap_servers or self.bootstrap_servers


#: Set by ``faust --datadir DIR`` (faust-streaming's CLI), once its options are parsed.
FAUST_CLI_DATADIR = "F_DATADIR"


def cli_datadir(argv: Sequence[str]) -> str | None:
    """The ``--datadir``/``-D`` option of a ``faust`` command line, or ``None``.

    faust-streaming's CLI imports the app (``-A``) before it parses its own options,
    so the ``F_DATADIR`` it sets for ``--datadir`` comes too late for an app that
    reads its settings when imported; Faust itself finds ``-A`` and ``-W`` in
    ``sys.argv`` the same way. Only a ``faust`` command line is read.
    """
    if not argv or Path(argv[0]).name != "faust":
        return None
    for index, arg in enumerate(argv):
        if arg in ("--datadir", "-D") and index + 1 < len(argv):
            return argv[index + 1]
        if arg.startswith("--datadir="):
            return arg.partition("=")[2]
    return None

#: The environment variable of each setting.
ENV_VARS: dict[str, str] = {
    "bootstrap_servers": "KAFKA_BOOTSTRAP_SERVERS",
    **{
        f.name: f"FAUST_A2A_{f.name.upper()}"
        for f in fields(Settings)
        if f.name != "bootstrap_servers"
    },
}

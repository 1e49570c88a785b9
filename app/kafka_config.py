"""One place for Kafka connection and security settings, used by every Kafka client.

Every Kafka client the project creates takes its connection settings from a
:class:`KafkaConfig`: the worker's Faust app (consumer, producer and admin, through
Faust's ``broker_credentials``), :class:`app.transport.KafkaTransport`, the registry
reader and writer (:mod:`app.registry`), :class:`app.peers.KafkaPeerCaller`, the CLI
commands and the benchmark's clients.

Settings come from the environment (:meth:`KafkaConfig.from_env`) or from code, like
aiokafka's own keyword arguments::

    config = KafkaConfig(
        bootstrap_servers="broker:9093",
        security_protocol="SASL_SSL",
        sasl_mechanism="SCRAM-SHA-512",
        sasl_username="alice",
        sasl_password="…",
        ssl_cafile="ca.pem",
    )
    producer = AIOKafkaProducer(**config.producer_options())

Durable produce (A2A 1.0 §12 delivery guarantees; Kafka ``acks``, ``enable.idempotence``):
every producer runs with :data:`DURABLE_PRODUCER_OPTIONS`. ``acks="all"`` makes the
partition leader answer only once every in-sync replica has the record, so a leader
that dies right after acknowledging cannot take the record with it (with
``min.insync.replicas`` ≥ 2 on the topic). Idempotence gives each producer an id and
each record a sequence number, so the producer's own retries after a lost answer or a
leader change never write a record twice nor reorder a partition. The price is one
replication round trip per produce.

Passwords never appear in a ``repr``, a log line or an error message of this module.
"""

from __future__ import annotations

import asyncio
import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import faust
from aiokafka.conn import create_conn
from aiokafka.errors import (
    KafkaConnectionError,
    SaslAuthenticationFailed,
    UnsupportedSaslMechanismError,
)
from aiokafka.helpers import create_ssl_context
from faust.types.auth import CredentialsT

#: ``KAFKA_SECURITY_PROTOCOL`` values (Kafka ``security.protocol``).
SECURITY_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
#: ``KAFKA_SASL_MECHANISM`` values (Kafka ``sasl.mechanism``).
SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")

#: Producer options of every producer the project creates: ``acks=all`` and
#: idempotence (Kafka ``acks``, ``enable.idempotence``); see the module docstring.
DURABLE_PRODUCER_OPTIONS: Mapping[str, Any] = {"acks": "all", "enable_idempotence": True}

#: Environment variable of each :class:`KafkaConfig` field.
ENV_VARS: Mapping[str, str] = {
    "bootstrap_servers": "KAFKA_BOOTSTRAP_SERVERS",
    "security_protocol": "KAFKA_SECURITY_PROTOCOL",
    "sasl_mechanism": "KAFKA_SASL_MECHANISM",
    "sasl_username": "KAFKA_SASL_USERNAME",
    "sasl_password": "KAFKA_SASL_PASSWORD",
    "ssl_cafile": "KAFKA_SSL_CAFILE",
    "ssl_certfile": "KAFKA_SSL_CERTFILE",
    "ssl_keyfile": "KAFKA_SSL_KEYFILE",
}


@dataclass(frozen=True)
class KafkaConfig:
    """How to reach and authenticate to the Kafka cluster.

    Attributes:
        bootstrap_servers: ``KAFKA_BOOTSTRAP_SERVERS``, ``host:port[,host:port]``;
            default ``127.0.0.1:9092``. A :class:`~app.transport.KafkaTransport` uses
            the servers of the AgentCard's URL instead, with this config's security.
        security_protocol: ``KAFKA_SECURITY_PROTOCOL``, one of
            :data:`SECURITY_PROTOCOLS` (Kafka ``security.protocol``); default
            ``PLAINTEXT``.
        sasl_mechanism: ``KAFKA_SASL_MECHANISM``, one of :data:`SASL_MECHANISMS`
            (Kafka ``sasl.mechanism``); used with ``SASL_*`` protocols; default
            ``PLAIN``.
        sasl_username: ``KAFKA_SASL_USERNAME``; required with ``SASL_*`` protocols.
        sasl_password: ``KAFKA_SASL_PASSWORD``; required with ``SASL_*`` protocols.
            Never shown in ``repr``.
        ssl_cafile: ``KAFKA_SSL_CAFILE``, PEM file of the CA(s) that signed the
            brokers' certificates; default: the system's CAs. Used with ``SSL`` and
            ``SASL_SSL``. Broker host names are checked against their certificates.
        ssl_certfile: ``KAFKA_SSL_CERTFILE``, PEM client certificate (mutual TLS).
        ssl_keyfile: ``KAFKA_SSL_KEYFILE``, PEM private key of ``ssl_certfile``.

    Raises:
        ValueError: on construction, an unknown protocol or mechanism, SASL without a
            username or password, or a key file without a certificate; the message
            names the environment variable to fix.
    """

    bootstrap_servers: str = "127.0.0.1:9092"
    security_protocol: str = "PLAINTEXT"
    sasl_mechanism: str = "PLAIN"
    sasl_username: str | None = None
    sasl_password: str | None = field(default=None, repr=False)
    ssl_cafile: str | None = None
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None

    def __post_init__(self) -> None:
        """Checks the combination of settings (see the class docstring)."""
        if self.security_protocol not in SECURITY_PROTOCOLS:
            raise ValueError(
                f"KAFKA_SECURITY_PROTOCOL={self.security_protocol!r} is not one of "
                f"{', '.join(SECURITY_PROTOCOLS)}"
            )
        if self.uses_sasl:
            if self.sasl_mechanism not in SASL_MECHANISMS:
                raise ValueError(
                    f"KAFKA_SASL_MECHANISM={self.sasl_mechanism!r} is not one of "
                    f"{', '.join(SASL_MECHANISMS)}"
                )
            if not self.sasl_username or not self.sasl_password:
                raise ValueError(
                    f"KAFKA_SECURITY_PROTOCOL={self.security_protocol} needs "
                    "KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD"
                )
        if self.ssl_keyfile and not self.ssl_certfile:
            raise ValueError("KAFKA_SSL_KEYFILE is set without KAFKA_SSL_CERTFILE")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> KafkaConfig:
        """The settings in the environment (:data:`ENV_VARS`); unset or empty = default.

        Raises:
            ValueError: as the constructor.
        """
        values = {name: environ[var] for name, var in ENV_VARS.items() if environ.get(var)}
        if "security_protocol" in values:
            values["security_protocol"] = values["security_protocol"].upper()
        if "sasl_mechanism" in values:
            values["sasl_mechanism"] = values["sasl_mechanism"].upper()
        return cls(**values)

    def with_bootstrap_servers(self, bootstrap_servers: str) -> KafkaConfig:
        """The same security settings for other bootstrap servers."""
        return replace(self, bootstrap_servers=bootstrap_servers)

    @property
    def uses_sasl(self) -> bool:
        """Whether the protocol authenticates with SASL."""
        return self.security_protocol.startswith("SASL_")

    @property
    def uses_ssl(self) -> bool:
        """Whether the protocol runs over TLS."""
        return self.security_protocol in ("SSL", "SASL_SSL")

    def ssl_context(self) -> ssl.SSLContext | None:
        """A TLS context for ``SSL``/``SASL_SSL`` (aiokafka's ``create_ssl_context``), else ``None``.

        Raises:
            ValueError: a CA, certificate or key file cannot be read or parsed; the
                message names the setting.
        """
        if not self.uses_ssl:
            return None
        try:
            return create_ssl_context(
                cafile=self.ssl_cafile, certfile=self.ssl_certfile, keyfile=self.ssl_keyfile
            )
        except (OSError, ssl.SSLError) as exc:
            files = {
                "KAFKA_SSL_CAFILE": self.ssl_cafile,
                "KAFKA_SSL_CERTFILE": self.ssl_certfile,
                "KAFKA_SSL_KEYFILE": self.ssl_keyfile,
            }
            named = ", ".join(f"{k}={v}" for k, v in files.items() if v)
            raise ValueError(f"cannot load the TLS files ({named}): {exc}") from exc

    def client_options(self) -> dict[str, Any]:
        """Keyword arguments for any aiokafka client: servers and security.

        Good for ``AIOKafkaConsumer``, ``AIOKafkaProducer`` and ``AIOKafkaAdminClient``
        (``bootstrap_servers``, ``security_protocol``, ``ssl_context``,
        ``sasl_mechanism``, ``sasl_plain_username``, ``sasl_plain_password``).
        """
        options: dict[str, Any] = {
            "bootstrap_servers": self.bootstrap_servers,
            "security_protocol": self.security_protocol,
        }
        context = self.ssl_context()
        if context is not None:
            options["ssl_context"] = context
        if self.uses_sasl:
            options["sasl_mechanism"] = self.sasl_mechanism
            options["sasl_plain_username"] = self.sasl_username
            options["sasl_plain_password"] = self.sasl_password
        return options

    def consumer_options(self, **extra: Any) -> dict[str, Any]:
        """Keyword arguments for ``AIOKafkaConsumer``: :meth:`client_options` + ``extra``."""
        return {**self.client_options(), **extra}

    def admin_options(self, **extra: Any) -> dict[str, Any]:
        """Keyword arguments for ``AIOKafkaAdminClient``: :meth:`client_options` + ``extra``."""
        return {**self.client_options(), **extra}

    def producer_options(self, **extra: Any) -> dict[str, Any]:
        """Keyword arguments for ``AIOKafkaProducer``: durable and secured.

        :meth:`client_options` + :data:`DURABLE_PRODUCER_OPTIONS` + ``extra``.

        Raises:
            ValueError: ``extra`` weakens ``acks`` or turns idempotence off.
        """
        options = {**self.client_options(), **DURABLE_PRODUCER_OPTIONS, **extra}
        if options["acks"] not in ("all", -1) or not options["enable_idempotence"]:
            raise ValueError("producers must use acks='all' and enable_idempotence=True")
        return options

    def faust_credentials(self) -> CredentialsT | None:
        """Faust's ``broker_credentials`` for these settings (``None`` for PLAINTEXT).

        Faust gives them to its consumer, producer and admin client
        (``faust.SASLCredentials`` / ``faust.SSLCredentials``).
        """
        context = self.ssl_context()
        if self.uses_sasl:
            return faust.SASLCredentials(
                username=self.sasl_username,
                password=self.sasl_password,
                ssl_context=context,
                mechanism=self.sasl_mechanism,
            )
        if context is not None:
            return faust.SSLCredentials(context)
        return None

    def faust_settings(self) -> dict[str, Any]:
        """Keyword arguments for ``faust.App``: credentials and durable produce.

        ``broker_credentials`` (:meth:`faust_credentials`) and ``producer_acks=-1``
        (all in-sync replicas; faust-streaming 0.15's default, pinned here). Faust has
        no setting for idempotence: its producer turns it on only inside
        transactions, so :class:`app.kafka_driver.Producer` adds it.
        """
        return {"broker_credentials": self.faust_credentials(), "producer_acks": -1}


def kafka_config(kafka: KafkaConfig | str) -> KafkaConfig:
    """``kafka`` itself or, given only bootstrap servers, the environment's security
    settings with those servers (:meth:`KafkaConfig.from_env`).

    Raises:
        ValueError: the environment's settings are invalid (see :class:`KafkaConfig`).
    """
    if isinstance(kafka, KafkaConfig):
        return kafka
    return KafkaConfig.from_env().with_bootstrap_servers(kafka)


async def connection_problem(config: KafkaConfig, *, timeout: float = 10.0) -> str | None:
    """Why the brokers refuse a client with ``config``, in one line naming the setting to fix.

    aiokafka's clients report a failed start only as "Unable to bootstrap"; this
    opens one connection (aiokafka's public ``create_conn``) to each bootstrap server
    with the same security settings and explains the first failure: refused SASL
    credentials (``KAFKA_SASL_USERNAME``/``KAFKA_SASL_PASSWORD``), a mechanism the
    listener does not enable (``KAFKA_SASL_MECHANISM``), a certificate the CA file
    does not verify (``KAFKA_SSL_CAFILE``), a plaintext client on a TLS listener
    (``KAFKA_SECURITY_PROTOCOL``), or nothing listening (``KAFKA_BOOTSTRAP_SERVERS``).
    The password never appears in the text.

    Returns:
        The explanation, or ``None`` when every connection succeeds (the cause is
        elsewhere) or the settings themselves are invalid.
    """
    try:
        options = config.client_options()
    except ValueError as exc:
        return str(exc)
    options.pop("bootstrap_servers")
    for server in config.bootstrap_servers.split(","):
        host, _, port = server.strip().rpartition(":")
        where = f"Kafka at {server.strip()}"
        try:
            connection = await asyncio.wait_for(
                create_conn(host, int(port), request_timeout_ms=int(timeout * 1000), **options),
                timeout,
            )
        except SaslAuthenticationFailed:
            return (
                f"{where} refused the SASL credentials of user {config.sasl_username!r} "
                f"({config.sasl_mechanism}): check KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD"
            )
        except UnsupportedSaslMechanismError:
            return (
                f"{where} does not enable SASL mechanism {config.sasl_mechanism}: "
                "check KAFKA_SASL_MECHANISM"
            )
        except ssl.SSLCertVerificationError as exc:
            return (
                f"cannot verify the TLS certificate of {where} ({exc.verify_message}): "
                f"check KAFKA_SSL_CAFILE (now {config.ssl_cafile or 'the system CAs'})"
            )
        except ssl.SSLError as exc:
            return (
                f"TLS handshake with {where} failed ({exc.reason}): is it a TLS listener? "
                f"check KAFKA_SECURITY_PROTOCOL (now {config.security_protocol})"
            )
        except KafkaConnectionError:
            if config.uses_ssl:
                return f"{where} closed the connection: check KAFKA_SECURITY_PROTOCOL"
            return (
                f"{where} closed the connection during the handshake: the listener probably "
                f"expects TLS or SASL; check KAFKA_SECURITY_PROTOCOL (now "
                f"{config.security_protocol})"
            )
        except (OSError, TimeoutError, ValueError) as exc:
            return f"cannot connect to {where} ({exc}): check KAFKA_BOOTSTRAP_SERVERS"
        connection.close()
    return None


async def explain(config: KafkaConfig, error: BaseException) -> str:
    """One line for a Kafka client that failed to start with ``config``: the
    :func:`connection_problem` if there is one, else the error itself."""
    if isinstance(error, ValueError):
        return str(error)
    if isinstance(error, KafkaConnectionError):
        problem = await connection_problem(config)
        if problem:
            return problem
    return f"{type(error).__name__}: {error}"

"""KafkaConfig: one set of Kafka connection settings for every client (no broker needed)."""

from __future__ import annotations

import ssl
from pathlib import Path

import faust
import pytest
from aiokafka import AIOKafkaProducer

from app.kafka_config import KafkaConfig, connection_problem
from app.kafka_driver import Transport
from app.settings import Settings

SASL_SSL = {
    "KAFKA_BOOTSTRAP_SERVERS": "broker:9093",
    "KAFKA_SECURITY_PROTOCOL": "sasl_ssl",
    "KAFKA_SASL_MECHANISM": "scram-sha-512",
    "KAFKA_SASL_USERNAME": "alice",
    "KAFKA_SASL_PASSWORD": "s3cret-pw",
}


def test_defaults_are_plaintext_to_the_local_broker() -> None:
    config = KafkaConfig.from_env({})
    assert config == KafkaConfig()
    assert config.client_options() == {
        "bootstrap_servers": "127.0.0.1:9092",
        "security_protocol": "PLAINTEXT",
    }
    assert config.faust_credentials() is None


def test_sasl_ssl_from_the_environment() -> None:
    config = KafkaConfig.from_env(SASL_SSL)
    options = config.client_options()
    assert options["security_protocol"] == "SASL_SSL"
    assert options["sasl_mechanism"] == "SCRAM-SHA-512"
    assert (options["sasl_plain_username"], options["sasl_plain_password"]) == (
        "alice",
        "s3cret-pw",
    )
    assert isinstance(options["ssl_context"], ssl.SSLContext)
    assert options["ssl_context"].check_hostname
    credentials = config.faust_credentials()
    assert isinstance(credentials, faust.SASLCredentials)
    assert credentials.protocol.value == "SASL_SSL"
    assert credentials.mechanism.value == "SCRAM-SHA-512"


def test_the_password_is_never_shown() -> None:
    config = KafkaConfig.from_env(SASL_SSL)
    assert "s3cret-pw" not in repr(config)
    assert "s3cret-pw" not in repr(config.faust_credentials())
    assert "s3cret-pw" not in repr(Settings.from_env(SASL_SSL))


@pytest.mark.parametrize(
    ("environ", "variable"),
    [
        ({"KAFKA_SECURITY_PROTOCOL": "TLS"}, "KAFKA_SECURITY_PROTOCOL"),
        ({**SASL_SSL, "KAFKA_SASL_MECHANISM": "GSSAPI"}, "KAFKA_SASL_MECHANISM"),
        ({**SASL_SSL, "KAFKA_SASL_PASSWORD": ""}, "KAFKA_SASL_PASSWORD"),
        ({"KAFKA_SSL_KEYFILE": "key.pem"}, "KAFKA_SSL_CERTFILE"),
    ],
)
def test_bad_settings_name_the_variable(environ: dict[str, str], variable: str) -> None:
    with pytest.raises(ValueError, match=variable):
        KafkaConfig.from_env(environ)


def test_an_unreadable_ca_file_names_the_setting(tmp_path: Path) -> None:
    config = KafkaConfig(security_protocol="SSL", ssl_cafile=str(tmp_path / "missing.pem"))
    with pytest.raises(ValueError, match="KAFKA_SSL_CAFILE="):
        config.client_options()


def test_producers_are_durable_and_cannot_be_weakened() -> None:
    options = KafkaConfig().producer_options(linger_ms=5)
    assert options["acks"] == "all" and options["enable_idempotence"] is True
    assert options["linger_ms"] == 5
    with pytest.raises(ValueError, match="acks"):
        KafkaConfig().producer_options(acks=1)
    with pytest.raises(ValueError, match="idempotence"):
        KafkaConfig().producer_options(enable_idempotence=False)


async def test_the_faust_workers_producer_is_durable() -> None:
    """faust-streaming sets idempotence only in transactions: app.kafka_driver adds it.

    Reads Faust's and aiokafka's internals on purpose: fails if upstream changes.
    """
    app = faust.App(
        "kafka-config-test", broker="kafka://127.0.0.1:9", **KafkaConfig().faust_settings()
    )
    app.transport = Transport(app.conf.broker_consumer, app)
    producer = app.producer._new_producer()  # type: ignore[attr-defined]
    assert isinstance(producer, AIOKafkaProducer)
    assert producer._txn_manager is not None, "idempotence is off"
    assert app.conf.producer_acks == -1
    await producer.stop()


async def test_nothing_listening_names_the_bootstrap_setting() -> None:
    problem = await connection_problem(KafkaConfig(bootstrap_servers="127.0.0.1:9"), timeout=5)
    assert problem is not None and "KAFKA_BOOTSTRAP_SERVERS" in problem

"""docker-compose.yml cannot run here (no Docker engine); check it agrees with the
README, the settings module and the broker script."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from app.settings import ENV_VARS, Settings

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
README = (ROOT / "README.md").read_text()


def test_kafka_image_is_the_version_the_script_runs() -> None:
    pom = (ROOT / "scripts" / "kafka-pom" / "pom.xml").read_text()
    version = re.search(r"<kafka.version>([\d.]+)</kafka.version>", pom)
    assert version is not None
    assert COMPOSE["services"]["kafka"]["image"] == f"apache/kafka:{version.group(1)}"
    assert version.group(1).startswith("4.")
    assert f"Kafka {version.group(1)}" in README


def test_host_port_is_the_default_bootstrap_server() -> None:
    host, port = Settings().bootstrap_servers.split(":")
    assert f"{host}:{port}:{port}" in COMPOSE["services"]["kafka"]["ports"]
    kafka_env = COMPOSE["services"]["kafka"]["environment"]
    assert f"PLAINTEXT_HOST://{host}:{port}" in kafka_env["KAFKA_ADVERTISED_LISTENERS"]
    assert f"`{host}:{port}`" in README


def test_worker_reaches_a_declared_listener_and_advertises_the_host_one() -> None:
    worker = COMPOSE["services"]["worker"]["environment"]
    kafka_env = COMPOSE["services"]["kafka"]["environment"]
    assert (
        f"PLAINTEXT://{worker['KAFKA_BOOTSTRAP_SERVERS']}"
        in kafka_env["KAFKA_ADVERTISED_LISTENERS"]
    )
    assert worker["FAUST_A2A_ADVERTISED_BOOTSTRAP_SERVERS"] == Settings().bootstrap_servers


def test_worker_environment_uses_only_real_settings() -> None:
    worker = COMPOSE["services"]["worker"]["environment"]
    known = set(ENV_VARS.values())
    assert set(worker) <= known, set(worker) - known
    settings = Settings.from_env({k: str(v) for k, v in worker.items()})
    assert settings.partitions == Settings().partitions
    assert str(settings.web_port) in COMPOSE["services"]["worker"]["ports"][0]
    for variable in worker:
        assert f"`{variable}`" in README, f"{variable} is not documented in the README"


def test_topic_partitions_agree() -> None:
    kafka_env = COMPOSE["services"]["kafka"]["environment"]
    assert int(kafka_env["KAFKA_NUM_PARTITIONS"]) == Settings().partitions


def test_readme_shows_the_docker_way_and_the_two_commands() -> None:
    assert "docker compose up" in README
    assert "make run" in README and "make test" in README


def test_gateway_serves_on_the_host_at_8080() -> None:
    gateway = COMPOSE["services"]["gateway"]
    assert gateway["ports"] == ["127.0.0.1:8080:8080"]
    command = gateway["command"]
    assert command[:4] == ["faust", "-A", "app", "gateway"]
    options = dict(zip(command[4::2], command[5::2], strict=True))
    assert options["--port"] == "8080"
    assert options["--host"] == "0.0.0.0"  # inside its container; published on 127.0.0.1
    assert options["--public-url"] == "http://127.0.0.1:8080"
    kafka_env = COMPOSE["services"]["kafka"]["environment"]
    bootstrap = gateway["environment"]["KAFKA_BOOTSTRAP_SERVERS"]
    assert f"PLAINTEXT://{bootstrap}" in kafka_env["KAFKA_ADVERTISED_LISTENERS"]
    assert set(gateway["environment"]) <= set(ENV_VARS.values())
    assert "127.0.0.1:8080" in README


def test_image_has_the_gateway_extra() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert '".[gateway]"' in dockerfile
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert re.search(r"^gateway = \[.*a2a-sdk\[http-server\]", pyproject, re.MULTILINE)

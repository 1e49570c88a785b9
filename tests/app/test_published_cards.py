"""The AgentCards the worker publishes are valid A2A AgentCards (A2A 1.0 §4.4.1, §5.5).

The cards under test are the records the session worker produced to
``agent.registry`` (built by ``app.cards``), read raw from the broker: not cards built
by the test.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlsplit

import pytest
from a2a.types import AgentCard
from a2a.utils.proto_utils import validate_proto_required_fields
from aiokafka import AIOKafkaConsumer, TopicPartition
from google.protobuf.json_format import MessageToDict, Parse
from support.processes import WorkerProcess

from app.binding import is_kafka_binding, parse_kafka_url

pytestmark = pytest.mark.kafka

HOSTED = ("data", "cs", "balance", "slow", "probe")
CAMEL_CASE = re.compile(r"^[a-z][a-zA-Z0-9]*$")
MEDIA_TYPE = re.compile(r"^[\w.+-]+/[\w.+-]+$")
HOST_PORT = re.compile(r"^[A-Za-z0-9.-]+:\d{1,5}$")


async def registry_values(bootstrap_servers: str) -> dict[str, bytes]:
    """The last record value of every key of ``agent.registry``, read from the start."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers, enable_auto_commit=False)
    await consumer.start()
    try:
        tp = TopicPartition("agent.registry", 0)
        consumer.assign([tp])
        await consumer.seek_to_beginning(tp)
        end = (await consumer.end_offsets([tp]))[tp]
        values: dict[str, bytes] = {}
        while await consumer.position(tp) < end:
            for record in (await consumer.getmany(tp, timeout_ms=1000)).get(tp, []):
                values[(record.key or b"").decode()] = record.value or b""
        return values
    finally:
        await consumer.stop()


def camel_case_violations(value: Any, path: str = "") -> list[str]:
    """JSON member names (at any depth) that are not lowerCamelCase (A2A 1.0 §5.5)."""
    found: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if not CAMEL_CASE.match(key):
                found.append(f"{path}/{key}")
            found += camel_case_violations(item, f"{path}/{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += camel_case_violations(item, f"{path}/{index}")
    return found


@pytest.fixture
async def published(worker: WorkerProcess, bootstrap_servers: str) -> dict[str, bytes]:
    values = await registry_values(bootstrap_servers)
    assert set(HOSTED) <= values.keys()
    return {name: values[name] for name in HOSTED}


@pytest.mark.parametrize("name", HOSTED)
async def test_published_card_is_a_valid_agent_card(
    name: str, published: dict[str, bytes], bootstrap_servers: str, worker: WorkerProcess
) -> None:
    raw = published[name]
    document = json.loads(raw)
    # Every member is a field of the AgentCard proto under its JSON name (no unknown
    # or snake_case names): a strict parse fails on anything else.
    card = Parse(raw, AgentCard())
    validate_proto_required_fields(card)
    assert camel_case_violations(document) == []

    # A2A 1.0 §4.4.1: the required members, present and non-empty.
    for member in ("name", "description", "version", "capabilities", "skills"):
        assert document.get(member), f"{member} missing"
    assert document["name"] == name
    for member in ("defaultInputModes", "defaultOutputModes"):
        assert document[member], f"{member} missing"
        assert all(MEDIA_TYPE.match(mode) for mode in document[member]), document[member]
    for skill in document["skills"]:
        for member in ("id", "name", "description", "tags"):
            assert skill.get(member), f"skill {skill.get('id')}: {member} missing"
    assert all(isinstance(flag, bool) for flag in document["capabilities"].values())

    # §4.4.6 / §5.8: the interfaces; ours is the Kafka binding's (docs/kafka-binding.md §11).
    (interface,) = document["supportedInterfaces"]
    assert set(interface) >= {"url", "protocolBinding", "protocolVersion"}
    assert re.fullmatch(r"\d+\.\d+", interface["protocolVersion"])
    assert interface["protocolVersion"] == "1.0"
    assert is_kafka_binding(interface["protocolBinding"])
    assert re.fullmatch(r"[a-z][a-z0-9+.-]*:\S+", interface["protocolBinding"]), "not a URI"
    url = urlsplit(interface["url"])
    assert url.scheme == "kafka"
    assert all(HOST_PORT.match(server) for server in url.netloc.split(","))
    assert url.netloc == bootstrap_servers
    assert url.path == f"/agent.{name}.requests"
    assert parse_kafka_url(interface["url"]).agent == name

    # It is the card the worker serves (its /agents view).
    status, served = worker.get("/agents")
    assert status == 200
    assert MessageToDict(card) in served

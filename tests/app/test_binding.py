"""The wire format's pure functions."""

from __future__ import annotations

import pytest
from a2a.server.id_generator import IDGeneratorContext

from app import binding


def test_task_ids_carry_their_context_id() -> None:
    generator = binding.RoutedTaskIdGenerator()
    task_id = generator.generate(IDGeneratorContext(context_id="ctx.with.dots"))
    assert binding.task_routing_key(task_id) == "ctx.with.dots"
    assert task_id != generator.generate(IDGeneratorContext(context_id="ctx.with.dots"))


def test_foreign_task_ids_route_by_themselves() -> None:
    assert binding.task_routing_key("plain-uuid-4") == "plain-uuid-4"
    assert binding.task_routing_key("ABCDEF" * 6 + ".x") == "ABCDEF" * 6 + ".x"


@pytest.mark.parametrize(
    ("method", "params", "key"),
    [
        ("SendMessage", {"message": {"contextId": "c1"}}, "c1"),
        # The task decides the context: a contradicting contextId reaches the task's
        # owner, which refuses it.
        ("SendMessage", {"message": {"contextId": "c1", "taskId": "d" * 32 + ".c0"}}, "c0"),
        ("SendStreamingMessage", {"message": {"taskId": "a" * 32 + ".c2"}}, "c2"),
        ("SendMessage", {"message": {"parts": []}}, None),
        ("SendMessage", {"message": "not an object"}, None),
        ("GetTask", {"id": "b" * 32 + ".c3"}, "c3"),
        ("CancelTask", {"id": {"nested": 1}}, None),
        ("SubscribeToTask", {"id": "b" * 32 + ".c4"}, "c4"),
        ("CreateTaskPushNotificationConfig", {"taskId": "c" * 32 + ".c5"}, "c5"),
        ("ListTaskPushNotificationConfigs", {"taskId": "c" * 32 + ".c6"}, "c6"),
        ("ListTasks", {"contextId": "c7"}, "c7"),
        ("ListTasks", {}, None),
        ("GetExtendedAgentCard", {}, None),
    ],
)
def test_routing_key(method: str, params: dict, key: str | None) -> None:
    assert binding.routing_key(method, params) == key


def test_kafka_urls_round_trip() -> None:
    address = binding.KafkaAddress("10.0.0.1:9092,10.0.0.2:9092", "data")
    assert address.url == "kafka://10.0.0.1:9092,10.0.0.2:9092/agent.data.requests"
    assert binding.parse_kafka_url(address.url) == address
    assert binding.parse_kafka_url("kafka://h:1/agent.cs") == binding.KafkaAddress("h:1", "cs")


@pytest.mark.parametrize(
    "url", ["http://h:1/agent.data", "kafka:///agent.data", "kafka://h:1/topic"]
)
def test_bad_kafka_urls(url: str) -> None:
    with pytest.raises(ValueError, match="Kafka"):
        binding.parse_kafka_url(url)


def test_service_parameters_leave_out_binding_headers() -> None:
    headers = [
        ("correlation-id", b"c"),
        ("A2A-Version", b"1.0"),
        ("a2a-final", b"1"),
        ("traceparent", b"00-ab-cd-01"),
    ]
    assert binding.service_parameters(headers) == {
        "a2a-version": "1.0",
        "traceparent": "00-ab-cd-01",
    }
    assert binding.header(headers, "correlation-id") == "c"
    assert binding.header(headers, "reply-to") is None

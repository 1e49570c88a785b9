"""faust-a2a: A2A agents served over Apache Kafka by Faust.

Client side (no Faust needed)::

    from app import KafkaTransport, kafka_client_factory, resolve_card

Worker side: ``faust -A app worker`` loads :data:`app` (the Faust app of
:mod:`app.main`), built on first access so that importing the client does not
build a Faust app.
"""

import os
from typing import Any

# a2a-sdk wraps every handler method in an OpenTelemetry span unless told not to; with
# no tracer configured those no-op spans cost about a tenth of a worker's CPU. Keep
# them only when tracing is configured (it must be decided before a2a is imported).
if not any(
    os.environ.get(name) and os.environ.get(name) != "none"
    for name in (
        "OTEL_TRACES_EXPORTER",
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    )
):
    os.environ.setdefault("OTEL_INSTRUMENTATION_A2A_SDK_ENABLED", "false")

from app.binding import KAFKA_PROTOCOL_BINDING, KafkaAddress, parse_kafka_url
from app.peers import KafkaPeerCaller
from app.registry import fetch_cards, resolve_card
from app.settings import Settings
from app.transport import KafkaTransport, kafka_client_factory

__all__ = [
    "KAFKA_PROTOCOL_BINDING",
    "KafkaAddress",
    "KafkaPeerCaller",
    "KafkaTransport",
    "Settings",
    "fetch_cards",
    "kafka_client_factory",
    "parse_kafka_url",
    "resolve_card",
]


def __getattr__(name: str) -> Any:
    """``app.app`` is the Faust app (``faust -A app``), built on first access."""
    if name == "app":
        from app.main import app

        return app
    raise AttributeError(f"module 'app' has no attribute {name!r}")

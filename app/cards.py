"""AgentCards of the hosted agents, each with its Kafka interface."""

from __future__ import annotations

from a2a.types import AgentCapabilities, AgentCard, AgentInterface
from a2a.utils.constants import PROTOCOL_VERSION_CURRENT

from agents.spec import AgentSpec
from app import binding


def agent_card(spec: AgentSpec, bootstrap_servers: str, version: str = "0.1.0") -> AgentCard:
    """The AgentCard of ``spec`` served over Kafka at ``bootstrap_servers``.

    ``supported_interfaces`` holds one interface with protocol binding
    :data:`app.binding.KAFKA_PROTOCOL_BINDING` and URL
    ``kafka://<bootstrap>/agent.<name>.requests`` (A2A 1.0 §12.7: a custom binding is
    declared in the card like a standard one). ``documentation_url`` links the binding's
    specification, :data:`app.binding.KAFKA_BINDING_SPEC` (§12.7, §5.8).
    """
    address = binding.KafkaAddress(bootstrap_servers=bootstrap_servers, agent=spec.name)
    return AgentCard(
        name=spec.name,
        description=spec.description,
        version=version,
        documentation_url=binding.KAFKA_BINDING_SPEC,
        supported_interfaces=[
            AgentInterface(
                url=address.url,
                protocol_binding=binding.KAFKA_PROTOCOL_BINDING,
                protocol_version=PROTOCOL_VERSION_CURRENT,
            )
        ],
        capabilities=AgentCapabilities(
            streaming=spec.streaming, push_notifications=True, extended_agent_card=True
        ),
        default_input_modes=list(spec.input_modes),
        default_output_modes=list(spec.output_modes),
        skills=list(spec.skills),
    )

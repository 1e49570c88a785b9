"""AgentCards of the hosted agents, each with its Kafka interface and security."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from a2a.server.context import ServerCallContext
from a2a.types import (
    AgentCapabilities,
    AgentCard,
    AgentInterface,
    HTTPAuthSecurityScheme,
    SecurityRequirement,
    SecurityScheme,
)
from a2a.utils.constants import PROTOCOL_VERSION_CURRENT

from agents.spec import AgentSpec
from app import binding

#: Name of the bearer-JWT scheme in ``AgentCard.security_schemes``.
BEARER_SCHEME = "bearer"

#: Builds the card ``GetExtendedAgentCard`` answers for one call (a2a-sdk's
#: ``extended_card_modifier``).
CardModifier = Callable[[AgentCard, ServerCallContext], Awaitable[AgentCard]]


def agent_card(
    spec: AgentSpec,
    bootstrap_servers: str,
    version: str = "0.1.0",
    *,
    authentication: bool = False,
) -> AgentCard:
    """The public AgentCard of ``spec`` served over Kafka at ``bootstrap_servers``.

    ``supported_interfaces`` holds one interface with protocol binding
    :data:`app.binding.KAFKA_PROTOCOL_BINDING` and URL
    ``kafka://<bootstrap>/agent.<name>.requests`` (A2A 1.0 §12.7: a custom binding is
    declared in the card like a standard one). ``documentation_url`` links the binding's
    specification, :data:`app.binding.KAFKA_BINDING_SPEC` (§12.7, §5.8). With
    ``authentication`` (the worker verifies callers, :mod:`app.auth`), the card declares
    the HTTP bearer scheme with bearer format JWT and requires it (A2A 1.0 §4.5,
    ``securitySchemes`` and ``securityRequirements``): a2a-sdk's ``AuthInterceptor``
    then sends the token as the ``authorization`` service parameter.
    """
    address = binding.KafkaAddress(bootstrap_servers=bootstrap_servers, agent=spec.name)
    card = AgentCard(
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
    if authentication:
        card.security_schemes[BEARER_SCHEME].CopyFrom(
            SecurityScheme(
                http_auth_security_scheme=HTTPAuthSecurityScheme(
                    scheme="Bearer",
                    bearer_format="JWT",
                    description="A JWT in the 'authorization' record header "
                    "(docs/kafka-binding.md §10); its 'sub' owns the caller's tasks.",
                )
            )
        )
        requirement = SecurityRequirement()
        requirement.schemes[BEARER_SCHEME].SetInParent()
        card.security_requirements.append(requirement)
    return card


def extended_agent_card(spec: AgentSpec, public: AgentCard) -> AgentCard:
    """The card authenticated callers get from ``GetExtendedAgentCard`` (A2A 1.0 §3.1.11):
    the public card plus the spec's ``extended_skills``."""
    card = AgentCard()
    card.CopyFrom(public)
    card.skills.extend(spec.extended_skills)
    return card


def extended_card_modifier(public: AgentCard) -> CardModifier:
    """a2a-sdk's ``extended_card_modifier``: the extended card for an authenticated
    caller, the public card for anyone else (authentication off)."""

    async def modify(extended: AgentCard, context: ServerCallContext) -> AgentCard:
        return extended if context.user.is_authenticated else public

    return modify

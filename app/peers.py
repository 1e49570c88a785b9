"""``KafkaPeerCaller``: how a hosted agent asks another one, over Kafka."""

from __future__ import annotations

from a2a.client import A2AClientError, Client, ClientCallContext, ClientConfig
from a2a.helpers import get_artifact_text, get_message_text, new_text_message
from a2a.types import Role, SendMessageRequest, TaskState

from app.auth import AUTHORIZATION, forwarded_authorization
from app.kafka_config import KafkaConfig, kafka_config
from app.registry import resolve_card
from app.transport import kafka_client_factory


class KafkaPeerCaller:
    """Calls agents by name through a2a-sdk ``Client``s over :class:`KafkaTransport`.

    Cards are resolved from ``agent.registry`` on first use and the clients are kept
    for the caller's lifetime; :meth:`close` closes them.

    Credentials: a peer call made while handling an authenticated call forwards that
    caller's verified ``authorization`` (:func:`app.auth.forwarded_authorization`), so
    the peer authenticates the same caller and the peer's task has the same owner as
    the task that asked. With authentication off nothing is forwarded.

    Args:
        kafka: Kafka connection settings, or only the bootstrap servers (security
            from the environment, :func:`app.kafka_config.kafka_config`).
        timeout: Deadline of one call, seconds.
    """

    def __init__(self, kafka: KafkaConfig | str, *, timeout: float = 40.0) -> None:
        self._kafka = kafka_config(kafka)
        self._factory = kafka_client_factory(
            ClientConfig(streaming=False), kafka=self._kafka, timeout=timeout
        )
        self._clients: dict[str, Client] = {}

    async def _client(self, agent: str) -> Client:
        client = self._clients.get(agent)
        if client is None:
            card = await resolve_card(self._kafka, agent)
            client = self._clients[agent] = self._factory.create(card)
        return client

    async def __call__(self, agent: str, text: str) -> str:
        """Sends ``text`` to ``agent``; returns its artifacts' text (or its reply message).

        Raises:
            A2AClientError: the agent failed, asked for input, or did not answer in time.
        """
        client = await self._client(agent)
        message = new_text_message(text, role=Role.ROLE_USER)
        authorization = forwarded_authorization()
        context = (
            None
            if authorization is None
            else ClientCallContext(service_parameters={AUTHORIZATION: authorization})
        )
        request = SendMessageRequest(message=message)
        async for event in client.send_message(request, context=context):
            if event.HasField("message"):
                return get_message_text(event.message)
            if event.HasField("task"):
                task = event.task
                if task.status.state != TaskState.TASK_STATE_COMPLETED:
                    state = TaskState.Name(task.status.state)
                    raise A2AClientError(f"agent {agent!r} ended in {state}")
                return "\n".join(get_artifact_text(a) for a in task.artifacts)
        raise A2AClientError(f"agent {agent!r} sent no result")

    async def close(self) -> None:
        """Closes every client (and its Kafka transport)."""
        for client in self._clients.values():
            await client.close()
        self._clients.clear()

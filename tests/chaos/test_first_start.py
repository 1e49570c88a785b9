"""A worker's first start on a fresh broker logs no ERROR (issue 8).

On an empty broker, aiokafka reports topics Faust has just created as "not found in
cluster metadata" and the group coordinator as not available while the broker creates
``__consumer_offsets``, at ERROR, until both settle; ``app.logs`` makes that one
WARNING episode. The module's broker is fresh (``conftest.kafka``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from a2a.client import ClientConfig
from a2a.helpers import get_artifact_text, new_text_message
from a2a.types import Role, SendMessageRequest, TaskState
from support.chaos import EchoWorkers
from support.clients import wait_for_cards

from app.logs import KafkaTroubleFilter
from app.transport import kafka_client_factory


async def test_first_start_on_a_fresh_broker_logs_no_error(
    echo_workers: Callable[..., Awaitable[EchoWorkers]],
) -> None:
    workers = await echo_workers(count=1)
    card = (await wait_for_cards(workers.bootstrap_servers, {workers.agent}))[workers.agent]
    client = kafka_client_factory(ClientConfig(streaming=False)).create(card)
    try:
        request = SendMessageRequest(message=new_text_message("hello", role=Role.ROLE_USER))
        (event,) = [e async for e in client.send_message(request)]
    finally:
        await client.close()
    assert event.task.status.state == TaskState.TASK_STATE_COMPLETED
    assert get_artifact_text(event.task.artifacts[0]) == "hello"
    # Long enough for a start-up episode to close (its last line is logged then).
    await asyncio.sleep(KafkaTroubleFilter().quiet_after + 3)

    log = workers.workers[0].log_path.read_text(errors="replace").splitlines()
    errors = [line for line in log if "] [ERROR] " in line or "] [CRITICAL] " in line]
    assert errors == [], "\n".join(errors[:20])

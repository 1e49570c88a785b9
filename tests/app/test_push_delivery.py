"""One outbox record through ``PushDelivery.deliver`` against a real HTTP server on 127.0.0.1.

The config store is a2a-sdk's in-memory one; dead letters are captured from the
``produce`` seam (the system tests cover the Kafka side).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import pytest
from a2a.server.context import ServerCallContext
from a2a.server.tasks import BasePushNotificationSender
from a2a.server.tasks.inmemory_push_notification_config_store import (
    InMemoryPushNotificationConfigStore,
)
from a2a.types import (
    AuthenticationInfo,
    TaskPushNotificationConfig,
    TaskState,
    TaskStatusUpdateEvent,
)
from aiohttp import web
from faust.types.tuples import Message
from support.processes import free_port

from app import binding
from app.acks import OrderedAcks
from app.push import notification_body
from app.push_delivery import PushDelivery
from app.push_guard import PushUrlGuard, parse_allow_list
from app.settings import Settings

TASK_ID = "0123456789abcdef0123456789abcdef.ctx1"
SETTINGS = Settings(
    push_attempts=3,
    push_backoff_ms=10,
    push_backoff_max_ms=20,
    push_timeout=5,
    push_max_response_bytes=1024,
)


@dataclass
class Server:
    """A webhook server: ``/ok`` 200, ``/missing`` 404, ``/down`` 503, ``/big`` 200 with
    an endless body, ``/to-ok`` 307 → ``/ok``, ``/to-private`` 307 → ``http://10.0.0.1/``."""

    port: int = field(default_factory=free_port)
    hits: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.hits.append((request.path, dict(request.headers), await request.read()))
        if request.path == "/ok":
            return web.Response(text="ok")
        if request.path == "/missing":
            return web.Response(status=404)
        if request.path == "/down":
            return web.Response(status=503)
        if request.path == "/to-ok":
            return web.Response(status=307, headers={"Location": "/ok"})
        if request.path == "/to-private":
            return web.Response(status=307, headers={"Location": "http://10.0.0.1/"})
        response = web.StreamResponse()
        await response.prepare(request)
        with contextlib.suppress(ConnectionError):
            while True:  # an endless body: only a size limit ends the POST before its timeout
                await response.write(b"x" * 65536)
                await asyncio.sleep(0.01)
        return response


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    hook = Server()
    app = web.Application()
    app.router.add_post("/{path:.*}", hook.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", hook.port).start()
    yield hook
    await runner.cleanup()


@dataclass
class Rig:
    """A PushDelivery with a config store and the dead letters it produced."""

    store: InMemoryPushNotificationConfigStore
    delivery: PushDelivery
    produced: list[tuple[str, bytes, bytes, list[tuple[str, bytes]]]]

    async def configure(self, url: str) -> TaskPushNotificationConfig:
        config = TaskPushNotificationConfig(
            id="cfg-1",
            url=url,
            token="secret-token",
            authentication=AuthenticationInfo(scheme="Bearer", credentials="secret-cred"),
        )
        await self.store.set_info(TASK_ID, config, ServerCallContext())
        return config

    def record(self, body: bytes) -> Message:
        headers = [(binding.PUSH_TASK_ID, TASK_ID.encode()), (binding.PUSH_CONFIG_ID, b"cfg-1")]
        return Message("agent.slow.push", 3, 17, time.time(), 0, headers, b"ctx1", body, None)


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    produced: list[tuple[str, bytes, bytes, list[tuple[str, bytes]]]] = []

    async def produce(
        topic: str, key: bytes, value: bytes, headers: list[tuple[str, bytes]]
    ) -> None:
        produced.append((topic, key, value, headers))

    store = InMemoryPushNotificationConfigStore()
    guard = PushUrlGuard(parse_allow_list("127.0.0.1/32,::1/128"))
    delivery = PushDelivery("slow", store, guard, SETTINGS, produce, OrderedAcks())
    yield Rig(store, delivery, produced)
    await delivery.close()


BODY = notification_body(
    TaskStatusUpdateEvent(
        task_id=TASK_ID, context_id="ctx1", status={"state": TaskState.TASK_STATE_WORKING}
    )
)


async def test_delivered_with_token_and_authentication(server: Server, rig: Rig) -> None:
    await rig.configure(server.url("/ok"))
    assert await rig.delivery.deliver(rig.record(BODY)) == "delivered"
    ((path, headers, body),) = server.hits
    assert (path, body) == ("/ok", BODY)
    assert headers["X-A2A-Notification-Token"] == "secret-token"
    assert headers["Authorization"] == "Bearer secret-cred"
    assert headers["Host"] == f"127.0.0.1:{server.port}"
    assert rig.produced == []


async def test_failures_are_retried_then_dead_lettered_without_credentials(
    server: Server, rig: Rig
) -> None:
    await rig.configure(server.url("/down"))
    assert await rig.delivery.deliver(rig.record(BODY)) == "dead_lettered"
    assert [hit[0] for hit in server.hits] == ["/down"] * SETTINGS.push_attempts
    ((topic, key, value, headers),) = rig.produced
    assert (topic, key, value) == ("agent.slow.dlq", b"ctx1", BODY)
    names = dict(headers)
    assert names[binding.DLQ_REASON] == b"http-503"
    assert (names[binding.DLQ_TOPIC], names[binding.DLQ_OFFSET]) == (b"agent.slow.push", b"17")
    flat = b"".join(k.encode() + v for k, v in headers)
    assert b"secret" not in flat and b"/down" not in flat


async def test_a_client_error_is_not_retried(server: Server, rig: Rig) -> None:
    await rig.configure(server.url("/missing"))
    assert await rig.delivery.deliver(rig.record(BODY)) == "dead_lettered"
    assert len(server.hits) == 1
    assert dict(rig.produced[0][3])[binding.DLQ_REASON] == b"http-404"


async def test_unreachable_receiver_is_retried_with_backoff(rig: Rig) -> None:
    await rig.configure(f"http://127.0.0.1:{free_port()}/nobody")
    started = time.monotonic()
    assert await rig.delivery.deliver(rig.record(BODY)) == "dead_lettered"
    assert time.monotonic() - started >= (10 + 20) / 1000
    assert dict(rig.produced[0][3])[binding.DLQ_REASON] == b"connect"


async def test_backoff_doubles_up_to_its_bound() -> None:
    delivery = PushDelivery(
        "a",
        InMemoryPushNotificationConfigStore(),
        PushUrlGuard(),
        Settings(),
        _no_produce,
        OrderedAcks(),
    )
    assert [delivery.backoff(n) for n in range(8)] == [0.5, 1, 2, 4, 8, 16, 30, 30]


async def _no_produce(
    topic: str, key: bytes, value: bytes, headers: list[tuple[str, bytes]]
) -> None:
    raise AssertionError("nothing to produce")


async def test_a_host_name_is_sent_as_host_while_the_checked_address_is_dialled(
    server: Server, rig: Rig
) -> None:
    await rig.configure(f"http://localhost:{server.port}/ok")
    assert await rig.delivery.deliver(rig.record(BODY)) == "delivered"
    ((path, headers, _),) = server.hits
    assert (path, headers["Host"]) == ("/ok", f"localhost:{server.port}")


async def test_a_307_is_followed_when_its_target_is_allowed(server: Server, rig: Rig) -> None:
    await rig.configure(server.url("/to-ok"))
    assert await rig.delivery.deliver(rig.record(BODY)) == "delivered"
    assert [hit[0] for hit in server.hits] == ["/to-ok", "/ok"]
    assert server.hits[1][2] == BODY


async def test_a_redirect_to_a_private_address_is_refused(server: Server, rig: Rig) -> None:
    await rig.configure(server.url("/to-private"))
    assert await rig.delivery.deliver(rig.record(BODY)) == "dead_lettered"
    assert [hit[0] for hit in server.hits] == ["/to-private"]
    assert dict(rig.produced[0][3])[binding.DLQ_REASON] == b"ssrf-redirect"


async def test_a_config_now_refused_is_dead_lettered_at_delivery(rig: Rig) -> None:
    await rig.configure("http://10.0.0.1/hook")  # stored before the guard (or allow-list) changed
    assert await rig.delivery.deliver(rig.record(BODY)) == "dead_lettered"
    assert dict(rig.produced[0][3])[binding.DLQ_REASON] == b"ssrf-refused"


async def test_a_long_response_is_cut_off(server: Server, rig: Rig) -> None:
    await rig.configure(server.url("/big"))
    started = time.monotonic()
    assert await rig.delivery.deliver(rig.record(BODY)) == "delivered"
    assert time.monotonic() - started < SETTINGS.push_timeout


async def test_a_deleted_config_is_skipped(server: Server, rig: Rig) -> None:
    assert await rig.delivery.deliver(rig.record(BODY)) == "skipped"
    assert server.hits == [] and rig.produced == []


async def test_a_record_without_ids_is_dead_lettered(rig: Rig) -> None:
    message = Message("agent.slow.push", 0, 1, time.time(), 0, [], b"k", BODY, None)
    assert await rig.delivery.deliver(message) == "dead_lettered"
    assert dict(rig.produced[0][3])[binding.DLQ_REASON] == b"malformed"


async def test_the_body_is_what_a2a_sdks_own_sender_posts(server: Server) -> None:
    store = InMemoryPushNotificationConfigStore()
    await store.set_info(
        TASK_ID, TaskPushNotificationConfig(id="c", url=server.url("/ok")), ServerCallContext()
    )
    event = TaskStatusUpdateEvent(
        task_id=TASK_ID, context_id="ctx1", status={"state": TaskState.TASK_STATE_COMPLETED}
    )
    async with httpx.AsyncClient() as client:
        await BasePushNotificationSender(client, store).send_notification(TASK_ID, event)
    ((_, _, sdk_body),) = server.hits
    assert json.loads(notification_body(event)) == json.loads(sdk_body)

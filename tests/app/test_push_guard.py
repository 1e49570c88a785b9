"""The SSRF guard: unsafe push URLs are refused by the guard and by a real worker."""

from __future__ import annotations

import ipaddress

import pytest
from a2a.helpers import new_text_message
from a2a.types import (
    ListTaskPushNotificationConfigsRequest,
    Role,
    SendMessageConfiguration,
    SendMessageRequest,
    TaskPushNotificationConfig,
    TaskState,
)
from a2a.utils.errors import InvalidParamsError
from support.clients import Connect

from app.push_guard import PushUrlGuard, UnsafePushUrlError, parse_allow_list

UNSAFE = {
    "http://169.254.169.254/latest/meta-data/": "link-local",
    "http://10.0.0.1/": "private",
    "file:///etc/passwd": "scheme 'file'",
    "http://localhost:8080/hook": "loopback",
    "http://[::1]/hook": "loopback",
    "http://[::ffff:127.0.0.1]/hook": "loopback",
    "http://100.64.0.1/hook": "not global",
    "gopher://example.com/": "scheme 'gopher'",
    "http:///nohost": "no host",
    "http://no-such-host.invalid/": "does not resolve",
}


@pytest.mark.parametrize("url", list(UNSAFE))
async def test_unsafe_urls_are_refused(url: str) -> None:
    with pytest.raises(UnsafePushUrlError, match=UNSAFE[url].replace("'", ".")):
        await PushUrlGuard().resolve(url)
    assert await PushUrlGuard()(url) is False
    with pytest.raises(InvalidParamsError, match="refused"):
        await PushUrlGuard().check(url)


async def test_a_public_address_passes_and_is_pinned() -> None:
    resolved = await PushUrlGuard().resolve("https://93.184.215.14:8443/hook?x=1")
    assert resolved.addresses == (ipaddress.ip_address("93.184.215.14"),)
    assert resolved.pinned_urls == ("https://93.184.215.14:8443/hook?x=1",)
    assert await PushUrlGuard()("http://93.184.215.14/") is True


async def test_the_allow_list_lets_loopback_through_and_pins_it() -> None:
    guard = PushUrlGuard(parse_allow_list("127.0.0.1/32, ::1/128, 10.0.0.0/8"))
    resolved = await guard.resolve("http://localhost:8080/hook")
    assert resolved.host == "localhost"
    assert "http://127.0.0.1:8080/hook" in resolved.pinned_urls
    assert set(resolved.pinned_urls) <= {"http://127.0.0.1:8080/hook", "http://[::1]:8080/hook"}
    assert await guard("http://10.1.2.3/") is True
    with pytest.raises(UnsafePushUrlError, match="link-local"):
        await guard.resolve("http://169.254.169.254/")


def test_a_bad_allow_list_names_the_entry() -> None:
    with pytest.raises(ValueError, match="not-a-cidr"):
        parse_allow_list("127.0.0.1/32,not-a-cidr")
    assert parse_allow_list(" ") == ()


@pytest.mark.kafka
@pytest.mark.parametrize(
    "url",
    ["http://169.254.169.254/", "http://10.0.0.1/", "file:///etc/passwd", "http://localhost/"],
)
async def test_a_worker_refuses_unsafe_push_configs(connect: Connect, url: str) -> None:
    client = connect("data", streaming=False)
    config = TaskPushNotificationConfig(url=url, token="t")
    request = SendMessageRequest(
        message=new_text_message("What is the win rate?", role=Role.ROLE_USER),
        configuration=SendMessageConfiguration(task_push_notification_config=config),
    )
    with pytest.raises(InvalidParamsError, match="Push notification URL refused"):
        [event async for event in client.send_message(request)]

    plain = SendMessageRequest(
        message=new_text_message("What is the win rate?", role=Role.ROLE_USER)
    )
    (event,) = [e async for e in client.send_message(plain)]
    assert event.task.status.state == TaskState.TASK_STATE_INPUT_REQUIRED
    with pytest.raises(InvalidParamsError, match="Push notification URL refused"):
        await client.create_task_push_notification_config(
            TaskPushNotificationConfig(task_id=event.task.id, url=url)
        )
    listed = await client.list_task_push_notification_configs(
        ListTaskPushNotificationConfigsRequest(task_id=event.task.id)
    )
    assert list(listed.configs) == []

"""Push delivery: the Faust agent that POSTs the outbox ``agent.<name>.push`` (see :mod:`app.push`).

Each record is POSTed with ``httpx``: ``X-A2A-Notification-Token`` from the config's
token, ``Authorization: <scheme> <credentials>`` from its ``authentication``, the URL
checked by :class:`app.push_guard.PushUrlGuard` and the connection pinned to the
checked address. Redirects are not followed, except ``307``/``308`` (which keep the
POST) to a URL that passes the guard, at most :data:`MAX_REDIRECTS` times.

Delivery rules:

* **Order per task**: records of one key are delivered one after another; other keys
  run concurrently, so a task whose webhook is down never holds up another task's.
* **At-least-once**: a record's offset is acknowledged only when it was delivered or
  dead-lettered, and acknowledgements are released in offset order per partition from
  where reading resumed (:class:`app.acks.OrderedAcks`, shared with the request
  topics), so Faust commits only a contiguous delivered prefix (never past a record
  still being retried, nor past one Faust dropped after a rebalance, which is read
  again; faust-streaming's own commit can skip an unacked head record, #606). A
  worker killed before the POST leaves the record uncommitted: the next owner of the
  partition delivers it. A receiver may see a notification twice (same body bytes,
  same ``push-task-id``): dedupe on the task id and the event.
* **Retries**: network errors, timeouts, ``408``, ``429`` and ``5xx`` are retried after
  ``push_backoff_ms`` doubled per attempt, capped at ``push_backoff_max_ms``, for
  ``push_attempts`` POSTs in all (defaults: 8 POSTs over at most 61.5 s of waiting).
  Other ``4xx``, refused URLs and too many redirects are not retried.
* **Dead letters**: a record that is not delivered goes to ``agent.<name>.dlq`` with its
  key, value and headers plus ``dlq-reason`` (``http-503``, ``connect``, ``timeout``,
  ``ssrf-refused``, ``ssrf-redirect``, ``http-404`` …) and ``dlq-error``; never the
  token, the credentials or the URL.
* **Rebalance**: deliveries of revoked partitions are cancelled; the new owner
  starts them again from the committed offset.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from typing import Any, cast
from urllib.parse import urljoin

import faust
import httpx
from a2a.server.tasks import PushNotificationConfigStore
from a2a.types import TaskPushNotificationConfig
from faust.types import TP, EventT, StreamT

from app import binding, metrics, tracing
from app.acks import OrderedAcks
from app.push import Produce, producer_of
from app.push_guard import PushUrlGuard, UnsafePushUrlError, parse_allow_list
from app.settings import Settings

logger = logging.getLogger(__name__)

#: Header of the config's token (A2A 1.0 §4.3.3).
TOKEN_HEADER = "X-A2A-Notification-Token"
#: Redirects (307/308 only) followed per POST.
MAX_REDIRECTS = 3


class DeliveryFailure(Exception):
    """One failed POST; ``reason`` is the metric and ``dlq-reason`` label."""

    def __init__(self, reason: str, detail: str, *, retry: bool) -> None:
        super().__init__(detail)
        self.reason = reason
        self.retry = retry


class PushDelivery:
    """Delivers one agent's outbox records; the body of its Faust agent.

    Args:
        agent: The hosted agent.
        configs: The agent's push-config store.
        guard: The SSRF guard applied to every URL and redirect.
        settings: ``push_*`` settings (timeout, response limit, attempts, backoff).
        produce: Sends dead letters.
        acks: Acks the outbox records in offset order (told where each partition
            resumed by ``app.offsets``).
    """

    def __init__(
        self,
        agent: str,
        configs: PushNotificationConfigStore,
        guard: PushUrlGuard,
        settings: Settings,
        produce: Produce,
        acks: OrderedAcks,
    ) -> None:
        self.agent = agent
        self._acks = acks
        self._configs = configs
        self._guard = guard
        self._settings = settings
        self._produce = produce
        self._client: httpx.AsyncClient | None = None
        self._deliveries: dict[TP, set[asyncio.Task[None]]] = {}
        self._tails: dict[tuple[TP, bytes | None], asyncio.Task[None]] = {}

    def backoff(self, attempt: int) -> float:
        """Seconds to wait after failed POST number ``attempt`` (0-based)."""
        delay_ms = min(
            self._settings.push_backoff_ms * (2**attempt), self._settings.push_backoff_max_ms
        )
        return delay_ms / 1000

    @property
    def client(self) -> httpx.AsyncClient:
        """The worker's HTTP client (no proxies from the environment, no redirects)."""
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=float(self._settings.push_timeout),
                follow_redirects=False,
                trust_env=False,
            )
        return self._client

    async def close(self) -> None:
        """Closes the HTTP client."""
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def consume(self, stream: StreamT) -> None:
        """The Faust agent: a bounded task per record, chained per key, ordered acks."""
        slots = asyncio.Semaphore(self._settings.push_max_pending)
        async for event in cast(faust.Stream, stream).noack().events():
            await slots.acquire()
            tp = event.message.tp
            self._acks.taken(event)
            tail_key = (tp, event.message.key)
            previous = self._tails.get(tail_key)
            task = asyncio.create_task(self._run(event, previous))
            self._deliveries.setdefault(tp, set()).add(task)
            self._tails[tail_key] = task
            task.add_done_callback(functools.partial(self._finished, event, tail_key, slots))

    def _finished(
        self,
        event: EventT,
        tail_key: tuple[TP, bytes | None],
        slots: asyncio.Semaphore,
        task: asyncio.Task[None],
    ) -> None:
        slots.release()
        if self._tails.get(tail_key) is task:
            del self._tails[tail_key]
        self._deliveries.get(event.message.tp, set()).discard(task)
        if not task.cancelled():
            self._acks.done(event)

    async def on_partitions_revoked(
        self, sender: Any, /, *args: Any, signal: Any, **kwargs: Any
    ) -> None:
        """Faust's ``on_partitions_revoked`` receiver (``args[0]``: the revoked ``TP`` set):
        cancels their deliveries; the partitions' new owner redelivers them."""
        revoked: set[TP] = args[0] if args else set()
        for tp in revoked:
            for task in self._deliveries.pop(tp, ()):
                task.cancel()

    async def _run(self, event: EventT, previous: asyncio.Task[None] | None) -> None:
        """Delivers after the key's previous record; an unexpected error (the DLQ or the
        config store unreachable) is retried at the longest backoff, never acked."""
        if previous is not None:
            await asyncio.wait([previous])
        message = event.message
        while True:
            try:
                await self.deliver(message)
                return
            except Exception:
                logger.exception(
                    "push delivery of %s[%s]@%s failed; retrying",
                    message.topic,
                    message.partition,
                    message.offset,
                )
                await asyncio.sleep(self._settings.push_backoff_max_ms / 1000)

    async def deliver(self, message: Any) -> str:
        """Delivers one outbox record (a Faust ``Message``); returns the outcome.

        Outcomes: ``delivered``; ``skipped`` (the config no longer exists);
        ``dead_lettered`` (written to the DLQ with its reason).
        """
        headers = list(message.headers or [])
        task_id = binding.header(headers, binding.PUSH_TASK_ID)
        config_id = binding.header(headers, binding.PUSH_CONFIG_ID)
        body = bytes(message.value or b"")
        if not task_id or not config_id:
            return await self._dead_letter(message, "malformed", "no push-task-id/push-config-id")
        with tracing.span(
            f"{self.agent} push",
            {"a2a.agent": self.agent, "a2a.task_id": task_id},
            kind=tracing.SpanKind.CLIENT,
            parent_headers=headers,
        ):
            failure: DeliveryFailure | None = None
            for attempt in range(max(self._settings.push_attempts, 1)):
                config = await self._config(task_id, config_id)
                if config is None:
                    metrics.push_finished(self.agent, "skipped")
                    return "skipped"
                try:
                    await self._post(config, body)
                except DeliveryFailure as exc:
                    failure = exc
                    metrics.push_failed(self.agent, exc.reason)
                    logger.warning(
                        "push for task %s (config %s) failed, attempt %d: %s",
                        task_id,
                        config_id,
                        attempt + 1,
                        exc,
                    )
                    if not exc.retry:
                        break
                    if attempt + 1 < self._settings.push_attempts:
                        await asyncio.sleep(self.backoff(attempt))
                    continue
                age = time.time() - message.timestamp if message.timestamp else None
                metrics.push_finished(self.agent, "delivered", age)
                return "delivered"
            assert failure is not None
            return await self._dead_letter(message, failure.reason, str(failure))

    async def _config(self, task_id: str, config_id: str) -> TaskPushNotificationConfig | None:
        for config in await self._configs.get_info_for_dispatch(task_id):
            if config.id == config_id:
                return config
        return None

    async def _post(self, config: TaskPushNotificationConfig, body: bytes) -> None:
        """POSTs ``body`` to the config's URL; raises :class:`DeliveryFailure`."""
        url = config.url
        for hop in range(MAX_REDIRECTS + 1):
            try:
                target = await self._guard.resolve(url)
            except UnsafePushUrlError as exc:
                reason = "ssrf-refused" if hop == 0 else "ssrf-redirect"
                raise DeliveryFailure(reason, str(exc), retry=False) from None
            port = httpx.URL(url).port
            headers = {
                "Content-Type": "application/json",
                "Host": f"{target.host}:{port}" if port else target.host,
            }
            if config.token:
                headers[TOKEN_HEADER] = config.token
            auth = config.authentication
            if config.HasField("authentication") and auth.scheme and auth.credentials:
                headers["Authorization"] = f"{auth.scheme} {auth.credentials}"
            tracing.inject_http(headers)
            status, location = await self._post_once(target.host, target.pinned_urls, headers, body)
            if 200 <= status < 300:
                return
            if status in (307, 308) and location:
                url = urljoin(url, location)
                continue
            retry = status in (408, 429) or status >= 500
            raise DeliveryFailure(f"http-{status}", f"{target.host}: HTTP {status}", retry=retry)
        raise DeliveryFailure("too-many-redirects", f"more than {MAX_REDIRECTS}", retry=False)

    async def _post_once(
        self, host: str, pinned_urls: tuple[str, ...], headers: dict[str, str], body: bytes
    ) -> tuple[int, str | None]:
        """POSTs to the first address that accepts a connection; (status, Location)."""
        for index, pinned_url in enumerate(pinned_urls):
            try:
                async with self.client.stream(
                    "POST",
                    pinned_url,
                    content=body,
                    headers=headers,
                    extensions={"sni_hostname": host},
                ) as response:
                    await self._drain(response)
                return response.status_code, response.headers.get("location")
            except httpx.ConnectError:
                if index + 1 < len(pinned_urls):
                    continue
                raise DeliveryFailure("connect", f"{host}: ConnectError", retry=True) from None
            except httpx.TimeoutException:
                raise DeliveryFailure("timeout", f"{host}: timed out", retry=True) from None
            except httpx.TransportError as exc:
                detail = f"{host}: {type(exc).__name__}"
                raise DeliveryFailure("connect", detail, retry=True) from None
        raise DeliveryFailure("connect", f"{host}: no address", retry=True)

    async def _drain(self, response: httpx.Response) -> None:
        """Reads at most ``push_max_response_bytes`` of the response, then stops."""
        received = 0
        async for chunk in response.aiter_raw():
            received += len(chunk)
            if received > self._settings.push_max_response_bytes:
                break

    async def _dead_letter(self, message: Any, reason: str, detail: str) -> str:
        headers = [
            *(message.headers or []),
            (binding.DLQ_REASON, reason.encode()),
            (binding.DLQ_ERROR, detail[:4096].encode()),
            (binding.DLQ_TOPIC, str(message.topic).encode()),
            (binding.DLQ_PARTITION, str(message.partition).encode()),
            (binding.DLQ_OFFSET, str(message.offset).encode()),
        ]
        await self._produce(
            binding.dlq_topic(self.agent),
            bytes(message.key or b""),
            bytes(message.value or b""),
            headers,
        )
        metrics.dead_lettered(self.agent, f"push-{reason}")
        metrics.push_finished(self.agent, "dead_lettered")
        return "dead_lettered"


def guard_from(settings: Settings) -> PushUrlGuard:
    """The SSRF guard of ``settings.push_allow`` (``FAUST_A2A_PUSH_ALLOW``).

    Raises:
        ValueError: the allow-list has an entry that is not a CIDR.
    """
    return PushUrlGuard(parse_allow_list(settings.push_allow))


def register_push_delivery(
    app: faust.App,
    agent: str,
    configs: PushNotificationConfigStore,
    settings: Settings,
    acks: OrderedAcks,
    guard: PushUrlGuard | None = None,
) -> PushDelivery:
    """Adds the outbox topic ``agent.<name>.push`` and its delivering Faust agent to ``app``.

    The topic has ``settings.partitions`` partitions, like the request topic and the
    changelogs, so Faust's assignor gives partition *p* of the outbox to the worker
    that owns partition *p* of the push-configs table. Its records are acked through
    ``acks``, the worker's :class:`app.acks.OrderedAcks`.

    Returns:
        The :class:`PushDelivery` (its HTTP client is closed when the app stops).
    """
    delivery = PushDelivery(
        agent, configs, guard or guard_from(settings), settings, producer_of(app), acks
    )
    topic = app.topic(
        binding.push_topic(agent),
        key_serializer="raw",
        value_serializer="raw",
        partitions=settings.partitions,
        internal=True,
    )
    app.agent(topic, name=f"a2a.{agent}.push")(delivery.consume)
    app.on_partitions_revoked.connect(delivery.on_partitions_revoked)

    async def close_client(sender: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
        await delivery.close()

    app.on_before_shutdown.connect(close_client)
    return delivery

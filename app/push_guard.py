"""SSRF guard for push-notification URLs: where a worker may POST on a caller's behalf.

A push config names a URL the worker will POST to later, from inside the deployment's
network; without a guard any caller could make workers reach cloud metadata
(``169.254.169.254``), loopback services or private hosts (A2A 1.0 §13.2: agents
SHOULD validate webhook URLs to prevent SSRF). The rule, applied when a config is
stored (:class:`GuardedPushConfigStore`) and again at every delivery and redirect
(:mod:`app.push`):

* only ``http`` and ``https`` URLs with a host;
* every address the host resolves to must be public: not loopback, private,
  link-local (which holds the metadata address), shared (RFC 6598), multicast,
  reserved or unspecified; an IPv4-mapped IPv6 address is judged as its IPv4;
* unless the address is inside a CIDR of the allow-list (``FAUST_A2A_PUSH_ALLOW``).

At delivery the POST goes to the address that was checked (the URL's host is sent as
``Host`` and TLS server name), so a name that resolves differently a moment later
(DNS rebinding) cannot slip through.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from a2a.server.context import ServerCallContext
from a2a.server.tasks import PushNotificationConfigStore
from a2a.types import TaskPushNotificationConfig
from a2a.utils.errors import InvalidParamsError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class UnsafePushUrlError(ValueError):
    """A push URL the guard refuses; the message says why (never the URL's credentials)."""


@dataclass(frozen=True)
class ResolvedPushUrl:
    """A push URL that passed the guard.

    Attributes:
        url: The URL as configured.
        host: Its host name (for ``Host`` and the TLS server name).
        addresses: The checked addresses, in the resolver's order of preference.
        pinned_urls: ``url`` with its host replaced by each of ``addresses``: what to
            connect to, in turn until one accepts the connection.
    """

    url: str
    host: str
    addresses: tuple[IPAddress, ...]
    pinned_urls: tuple[str, ...]


def parse_allow_list(text: str) -> tuple[IPNetwork, ...]:
    """Parses ``FAUST_A2A_PUSH_ALLOW``: comma-separated CIDRs (``127.0.0.1/32,10.0.0.0/8``).

    Raises:
        ValueError: an entry is not a CIDR (the message names it).
    """
    networks = []
    for entry in (part.strip() for part in text.split(",")):
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ValueError(f"FAUST_A2A_PUSH_ALLOW: not a CIDR: {entry!r}") from None
    return tuple(networks)


def _non_public_reason(address: IPAddress) -> str | None:
    mapped = getattr(address, "ipv4_mapped", None)
    if mapped is not None:
        address = mapped
    checks = (
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("unspecified", address.is_unspecified),
        ("multicast", address.is_multicast),
        ("reserved", address.is_reserved),
        ("private", address.is_private),
        ("not global", not address.is_global),
    )
    return next((reason for reason, hit in checks if hit), None)


class PushUrlGuard:
    """Checks push-notification URLs against the SSRF rule of this module.

    Args:
        allow: Networks allowed although non-public (from :func:`parse_allow_list`).
    """

    def __init__(self, allow: Iterable[IPNetwork] = ()) -> None:
        self._allow = tuple(allow)

    def _allowed(self, address: IPAddress) -> bool:
        return any(address.version == net.version and address in net for net in self._allow)

    async def resolve(self, url: str) -> ResolvedPushUrl:
        """Checks ``url`` and returns the address to POST to.

        Raises:
            UnsafePushUrlError: not http(s), no host, the host does not resolve, or
                one of its addresses is non-public and outside the allow-list.
        """
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            raise UnsafePushUrlError("push URL is not a valid URL") from None
        if parts.scheme not in ("http", "https"):
            raise UnsafePushUrlError(f"push URL scheme {parts.scheme!r} is not http or https")
        host = parts.hostname
        if not host:
            raise UnsafePushUrlError("push URL has no host")
        port = port or (443 if parts.scheme == "https" else 80)
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, port, type=socket.SOCK_STREAM
            )
        except OSError:
            raise UnsafePushUrlError(f"push URL host {host!r} does not resolve") from None
        addresses = [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]
        if not addresses:
            raise UnsafePushUrlError(f"push URL host {host!r} does not resolve")
        for address in addresses:
            reason = _non_public_reason(address)
            if reason is not None and not self._allowed(address):
                raise UnsafePushUrlError(
                    f"push URL host {host!r} resolves to {address} ({reason}); "
                    "allow it with FAUST_A2A_PUSH_ALLOW"
                )
        unique = tuple(dict.fromkeys(addresses))
        pinned = []
        for address in unique:
            literal = f"[{address}]" if address.version == 6 else str(address)
            netloc = f"{literal}:{parts.port}" if parts.port else literal
            pinned.append(parts._replace(netloc=netloc).geturl())
        return ResolvedPushUrl(url=url, host=host, addresses=unique, pinned_urls=tuple(pinned))

    async def check(self, url: str) -> None:
        """Raises a2a-sdk's ``InvalidParamsError`` (JSON-RPC -32602) when ``url`` is refused."""
        try:
            await self.resolve(url)
        except UnsafePushUrlError as exc:
            raise InvalidParamsError(message=f"Push notification URL refused: {exc}") from None

    async def __call__(self, url: str) -> bool:
        """a2a-sdk's ``push_url_validator`` shape: ``True`` when ``url`` is allowed."""
        try:
            await self.resolve(url)
        except UnsafePushUrlError:
            return False
        return True


class GuardedPushConfigStore(PushNotificationConfigStore):
    """A ``PushNotificationConfigStore`` that refuses unsafe URLs before storing.

    Wraps any store; ``set_info`` raises ``InvalidParamsError`` for a URL
    :class:`PushUrlGuard` refuses, so both a2a-sdk's ``DefaultRequestHandler``
    (``CreateTaskPushNotificationConfig`` and a ``SendMessage`` carrying a config) and
    any other handler answer with an A2A error and store nothing.

    Args:
        inner: The store that keeps the configs.
        guard: The URL check.
    """

    def __init__(self, inner: PushNotificationConfigStore, guard: PushUrlGuard) -> None:
        self.inner = inner
        self._guard = guard

    async def set_info(
        self,
        task_id: str,
        notification_config: TaskPushNotificationConfig,
        context: ServerCallContext,
    ) -> TaskPushNotificationConfig | None:
        """Stores the config once its URL passes the guard.

        Raises:
            InvalidParamsError: the URL is refused (the message says why).
        """
        await self._guard.check(notification_config.url)
        return await self.inner.set_info(task_id, notification_config, context)

    async def get_info(
        self, task_id: str, context: ServerCallContext
    ) -> list[TaskPushNotificationConfig]:
        """The caller's configs of the task."""
        return await self.inner.get_info(task_id, context)

    async def get_info_for_dispatch(self, task_id: str) -> list[TaskPushNotificationConfig]:
        """Every config of the task, for delivery."""
        return await self.inner.get_info_for_dispatch(task_id)

    async def delete_info(
        self, task_id: str, context: ServerCallContext, config_id: str | None = None
    ) -> None:
        """Deletes one config or all configs of the task."""
        await self.inner.delete_info(task_id, context, config_id)

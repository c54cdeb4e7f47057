"""SSRF guard: which receiver URLs and resolved addresses the plugin may connect to.

A URL is checked when it is subscribed (literal addresses and names resolved then) and again
before every attempt, after DNS: the deliverer connects to the very address it checked, so a
name that later resolves to 127.0.0.1 (DNS rebinding) is refused rather than followed.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from myspinbot_webhooks.config import IpNetwork, WebhookSettings

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[list[IpAddress]]]


class UnsafeUrl(ValueError):
    """A receiver URL or address the plugin refuses to reach; the message says why and what to set."""


@dataclass(frozen=True)
class Target:
    """Where one attempt connects: the checked address, and the name for Host and TLS."""

    url: SplitResult
    host: str
    port: int
    address: IpAddress


def is_restricted(address: IpAddress) -> bool:
    """Loopback, private, link-local, multicast, reserved and unspecified addresses are not public."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return not address.is_global or address.is_multicast


def address_allowed(address: IpAddress, allowed: Sequence[IpNetwork]) -> bool:
    """A public address, or a restricted one that MYSPINBOT_WEBHOOK_ALLOW_PRIVATE names."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if not is_restricted(address):
        return True
    return any(address.version == network.version and address in network for network in allowed)


def parse_receiver_url(url: str, settings: WebhookSettings) -> SplitResult:
    """The URL split, or UnsafeUrl for a scheme, credentials or form we do not send to."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("https", "http"):
        raise UnsafeUrl("the URL must start with https://")
    if parts.scheme == "http" and not settings.allow_http:
        raise UnsafeUrl("only https:// receivers are allowed (set MYSPINBOT_WEBHOOK_ALLOW_HTTP=true to allow http://)")
    if not parts.hostname:
        raise UnsafeUrl("the URL has no host")
    if parts.username or parts.password:
        raise UnsafeUrl("the URL must not carry credentials; use the signing secret to authenticate deliveries")
    try:
        parts.port  # noqa: B018 - a bad port raises ValueError here
    except ValueError:
        raise UnsafeUrl("the URL's port is not a number between 0 and 65535") from None
    return parts


def loggable(url: str) -> str:
    """The URL as logs show it: scheme, host and port only (paths and queries often hold receiver secrets)."""
    parts = urlsplit(url)
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ""
    tail = "/…" if parts.path not in ("", "/") or parts.query else "/"
    return f"{parts.scheme}://{parts.hostname or '?'}{port}{tail}"


def default_port(parts: SplitResult) -> int:
    """The URL's port, or the scheme's default."""
    return parts.port or (443 if parts.scheme == "https" else 80)


def literal_address(host: str) -> IpAddress | None:
    """The host as an address when it is one (`127.0.0.1`, `::1`), else None."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


async def system_resolve(host: str, port: int) -> list[IpAddress]:
    """Every address the system resolver gives for host (off the event loop, in its executor)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [ipaddress.ip_address(info[4][0]) for info in infos]


def check_addresses(host: str, addresses: Sequence[IpAddress], settings: WebhookSettings) -> IpAddress:
    """The first address, if every address of host is allowed; UnsafeUrl naming the refused one if not.

    All must pass: a name answering with one public and one private address could be steered
    to the private one by the next lookup.
    """
    if not addresses:
        raise UnsafeUrl(f"{host} does not resolve to any address")
    for address in addresses:
        if not address_allowed(address, settings.allow_private):
            where = str(address) if literal_address(host) == address else f"{host} resolves to {address}"
            raise UnsafeUrl(
                f"{where}, a loopback, private or link-local address, is not allowed; "
                "name it in MYSPINBOT_WEBHOOK_ALLOW_PRIVATE to allow it"
            )
    return addresses[0]


async def resolve_target(url: str, settings: WebhookSettings, resolve: Resolver = system_resolve) -> Target:
    """Parse, resolve and check a receiver URL; the Target to connect to, or UnsafeUrl."""
    parts = parse_receiver_url(url, settings)
    host = parts.hostname or ""
    port = default_port(parts)
    literal = literal_address(host)
    if literal is not None:
        addresses = [literal]
    else:
        try:
            async with asyncio.timeout(settings.timeout_seconds):
                addresses = await resolve(host, port)
        except OSError as error:
            raise UnsafeUrl(f"{host} does not resolve: {error}") from None
        except TimeoutError:
            raise UnsafeUrl(f"{host} did not resolve within {settings.timeout_seconds:g} s") from None
    return Target(url=parts, host=host, port=port, address=check_addresses(host, addresses, settings))

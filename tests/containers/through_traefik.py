"""Reaching the stack the way a user does: by host name, over HTTPS, on Traefik's published port.

The host names (api.<domain>, ui.<domain>) resolve to 127.0.0.1 inside the test process only,
as the `/etc/hosts` line of docs/deployment.md would do machine-wide; every other name resolves
as usual. Traefik serves its default self-signed certificate, so TLS is not verified (`curl -k`).
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from myspinbot.cli.procs import wait_until
from myspinbot_client import AsyncMySpinBotClient, MySpinBotClient
from tests.containers.stack import API_TOKEN, DOMAIN, ComposeStack

API_HOST = f"api.{DOMAIN}"
UI_HOST = f"ui.{DOMAIN}"


@contextmanager
def names_on_loopback(suffix: str = f".{DOMAIN}") -> Iterator[None]:
    """Resolve host names ending in `suffix` to 127.0.0.1 in this process while the block runs."""
    original = socket.getaddrinfo

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else host
        if isinstance(name, str) and name.endswith(suffix):
            return original("127.0.0.1", *args, **kwargs)
        return original(host, *args, **kwargs)

    socket.getaddrinfo = getaddrinfo
    try:
        yield
    finally:
        socket.getaddrinfo = original


def api_url(stack: ComposeStack) -> str:
    """The API's public base URL (through Traefik)."""
    return f"https://{API_HOST}:{stack.https_port}"


def ui_url(stack: ComposeStack) -> str:
    """The dashboard's public URL (through Traefik)."""
    return f"https://{UI_HOST}:{stack.https_port}"


def api_client(stack: ComposeStack, timeout: float = 30.0) -> MySpinBotClient:
    """The typed client, authenticated with the stack's token, through Traefik."""
    return MySpinBotClient(api_url(stack), API_TOKEN, timeout=timeout, verify=False)


def async_api_client(stack: ComposeStack, timeout: float = 30.0) -> AsyncMySpinBotClient:
    """The asyncio typed client, through Traefik."""
    return AsyncMySpinBotClient(api_url(stack), API_TOKEN, timeout=timeout, verify=False)


def raw_get(url: str, *, token: bool = True) -> httpx.Response:
    """A plain GET through Traefik (for what the typed client does not model: status codes, pages)."""
    headers = {"Authorization": f"Bearer {API_TOKEN}"} if token else {}
    return httpx.get(url, headers=headers, verify=False, timeout=30, follow_redirects=False)


def wait_routed(stack: ComposeStack, timeout: float = 180) -> None:
    """Wait until Traefik routes to the API (every replica healthy) and to the dashboard."""
    replicas = range(1, stack.api_replicas + 1)
    wait_until(lambda: all(stack.health("api", n) == "healthy" for n in replicas), timeout, "every API replica healthy")
    wait_until(lambda: stack.health("ui") == "healthy", timeout, "the dashboard container healthy")
    with api_client(stack, timeout=5) as api:
        wait_until(lambda: api.health().ok, timeout, "/health through Traefik")
    wait_until(
        lambda: raw_get(ui_url(stack) + "/login", token=False).status_code == 200, timeout, "the dashboard's login page"
    )

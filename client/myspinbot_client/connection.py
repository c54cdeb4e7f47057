"""Where the API is and how to authenticate: base URL and token from arguments or the environment."""

from __future__ import annotations

import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit, urlunsplit

DEFAULT_API_URL = "http://127.0.0.1:3000"
API_URL_ENV = "MYSPINBOT_API_URL"
API_TOKEN_ENV = "MYSPINBOT_API_TOKEN"
# How a client checks the API's TLS certificate: True (the system's CAs), False (not at all, as
# `curl -k` does: for a self-signed certificate such as Traefik's default one), or a context.
TlsVerify = bool | ssl.SSLContext


@dataclass(frozen=True)
class Connection:
    """The API's base URL and the bearer token sent with every request (None: no auth header)."""

    base_url: str
    token: str | None = None

    @classmethod
    def resolve(
        cls, base_url: str | None = None, token: str | None = None, env: Mapping[str, str] | None = None
    ) -> Connection:
        """Arguments win over `MYSPINBOT_API_URL` / `MYSPINBOT_API_TOKEN`, which win over the default URL."""
        env = os.environ if env is None else env
        url = base_url or env.get(API_URL_ENV) or DEFAULT_API_URL
        if "://" not in url:
            url = f"http://{url}"
        return cls(base_url=url.rstrip("/"), token=token or env.get(API_TOKEN_ENV) or None)

    @property
    def headers(self) -> dict[str, str]:
        """The authorization header, when there is a token."""
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def url(self, path: str) -> str:
        """An absolute URL for an API path, or `path` itself when it already is one."""
        if "://" in path:
            return path
        return f"{self.base_url}/{path.lstrip('/')}"

    def ws_url(self, path: str = "/ws", query: Mapping[str, str] | None = None) -> str:
        """The WebSocket URL of a path under the base URL (http → ws, https → wss)."""
        parts = urlsplit(self.url(path))
        scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
        return urlunsplit((scheme, parts.netloc, parts.path, urlencode(dict(query or {}), safe=",*"), ""))


def ws_ssl(url: str, verify: TlsVerify) -> ssl.SSLContext | None:
    """The TLS context for a WebSocket URL under `verify` (None: plain ws://, or the default check)."""
    if not url.startswith("wss://") or verify is True:
        return None
    if isinstance(verify, ssl.SSLContext):
        return verify
    unchecked = ssl.create_default_context()
    unchecked.check_hostname = False
    unchecked.verify_mode = ssl.CERT_NONE
    return unchecked

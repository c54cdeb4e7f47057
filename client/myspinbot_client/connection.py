"""Where the API is and how to authenticate: base URL and API key from arguments, the environment or a config file.

The key is looked up in this order: the `token` argument, `MYSPINBOT_API_KEY`,
`MYSPINBOT_API_TOKEN` (the bootstrap admin key), then `api_key` in the config file
(`MYSPINBOT_CONFIG`, default `~/.config/myspinbot/config.toml`), which must not be readable by
anyone but its owner (chmod 600): a key in a group- or world-readable file is refused.
"""

from __future__ import annotations

import os
import ssl
import stat
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from myspinbot_client.serialized_tls import serialized

DEFAULT_API_URL = "http://127.0.0.1:3000"
API_URL_ENV = "MYSPINBOT_API_URL"
API_KEY_ENV = "MYSPINBOT_API_KEY"
API_TOKEN_ENV = "MYSPINBOT_API_TOKEN"
# How a client checks the API's TLS certificate: True (the system's CAs), False (not at all, as
# `curl -k` does: for a self-signed certificate such as Traefik's default one), or a context.
TlsVerify = bool | ssl.SSLContext

CONFIG_ENV = "MYSPINBOT_CONFIG"
DEFAULT_CONFIG = Path("~/.config/myspinbot/config.toml")


class ConfigFileError(ValueError):
    """The client's config file cannot be used (unreadable, malformed, or too open for a key)."""


def config_path(env: Mapping[str, str]) -> Path:
    """The config file's path: `MYSPINBOT_CONFIG`, else ~/.config/myspinbot/config.toml."""
    return Path(env.get(CONFIG_ENV) or DEFAULT_CONFIG).expanduser()


def read_config(path: Path) -> dict[str, Any]:
    """The config file's settings (`api_url`, `api_key`); {} when there is no file."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return {}
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ConfigFileError(f"{path}: {error}") from None
    if "api_key" in data and mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigFileError(f"{path} holds an API key but others may read it: run chmod 600 {path}")
    return data


@dataclass(frozen=True)
class Connection:
    """The API's base URL and the bearer key sent with every request (None: no auth header)."""

    base_url: str
    token: str | None = field(default=None, repr=False)

    @classmethod
    def resolve(
        cls, base_url: str | None = None, token: str | None = None, env: Mapping[str, str] | None = None
    ) -> Connection:
        """Arguments win over the environment, which wins over the config file, then the default URL."""
        env = os.environ if env is None else env
        key = token or env.get(API_KEY_ENV) or env.get(API_TOKEN_ENV) or None
        url = base_url or env.get(API_URL_ENV)
        if key is None or url is None:
            config = read_config(config_path(env))
            key = key or str(config.get("api_key") or "") or None
            url = url or str(config.get("api_url") or "") or None
        url = url or DEFAULT_API_URL
        if "://" not in url:
            url = f"http://{url}"
        return cls(base_url=url.rstrip("/"), token=key)

    @property
    def headers(self) -> dict[str, str]:
        """The authorization header, when there is a key."""
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def url(self, path: str) -> str:
        """An absolute URL for an API path, or `path` itself when it already is one."""
        if "://" in path:
            return path
        return f"{self.base_url}/{path.lstrip('/')}"

    def ws_url(self, path: str = "/ws", query: Mapping[str, str] | None = None) -> str:
        """The WebSocket URL of a path under the base URL (http → ws, https → wss); the key goes in a header."""
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


def threaded_ws_ssl(url: str, verify: TlsVerify) -> ssl.SSLContext | None:
    """The TLS context for the threaded WebSocket client (`websockets.sync`): as `ws_ssl`, but it
    always wraps sockets as `SerializedSSLSocket` (a reader thread and a writer thread must not
    meet inside OpenSSL; see myspinbot_client.serialized_tls). A context passed as `verify` is
    changed in place to do so."""
    if not url.startswith("wss://"):
        return None
    if isinstance(verify, ssl.SSLContext):
        return serialized(verify)
    context = ws_ssl(url, verify) or ssl.create_default_context()
    return serialized(context)

"""The dashboard's settings: where the API is, where to listen, where uploads wait, from the environment."""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from myspinbot_client.connection import Connection

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 3001
UPLOAD_DIR_ENV = "MYSPINBOT_UI_UPLOAD_DIR"
MAX_UPLOAD_ENV = "MYSPINBOT_UI_MAX_UPLOAD_BYTES"
PAGE_SIZE_ENV = "MYSPINBOT_UI_PAGE_SIZE"
SESSION_SECRET_ENV = "MYSPINBOT_UI_SESSION_SECRET"
MIN_SECRET_LENGTH = 32
DEFAULT_MAX_UPLOAD_BYTES = 512 * 1024 * 1024


class ConfigError(ValueError):
    """A setting of the dashboard that cannot be used, with the variable that holds it."""


@dataclass(frozen=True)
class UiConfig:
    """Everything the dashboard process needs; the API token never leaves this process."""

    api_url: str
    api_token: str | None = field(default=None, repr=False)
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    upload_dir: Path = field(default_factory=lambda: Path(tempfile.gettempdir()) / "myspinbot-ui-uploads")
    remove_upload_dir: bool = False  # a temporary folder of our own, removed at shutdown
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES
    page_size: int = 20
    health_interval: float = 2.0
    # Signs the browser's upload URLs; a fresh one per process unless FLET_SECRET_KEY is set.
    upload_secret: str = field(default_factory=lambda: secrets.token_urlsafe(32), repr=False)
    # Signs the login cookie; a fresh one per process unless MYSPINBOT_UI_SESSION_SECRET is set
    # (logins live in the process's memory anyway, so a restart ends them either way).
    session_secret: str = field(default_factory=lambda: secrets.token_urlsafe(32), repr=False)

    @classmethod
    def from_env(
        cls, env: Mapping[str, str] | None = None, *, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT
    ) -> UiConfig:
        """Read `MYSPINBOT_API_URL`, `MYSPINBOT_API_TOKEN` (used only while the API has auth off) and
        the `MYSPINBOT_UI_*` variables."""
        env = os.environ if env is None else env
        connection = Connection.resolve(env=env)
        upload_dir = env.get(UPLOAD_DIR_ENV)
        return cls(
            api_url=connection.base_url,
            api_token=connection.token,
            host=host,
            port=port,
            upload_dir=Path(upload_dir) if upload_dir else Path(tempfile.mkdtemp(prefix="myspinbot-ui-uploads-")),
            remove_upload_dir=not upload_dir,
            max_upload_bytes=_positive_int(env, MAX_UPLOAD_ENV, DEFAULT_MAX_UPLOAD_BYTES),
            page_size=_positive_int(env, PAGE_SIZE_ENV, 20),
            upload_secret=env.get("FLET_SECRET_KEY") or secrets.token_urlsafe(32),
            session_secret=_secret(env, SESSION_SECRET_ENV),
        )


def _secret(env: Mapping[str, str], name: str) -> str:
    text = env.get(name)
    if not text:
        return secrets.token_urlsafe(32)
    if len(text) < MIN_SECRET_LENGTH:
        raise ConfigError(f"{name} must be at least {MIN_SECRET_LENGTH} characters (e.g. `openssl rand -hex 32`)")
    return text


def _positive_int(env: Mapping[str, str], name: str, default: int) -> int:
    text = env.get(name)
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {text!r}") from None
    if value <= 0:
        raise ConfigError(f"{name} must be positive, got {value}")
    return value

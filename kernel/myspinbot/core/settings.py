"""One settings class, read from the environment (prefix MYSPINBOT_) and passed to factories."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PLACEHOLDER_TOKEN = "change-me"


class SettingsError(RuntimeError):
    """Settings that cannot work; the message names each variable to fix."""


def _split_names(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class Settings(BaseSettings):
    """Every knob of MySpinBot; each field is the variable MYSPINBOT_<FIELD NAME>."""

    model_config = SettingsConfigDict(env_prefix="MYSPINBOT_", extra="ignore", frozen=True)

    redis_url: str = Field(
        "redis://127.0.0.1:6379/0",
        description="Redis for the job store, events and the Celery broker",
    )
    data_dir: Path = Field(
        Path("./var/data"),
        description="Uploads and artifacts live here, one folder per job",
    )
    api_token: str | None = Field(
        None, description="The bootstrap admin key: a bearer token that acts as the user 'admin'"
    )
    auth: Literal["auto", "on", "off"] = Field(
        "auto",
        description="Whether /api/* and /ws need a key: 'auto' is on when an API token is set or the API "
        "listens beyond loopback",
    )
    secret_key: str | None = Field(
        None,
        description="Keys the stored hashes of API keys; the same on every API replica (changing it revokes all keys)",
    )
    max_active_jobs_per_user: int = Field(0, ge=0, description="Most queued+running jobs one user may have (0: no cap)")
    auth_max_failures: int = Field(
        10, ge=1, description="Wrong passwords or keys for one user or address before it gets 429"
    )
    auth_slow_after: int = Field(3, ge=0, description="Failures after which each further attempt is answered slower")
    auth_failure_window_seconds: int = Field(
        300, ge=1, description="How long failed attempts are counted for one user or address"
    )
    session_hours: float = Field(12.0, gt=0, le=24 * 30, description="Lifetime of a dashboard login's session key")
    api_url: str = Field(
        "http://127.0.0.1:3000",
        description="Where the dashboard and the CLI reach the API",
    )
    mock_step_seconds: float = Field(0.5, ge=0, le=3600, description="Duration of one step of a mock job")
    disable_plugins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated entry-point names of plugins not to load",
    )
    extra_plugins: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Comma-separated modules to load as plugins without packaging them"
    )
    max_upload_bytes: int = Field(50 * 1024 * 1024, gt=0, description="Largest single uploaded file")
    max_request_bytes: int = Field(200 * 1024 * 1024, gt=0, description="Largest request body (uploads included)")
    max_files: int = Field(200, gt=0, description="Most files in one request")
    job_ttl_seconds: int = Field(
        7 * 24 * 3600,
        gt=0,
        description="How long finished jobs and their files are kept",
    )
    events_max_len: int = Field(10_000, ge=100, description="Approximate length the event stream is trimmed to")
    max_batch_jobs: int = Field(100, ge=1, le=10_000, description="Most jobs one batch or sweep may make")
    idempotency_seconds: int = Field(24 * 3600, gt=0, description="How long an Idempotency-Key is remembered")
    visibility_timeout_seconds: int = Field(
        12 * 3600,
        gt=0,
        description="A job unacknowledged this long is redelivered; keep above the longest job",
    )
    max_attempts: int = Field(3, ge=1, description="Deliveries of a job before a lost worker makes it fail")
    worker_heartbeat_seconds: float = Field(
        5.0, gt=0, description="How often each worker writes its heartbeat; silent for 3 intervals = lost"
    )
    maintenance_seconds: float = Field(
        10.0, gt=0, description="How often the API re-queues jobs of lost workers and removes expired files"
    )
    store_retry_seconds: float = Field(
        60.0, ge=0, description="How long a worker keeps retrying the store (Redis restarting) before giving up"
    )
    ws_outbox_size: int = Field(
        1000,
        ge=10,
        description="Frames queued for one WebSocket client before it is dropped",
    )
    ws_ping_seconds: float = Field(20.0, gt=0, description="Keep-alive ping interval on /ws")
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list, description="Origins allowed by CORS")

    @field_validator("disable_plugins", "extra_plugins", "cors_origins", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        return _split_names(value)

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str) -> str:
        if not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return value

    @field_validator("api_token")
    @classmethod
    def _real_token(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if value == PLACEHOLDER_TOKEN:
            raise ValueError(f"is still the placeholder {PLACEHOLDER_TOKEN!r}; set a real secret")
        if len(value) < 16:
            raise ValueError("must be at least 16 characters")
        return value

    @field_validator("secret_key")
    @classmethod
    def _real_secret(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if value == PLACEHOLDER_TOKEN or len(value) < 16:
            raise ValueError("must be a real secret of at least 16 characters")
        return value

    @property
    def auth_required(self) -> bool:
        """Whether every /api/* call and /ws connection must authenticate.

        'auto' turns it on when a bootstrap token is set; `myspinbot api` also turns it on when
        it listens beyond loopback (it knows the address, the settings do not).
        """
        return self.auth == "on" or (self.auth == "auto" and self.api_token is not None)

    @property
    def jobs_dir(self) -> Path:
        """The folder holding one sub-folder per job."""
        return self.data_dir / "jobs"


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment; raise SettingsError naming each bad variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        problems = []
        for item in error.errors():
            name = str(item["loc"][0]) if item["loc"] else "?"
            problems.append(f"MYSPINBOT_{name.upper()}: {item['msg']}")
        raise SettingsError("invalid settings:\n  " + "\n  ".join(problems)) from None

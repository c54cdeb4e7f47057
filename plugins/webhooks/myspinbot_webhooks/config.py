"""The plugin's own settings, read from the environment (MYSPINBOT_WEBHOOK_*, MYSPINBOT_PUBLIC_URL)."""

from __future__ import annotations

import ipaddress
from typing import Annotated

from pydantic import AliasChoices, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

# The events a subscription may ask for are defined with the wire models; `ping` is what POST .../test sends.
from myspinbot_client.webhooks import JOB_EVENTS, PING_EVENT, SUBSCRIBABLE_EVENTS

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

__all__ = ["JOB_EVENTS", "PING_EVENT", "SUBSCRIBABLE_EVENTS", "WebhookSettings", "load_webhook_settings"]


class WebhookSettingsError(RuntimeError):
    """A webhook setting that cannot work; the message names the variable."""


class WebhookSettings(BaseSettings):
    """Knobs of the webhooks plugin; each field is MYSPINBOT_WEBHOOK_<FIELD NAME>."""

    model_config = SettingsConfigDict(env_prefix="MYSPINBOT_WEBHOOK_", extra="ignore", frozen=True)

    allow_private: Annotated[list[IpNetwork], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated addresses or CIDR ranges (loopback, private, link-local) receivers may use",
    )
    allow_http: bool = Field(False, description="Allow plain http:// receiver URLs (https only otherwise)")
    public_url: str = Field(
        "",
        validation_alias=AliasChoices("MYSPINBOT_PUBLIC_URL", "MYSPINBOT_WEBHOOK_PUBLIC_URL"),
        description="The API's address as receivers reach it, for absolute artifact URLs (default: MYSPINBOT_API_URL)",
    )
    timeout_seconds: float = Field(10.0, gt=0, le=120, description="Time limit of one attempt, response included")
    retry_base_seconds: float = Field(5.0, gt=0, description="Wait before the first retry; doubles on each retry")
    retry_max_seconds: float = Field(600.0, gt=0, description="Longest wait between two attempts")
    retry_window_seconds: float = Field(
        24 * 3600.0, gt=0, description="A delivery still failing this long after its event is marked failed"
    )
    max_in_flight_per_receiver: int = Field(4, ge=1, le=100, description="Concurrent attempts to one subscription")
    max_in_flight: int = Field(64, ge=1, le=1000, description="Concurrent attempts of one API process")
    max_response_bytes: int = Field(64 * 1024, ge=0, description="Most bytes of a receiver's response read")
    poll_seconds: float = Field(0.2, gt=0, le=10, description="How often the deliverer looks for due deliveries")
    keep_deliveries: int = Field(50, ge=1, le=1000, description="Recent deliveries kept per subscription")
    subscriptions_cache_seconds: float = Field(
        5.0,
        ge=0,
        le=3600,
        description=(
            "Longest a process reuses its read of the subscriptions; changes reach it at once (0: read on every event)"
        ),
    )

    @field_validator("allow_private", mode="before")
    @classmethod
    def _networks(cls, value: object) -> object:
        if isinstance(value, str):
            return [ipaddress.ip_network(part.strip(), strict=False) for part in value.split(",") if part.strip()]
        return value

    @field_validator("public_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @property
    def lease_seconds(self) -> float:
        """How long a claimed delivery is hidden from other deliverers: past any attempt's end."""
        return self.timeout_seconds * 2 + 5


def load_webhook_settings() -> WebhookSettings:
    """Read the plugin's settings; raise WebhookSettingsError naming each bad variable."""
    try:
        return WebhookSettings()
    except (ValidationError, ValueError) as error:
        raise WebhookSettingsError(f"invalid MYSPINBOT_WEBHOOK_* settings: {error}") from None

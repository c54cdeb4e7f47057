"""Webhooks on the wire: subscriptions, deliveries and their attempts, and the calls that reach them.

The webhooks plugin answers with these models and the client reads them (see models.py for why
once). The routes come from that plugin: an API without it answers 404 to each of these calls.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from urllib.parse import quote

from pydantic import Field, field_validator

from myspinbot_client.calls import Call
from myspinbot_client.models import Timestamp, WireModel

JOB_EVENTS = ("job.started", "job.succeeded", "job.failed", "job.cancelled")
SUBSCRIBABLE_EVENTS = (*JOB_EVENTS, "batch.finished")
PING_EVENT = "ping"


class NewWebhook(WireModel):
    """What `POST /api/webhooks` takes."""

    url: str = Field(..., max_length=2048, description="Where to POST events: https:// (http:// only if allowed)")
    events: list[str] = Field(
        default_factory=lambda: ["job.succeeded", "job.failed"],
        min_length=1,
        description=f"Events to send, among {', '.join(SUBSCRIBABLE_EVENTS)}",
    )
    job_types: list[str] = Field(default_factory=list, description="Only jobs of these types (empty: every type)")
    description: str = Field("", max_length=200, description="A note for people reading the list")

    @field_validator("events")
    @classmethod
    def _known_events(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(SUBSCRIBABLE_EVENTS))
        if unknown:
            raise ValueError(f"unknown events {unknown}; choose among {list(SUBSCRIBABLE_EVENTS)}")
        return sorted(set(value))


class Webhook(WireModel):
    """A subscription as the API shows it: never with its secret."""

    id: str
    url: str
    events: list[str]
    job_types: list[str] = Field(default_factory=list)
    description: str = ""
    owner: str | None = Field(None, description="Whose jobs it fires for; None: every job (an admin's)")
    created_at: Timestamp


class CreatedWebhook(Webhook):
    """The answer to `POST /api/webhooks`: the only time the secret is shown."""

    secret: str = Field(..., description="Signing secret; shown once, keep it on the receiver")


class WebhookList(WireModel):
    """`GET /api/webhooks`: every subscription, oldest first, without secrets."""

    webhooks: list[Webhook]


class DeliveryState(StrEnum):
    """A delivery waits (`pending`) until a 2xx (`succeeded`) or the end of its window (`failed`)."""

    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class WebhookAttempt(WireModel):
    """One POST to the receiver: its status (None if it never answered), latency and error."""

    at: Timestamp
    status_code: int | None = None
    latency_ms: float
    error: str | None = None


class WebhookDelivery(WireModel):
    """One event for one subscription, tried until it succeeds or its window ends."""

    id: str
    subscription_id: str
    event: str
    job_id: str | None = None
    created_at: Timestamp
    state: DeliveryState = DeliveryState.PENDING
    attempts: list[WebhookAttempt] = Field(default_factory=list)
    next_attempt_at: Timestamp | None = None
    error: str | None = Field(None, description="Why it failed, once failed")


class WebhookDeliveryList(WireModel):
    """`GET /api/webhooks/{id}/deliveries`: newest first."""

    deliveries: list[WebhookDelivery]


def _path(webhook_id: str, tail: str = "") -> str:
    return f"/api/webhooks/{quote(webhook_id, safe='')}{tail}"


def list_webhooks() -> Call[list[Webhook]]:
    """`GET /api/webhooks`."""
    return Call("GET", "/api/webhooks", lambda body: WebhookList.model_validate(body).webhooks)


def create_webhook(url: str, events: Sequence[str], job_types: Sequence[str], description: str) -> Call[CreatedWebhook]:
    """`POST /api/webhooks`; the answer is the only one that carries the secret."""
    body = {"url": url, "events": list(events), "job_types": list(job_types), "description": description}
    return Call("POST", "/api/webhooks", CreatedWebhook.model_validate, json_body=body)


def delete_webhook(webhook_id: str) -> Call[None]:
    """`DELETE /api/webhooks/{id}` (204)."""
    return Call("DELETE", _path(webhook_id), lambda _: None)


def webhook_deliveries(webhook_id: str) -> Call[list[WebhookDelivery]]:
    """`GET /api/webhooks/{id}/deliveries`, newest first."""
    return Call(
        "GET", _path(webhook_id, "/deliveries"), lambda body: WebhookDeliveryList.model_validate(body).deliveries
    )


def ping_webhook(webhook_id: str) -> Call[WebhookDelivery]:
    """`POST /api/webhooks/{id}/test`: a signed `ping`."""
    return Call("POST", _path(webhook_id, "/test"), WebhookDelivery.model_validate)

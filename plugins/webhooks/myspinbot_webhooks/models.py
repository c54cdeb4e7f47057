"""The shapes of subscriptions and deliveries: stored in Redis and shown by the API."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field, field_validator

from myspinbot_webhooks.config import SUBSCRIBABLE_EVENTS


class NewSubscription(BaseModel):
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


class Subscription(BaseModel):
    """A subscription as the API shows it: never with its secret."""

    id: str
    url: str
    events: list[str]
    job_types: list[str] = Field(default_factory=list)
    description: str = ""
    owner: str | None = Field(None, description="Whose jobs it fires for; None: every job (an admin's)")
    created_at: str


class StoredSubscription(Subscription):
    """A subscription as stored: with the secret the deliverer signs with."""

    secret: str

    def public(self) -> Subscription:
        """The subscription without its secret."""
        return Subscription.model_validate(self.model_dump(exclude={"secret"}))


class CreatedSubscription(Subscription):
    """The answer to `POST /api/webhooks`: the only time the secret is shown."""

    secret: str = Field(..., description="Signing secret; shown once, keep it on the receiver")


class DeliveryState(StrEnum):
    """A delivery waits (`pending`) until a 2xx (`succeeded`) or the end of its window (`failed`)."""

    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class Attempt(BaseModel):
    """One POST to the receiver and what came of it."""

    at: str
    status_code: int | None = None
    latency_ms: float
    error: str | None = None


class Delivery(BaseModel):
    """One event for one subscription, tried until it succeeds or its window ends."""

    id: str
    subscription_id: str
    event: str
    job_id: str | None = None
    created_at: str
    state: DeliveryState = DeliveryState.PENDING
    attempts: list[Attempt] = Field(default_factory=list)
    next_attempt_at: str | None = None
    error: str | None = Field(None, description="Why it failed, once failed")


class StoredDelivery(Delivery):
    """A delivery as stored: with the exact body every attempt sends."""

    body: str
    created_epoch: float

    def public(self) -> Delivery:
        """The delivery without its body."""
        return Delivery.model_validate(self.model_dump(exclude={"body", "created_epoch"}))


class DeliveryList(BaseModel):
    """`GET /api/webhooks/{id}/deliveries`: newest first."""

    deliveries: list[Delivery]

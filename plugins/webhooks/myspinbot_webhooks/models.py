"""Subscriptions and deliveries as stored in Redis: the client's wire models plus what stays server-side.

The public shapes (`Webhook`, `WebhookDelivery`, …) live in `myspinbot_client.webhooks`, so what
the routes answer is, by construction, what the client and the dashboard read.
"""

from __future__ import annotations

from myspinbot_client.webhooks import (
    CreatedWebhook,
    DeliveryState,
    NewWebhook,
    Webhook,
    WebhookAttempt,
    WebhookDelivery,
    WebhookDeliveryList,
    WebhookList,
)

__all__ = [
    "CreatedWebhook",
    "DeliveryState",
    "NewWebhook",
    "StoredDelivery",
    "StoredSubscription",
    "Webhook",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookDeliveryList",
    "WebhookList",
]


class StoredSubscription(Webhook):
    """A subscription as stored: with the secret the deliverer signs with."""

    secret: str

    def public(self) -> Webhook:
        """The subscription without its secret."""
        return Webhook.model_validate(self.model_dump(exclude={"secret"}))


class StoredDelivery(WebhookDelivery):
    """A delivery as stored: with the exact body every attempt sends."""

    body: str
    created_epoch: float

    def public(self) -> WebhookDelivery:
        """The delivery without its body."""
        return WebhookDelivery.model_validate(self.model_dump(exclude={"body", "created_epoch"}))

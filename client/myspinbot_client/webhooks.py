"""Webhook subscriptions and their deliveries as `/api/webhooks` returns them, and the calls that reach it.

The routes come from the webhooks plugin; an API without it answers 404 to each of these calls.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote

from myspinbot_client.calls import Call
from myspinbot_client.models import _time

JSON = dict[str, Any]


@dataclass(frozen=True)
class Webhook:
    """A subscription: where events go, which ones, for which job types (empty: all)."""

    id: str
    url: str
    events: tuple[str, ...]
    job_types: tuple[str, ...] = ()
    description: str = ""
    owner: str | None = None
    created_at: datetime | None = None
    secret: str | None = None  # only in the answer that created it
    raw: JSON = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Webhook:
        """Build from the API's JSON."""
        secret, owner = data.get("secret"), data.get("owner")
        return cls(
            id=str(data["id"]),
            url=str(data["url"]),
            events=tuple(str(event) for event in data.get("events") or ()),
            job_types=tuple(str(name) for name in data.get("job_types") or ()),
            description=str(data.get("description") or ""),
            owner=owner if isinstance(owner, str) else None,
            created_at=_time(data.get("created_at")),
            secret=secret if isinstance(secret, str) else None,
            raw=dict(data),
        )


@dataclass(frozen=True)
class WebhookAttempt:
    """One POST to the receiver: its status (None if it never answered), latency and error."""

    at: datetime | None
    status_code: int | None
    latency_ms: float
    error: str | None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> WebhookAttempt:
        """Build from the API's JSON."""
        status, error = data.get("status_code"), data.get("error")
        return cls(
            at=_time(data.get("at")),
            status_code=status if isinstance(status, int) else None,
            latency_ms=float(data.get("latency_ms") or 0.0),
            error=error if isinstance(error, str) else None,
        )


@dataclass(frozen=True)
class WebhookDelivery:
    """One event for one subscription: `pending` until a 2xx (`succeeded`) or the end of its window (`failed`)."""

    id: str
    subscription_id: str
    event: str
    state: str
    attempts: tuple[WebhookAttempt, ...] = ()
    job_id: str | None = None
    created_at: datetime | None = None
    next_attempt_at: datetime | None = None
    error: str | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> WebhookDelivery:
        """Build from the API's JSON."""
        job_id, error = data.get("job_id"), data.get("error")
        return cls(
            id=str(data["id"]),
            subscription_id=str(data.get("subscription_id", "")),
            event=str(data.get("event", "")),
            state=str(data.get("state", "pending")),
            attempts=tuple(WebhookAttempt.from_json(item) for item in data.get("attempts") or ()),
            job_id=job_id if isinstance(job_id, str) else None,
            created_at=_time(data.get("created_at")),
            next_attempt_at=_time(data.get("next_attempt_at")),
            error=error if isinstance(error, str) else None,
        )


def _path(webhook_id: str, tail: str = "") -> str:
    return f"/api/webhooks/{quote(webhook_id, safe='')}{tail}"


def list_webhooks() -> Call[list[Webhook]]:
    """`GET /api/webhooks`."""
    return Call("GET", "/api/webhooks", lambda body: [Webhook.from_json(item) for item in body["webhooks"]])


def create_webhook(url: str, events: Sequence[str], job_types: Sequence[str], description: str) -> Call[Webhook]:
    """`POST /api/webhooks`; the answer is the only one that carries the secret."""
    body = {"url": url, "events": list(events), "job_types": list(job_types), "description": description}
    return Call("POST", "/api/webhooks", Webhook.from_json, json_body=body)


def delete_webhook(webhook_id: str) -> Call[None]:
    """`DELETE /api/webhooks/{id}` (204)."""
    return Call("DELETE", _path(webhook_id), lambda _: None)


def webhook_deliveries(webhook_id: str) -> Call[list[WebhookDelivery]]:
    """`GET /api/webhooks/{id}/deliveries`, newest first."""
    return Call(
        "GET",
        _path(webhook_id, "/deliveries"),
        lambda body: [WebhookDelivery.from_json(item) for item in body["deliveries"]],
    )


def ping_webhook(webhook_id: str) -> Call[WebhookDelivery]:
    """`POST /api/webhooks/{id}/test`: a signed `ping`."""
    return Call("POST", _path(webhook_id, "/test"), WebhookDelivery.from_json)

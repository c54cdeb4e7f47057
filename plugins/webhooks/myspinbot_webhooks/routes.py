"""`/api/webhooks`: subscribe, list, delete, see recent deliveries, send a test ping.

The kernel mounts these routes behind authentication; a subscription fires for every job
(owner None), so only admins manage webhooks: a member's or viewer's call is 403 (otherwise a
member could have every other member's job events posted to it).
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError

from myspinbot import Kernel, Role, principal_of
from myspinbot_webhooks.config import PING_EVENT
from myspinbot_webhooks.models import (
    CreatedWebhook,
    NewWebhook,
    StoredSubscription,
    Webhook,
    WebhookDelivery,
    WebhookDeliveryList,
    WebhookList,
)
from myspinbot_webhooks.outbox import new_delivery
from myspinbot_webhooks.payload import delivery_body, utc_time
from myspinbot_webhooks.runtime import WebhookRuntime, runtime_for
from myspinbot_webhooks.safety import UnsafeUrl, loggable, resolve_target
from myspinbot_webhooks.signing import new_secret

log = logging.getLogger(__name__)


ERROR_SHAPE = 'the common error body `{"error": {"status", "code", "message", "details"}}`'
ERRORS = {
    400: "Malformed body",
    401: "Missing or wrong API key",
    403: "Only admins manage webhooks",
    404: "No such webhook",
    422: "A refused URL, unknown events or job types; `details` names the field",
}


def documented(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the error statuses a route may answer (all in the common shape)."""
    return {status: {"description": f"{ERRORS[status]}; {ERROR_SHAPE}"} for status in (401, 403, *statuses)}


NOT_FOUND = documented(404)
INVALID = documented(400, 422)


def field_problem(field: str, message: str) -> RequestValidationError:
    """A 422 in the common error shape whose details name the field to fix."""
    return RequestValidationError([{"loc": ("body", field), "msg": message, "type": "value_error"}])


def not_found(subscription_id: str) -> HTTPException:
    return HTTPException(404, f"no webhook {subscription_id!r}; GET /api/webhooks lists them")


async def existing(runtime: WebhookRuntime, subscription_id: str) -> StoredSubscription:
    subscription = await runtime.outbox.subscription(subscription_id)
    if subscription is None:
        raise not_found(subscription_id)
    return subscription


async def admins_only(request: Request) -> None:
    """403 unless the caller (authenticated by the kernel before this runs) is an admin."""
    principal = principal_of(request)
    if principal.role != Role.ADMIN:
        raise HTTPException(403, f"only admins manage webhooks; {principal.name} is {principal.role.value}")


def build_webhook_router(kernel: Kernel) -> APIRouter:
    """The webhook routes of one kernel."""
    runtime = runtime_for(kernel)
    router = APIRouter(prefix="/api/webhooks", tags=["webhooks"], dependencies=[Depends(admins_only)])

    @router.post(
        "",
        status_code=201,
        response_model=CreatedWebhook,
        summary="Subscribe a URL to job events",
        responses=INVALID,
    )
    async def subscribe(request: NewWebhook) -> CreatedWebhook:
        try:
            await resolve_target(request.url, runtime.settings)
        except UnsafeUrl as error:
            raise field_problem("url", str(error)) from None
        unknown_types = sorted(set(request.job_types) - set(kernel.job_types))
        if unknown_types:
            raise field_problem("job_types", f"unknown job types {unknown_types}; GET /api/job-types lists them")
        subscription = StoredSubscription(
            id="wh_" + uuid.uuid4().hex[:16],
            url=request.url.strip(),
            events=request.events,
            job_types=sorted(set(request.job_types)),
            description=request.description,
            owner=None,
            created_at=utc_time(time.time()),
            secret=new_secret(),
        )
        await runtime.outbox.add_subscription(subscription)
        log.info(
            "webhooks: subscribed %s to %s for %s", subscription.id, loggable(subscription.url), subscription.events
        )
        return CreatedWebhook.model_validate(subscription.model_dump())

    @router.get(
        "",
        response_model=WebhookList,
        summary="List subscriptions (secrets are never shown again)",
        responses=documented(),
    )
    async def list_subscriptions() -> WebhookList:
        return WebhookList(webhooks=[sub.public() for sub in await runtime.outbox.subscriptions()])

    @router.get("/{subscription_id}", response_model=Webhook, summary="One subscription", responses=NOT_FOUND)
    async def show(subscription_id: str) -> Webhook:
        return (await existing(runtime, subscription_id)).public()

    @router.delete(
        "/{subscription_id}",
        status_code=204,
        summary="Delete a subscription; pending deliveries stop",
        responses=NOT_FOUND,
    )
    async def unsubscribe(subscription_id: str) -> Response:
        if not await runtime.outbox.remove_subscription(subscription_id):
            raise not_found(subscription_id)
        log.info("webhooks: deleted %s", subscription_id)
        return Response(status_code=204)

    @router.get(
        "/{subscription_id}/deliveries",
        response_model=WebhookDeliveryList,
        summary="Recent deliveries and their attempts",
        responses=NOT_FOUND,
    )
    async def deliveries(subscription_id: str) -> WebhookDeliveryList:
        await existing(runtime, subscription_id)
        return WebhookDeliveryList(
            deliveries=[delivery.public() for delivery in await runtime.outbox.recent(subscription_id)]
        )

    @router.post(
        "/{subscription_id}/test",
        status_code=202,
        response_model=WebhookDelivery,
        summary="Send a signed `ping` delivery",
        responses=NOT_FOUND,
    )
    async def send_test(subscription_id: str) -> WebhookDelivery:
        subscription = await existing(runtime, subscription_id)
        now = time.time()
        delivery_id = "whd_" + uuid.uuid4().hex[:24]
        body = delivery_body(PING_EVENT, delivery_id, None, runtime.public_url, now)
        delivery = new_delivery(subscription.id, PING_EVENT, delivery_id, body, None, now)
        await runtime.outbox.enqueue(delivery)
        return delivery.public()

    return router

"""`/api/webhooks`: subscribe, list, delete, see recent deliveries, send a test ping.

The kernel authenticates every call before these routes run. An admin's subscription has no
owner and fires for every job; a member's is owned by the member and fires for its own jobs
only (the owner is matched against each job's `owner` when the event is fanned out). A member
sees and manages only its own subscriptions (another's answers 404, as if it did not exist);
viewers only read jobs and get 403 here.
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError

from myspinbot import Kernel, Principal, Role, principal_of
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
    403: "Viewers do not manage webhooks",
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


async def webhook_manager(request: Request) -> Principal:
    """The caller, if it may manage webhooks (admins and members); 403 for viewers."""
    principal = principal_of(request)
    if not principal.may_act:
        raise HTTPException(403, f"viewers do not manage webhooks; {principal.name} is {principal.role.value}")
    return principal


ManagerDep = Annotated[Principal, Depends(webhook_manager)]


def owner_for(principal: Principal) -> str | None:
    """Whose jobs a new subscription fires for: an admin's every job (None), a member's its own."""
    return None if principal.role is Role.ADMIN else principal.name


def may_see(principal: Principal, subscription: Webhook) -> bool:
    """Admins see every subscription; a member only its own."""
    return principal.role is Role.ADMIN or subscription.owner == principal.name


async def existing(runtime: WebhookRuntime, subscription_id: str, principal: Principal) -> StoredSubscription:
    """The subscription, or 404 when it does not exist or is another member's."""
    subscription = await runtime.outbox.subscription(subscription_id)
    if subscription is None or not may_see(principal, subscription):
        raise not_found(subscription_id)
    return subscription


def build_webhook_router(kernel: Kernel) -> APIRouter:
    """The webhook routes of one kernel."""
    runtime = runtime_for(kernel)
    router = APIRouter(prefix="/api/webhooks", tags=["webhooks"])

    @router.post(
        "",
        status_code=201,
        response_model=CreatedWebhook,
        summary="Subscribe a URL to job events",
        responses=INVALID,
    )
    async def subscribe(request: NewWebhook, principal: ManagerDep) -> CreatedWebhook:
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
            owner=owner_for(principal),
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
    async def list_subscriptions(principal: ManagerDep) -> WebhookList:
        subscriptions = await runtime.outbox.subscriptions()
        return WebhookList(webhooks=[sub.public() for sub in subscriptions if may_see(principal, sub)])

    @router.get("/{subscription_id}", response_model=Webhook, summary="One subscription", responses=NOT_FOUND)
    async def show(subscription_id: str, principal: ManagerDep) -> Webhook:
        return (await existing(runtime, subscription_id, principal)).public()

    @router.delete(
        "/{subscription_id}",
        status_code=204,
        summary="Delete a subscription; pending deliveries stop",
        responses=NOT_FOUND,
    )
    async def unsubscribe(subscription_id: str, principal: ManagerDep) -> Response:
        await existing(runtime, subscription_id, principal)
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
    async def deliveries(subscription_id: str, principal: ManagerDep) -> WebhookDeliveryList:
        await existing(runtime, subscription_id, principal)
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
    async def send_test(subscription_id: str, principal: ManagerDep) -> WebhookDelivery:
        subscription = await existing(runtime, subscription_id, principal)
        now = time.time()
        delivery_id = "whd_" + uuid.uuid4().hex[:24]
        body = delivery_body(PING_EVENT, delivery_id, None, runtime.public_url, now)
        delivery = new_delivery(subscription.id, PING_EVENT, delivery_id, body, None, now)
        await runtime.outbox.enqueue(delivery)
        return delivery.public()

    return router

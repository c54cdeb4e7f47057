"""The webhooks plugin: signed, retried, at-least-once notifications of job events.

Hooks used: `job_event` (and `batch_finished`) writes the deliveries of an event into a durable outbox in Redis (in
whichever process stored the event); `startup` starts the deliverer in the API processes (where
an event loop runs), `shutdown` stops it; `register_routes` adds `/api/webhooks`;
`register_metrics` adds the delivery figures to `/metrics`.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from fastapi import APIRouter
from prometheus_client import CollectorRegistry

from myspinbot import Job, JobEvent, Kernel, Settings, hookimpl
from myspinbot_webhooks.config import JOB_EVENTS
from myspinbot_webhooks.metrics import WebhookCollector
from myspinbot_webhooks.routes import build_webhook_router
from myspinbot_webhooks.runtime import runtime_for

__all__ = ["batch_finished", "job_event", "register_metrics", "register_routes", "shutdown", "startup"]

log = logging.getLogger(__name__)
WATCHED_EVENTS = frozenset(JOB_EVENTS)


def in_event_loop() -> bool:
    """True in the API (its lifespan runs on an event loop), False in a Celery worker."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


@hookimpl
def register_routes(settings: Settings, kernel: Kernel) -> list[APIRouter]:
    """`/api/webhooks` and its sub-routes."""
    return [build_webhook_router(kernel)]


@hookimpl
def register_metrics(registry: CollectorRegistry, kernel: Kernel) -> None:
    """Delivery outcomes and the pending outbox on `/metrics`."""
    runtime = runtime_for(kernel)
    registry.register(WebhookCollector(lambda: runtime.figures))


@hookimpl
def job_event(event: JobEvent, kernel: Kernel) -> None:
    """Put the deliveries of a started or finished job into the outbox; progress events cost nothing."""
    if event.event.value not in WATCHED_EVENTS:
        return
    try:
        runtime_for(kernel).fanout.fan_out(event)
    except Exception:
        # A webhook must never break a job; the event itself is stored and on the stream.
        log.exception("webhooks: could not queue deliveries for %s of job %s", event.event.value, event.job.id)


@hookimpl
def batch_finished(batch_id: str, last_job: Job, kernel: Kernel) -> None:
    """Put the `batch.finished` deliveries into the outbox (the kernel calls this once per batch)."""
    try:
        runtime_for(kernel).fanout.fan_out_batch(batch_id, last_job)
    except Exception:
        log.exception("webhooks: could not queue batch.finished deliveries for batch %s", batch_id)


@hookimpl
def startup(kernel: Kernel) -> None:
    """Start the deliverer in the API; a worker only writes to the outbox."""
    runtime = runtime_for(kernel)
    if in_event_loop():
        runtime.start_deliverer()


@hookimpl
def shutdown(kernel: Kernel) -> Any:
    """Stop the deliverer (the API awaits it) and close the clients."""
    runtime = runtime_for(kernel)
    if in_event_loop():
        return runtime.close_async()
    runtime.close_sync()
    return None

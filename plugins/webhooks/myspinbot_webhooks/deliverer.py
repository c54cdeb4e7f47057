"""The delivery loop of one API process: claim due deliveries, attempt them, record the results.

It runs as a background task beside the API's other loops. Each attempt is its own task, at most
`max_in_flight` per process and `max_in_flight_per_receiver` per subscription, so a receiver that
hangs holds only its own slots: job execution (in the workers) never waits on it, nor does the
API, nor does any other receiver.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from dataclasses import dataclass, field

from redis.exceptions import RedisError

from myspinbot_webhooks.config import WebhookSettings
from myspinbot_webhooks.models import DeliveryState, StoredDelivery, WebhookAttempt
from myspinbot_webhooks.outbox import Outbox
from myspinbot_webhooks.payload import utc_time
from myspinbot_webhooks.safety import loggable
from myspinbot_webhooks.sender import AttemptResult, Outcome, Sender, retry_delay

log = logging.getLogger(__name__)
COUNTS_EVERY_SECONDS = 1.0


@dataclass
class OutboxFigures:
    """What /metrics shows, refreshed by the loop: pending deliveries and global outcome counters."""

    pending: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)


def after_attempt(
    delivery: StoredDelivery, result: AttemptResult, settings: WebhookSettings, now: float
) -> tuple[StoredDelivery, float | None]:
    """The delivery with this attempt added, and when to try again (None: it is finished)."""
    attempts = [
        *delivery.attempts,
        WebhookAttempt(
            at=utc_time(now), status_code=result.status_code, latency_ms=result.latency_ms, error=result.error
        ),
    ]
    update: dict[str, object] = {"attempts": attempts, "next_attempt_at": None}
    next_due: float | None = None
    if result.outcome is Outcome.SUCCEEDED:
        update.update(state=DeliveryState.SUCCEEDED, error=None)
    elif result.outcome is Outcome.RETRY:
        delay = retry_delay(len(attempts), settings.retry_base_seconds, settings.retry_max_seconds)
        if result.retry_after is not None:  # the receiver's own wish, within our longest wait
            delay = max(delay, min(result.retry_after, settings.retry_max_seconds))
        if now + delay - delivery.created_epoch > settings.retry_window_seconds:
            window = f"{settings.retry_window_seconds:g} s"
            update.update(state=DeliveryState.FAILED, error=f"gave up after {len(attempts)} attempts in {window}")
        else:
            next_due = now + delay
            update.update(next_attempt_at=utc_time(next_due), error=None)
    else:
        update.update(state=DeliveryState.FAILED, error=result.error)
    return delivery.model_copy(update=update), next_due


class Deliverer:
    """Claims and sends deliveries until stopped; survives Redis outages by waiting them out."""

    def __init__(self, outbox: Outbox, sender: Sender, settings: WebhookSettings) -> None:
        self.outbox = outbox
        self.sender = sender
        self.settings = settings
        self.figures = OutboxFigures()
        self.in_flight: set[asyncio.Task[None]] = set()
        self.per_receiver: Counter[str] = Counter()
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._counts_at = 0.0

    def start(self) -> None:
        """Start the loop on the running event loop."""
        self._task = asyncio.create_task(self._run(), name="webhooks-deliverer")

    async def stop(self) -> None:
        """Stop claiming and abandon attempts in flight: their leases bring them back later."""
        self._stopping.set()
        tasks = [*self.in_flight, *([self._task] if self._task else [])]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                await self._claim_and_start()
                await self._refresh_figures()
            except RedisError as error:
                log.warning("webhooks: the outbox (Redis) is unreachable, retrying: %s", error)
            except Exception:
                log.exception("webhooks: the delivery loop failed; it goes on")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.settings.poll_seconds)

    async def _claim_and_start(self) -> None:
        free = self.settings.max_in_flight - len(self.in_flight)
        if free <= 0:
            return
        ids = await self.outbox.claim(free, self.settings.lease_seconds)
        if not ids:
            return
        deliveries = await self.outbox.load(ids)
        for missing in set(ids) - {delivery.id for delivery in deliveries}:
            await self.outbox.drop(missing)
        for delivery in deliveries:
            if delivery.state is not DeliveryState.PENDING:
                await self.outbox.drop(delivery.id)
            elif self.per_receiver[delivery.subscription_id] >= self.settings.max_in_flight_per_receiver:
                await self.outbox.defer(delivery.id, time.time() + self.settings.poll_seconds)
            else:
                self._spawn(delivery)

    def _spawn(self, delivery: StoredDelivery) -> None:
        self.per_receiver[delivery.subscription_id] += 1
        task = asyncio.create_task(self._attempt(delivery), name=f"webhook-{delivery.id}")
        self.in_flight.add(task)

        def done(finished: asyncio.Task[None]) -> None:
            self.in_flight.discard(finished)
            self.per_receiver[delivery.subscription_id] -= 1
            if self.per_receiver[delivery.subscription_id] <= 0:
                del self.per_receiver[delivery.subscription_id]

        task.add_done_callback(done)

    async def _attempt(self, delivery: StoredDelivery) -> None:
        try:
            subscription = await self.outbox.subscription(delivery.subscription_id)
            if subscription is None:
                gone = delivery.model_copy(update={"state": DeliveryState.FAILED, "error": "subscription deleted"})
                await self.outbox.record(gone, None, "dropped")
                return
            result = await self.sender.send(
                subscription.url, subscription.secret, delivery.id, delivery.event, delivery.body.encode()
            )
            updated, next_due = after_attempt(delivery, result, self.settings, time.time())
            if next_due is not None:
                log.info(
                    "webhooks: delivery %s to %s will be retried: %s",
                    delivery.id,
                    loggable(subscription.url),
                    result.error,
                )
            elif updated.state is DeliveryState.FAILED:
                log.warning(
                    "webhooks: delivery %s to %s failed for good: %s",
                    delivery.id,
                    loggable(subscription.url),
                    updated.error,
                )
            await self.outbox.record(updated, next_due, result.outcome.value)
        except RedisError as error:
            # The lease brings the delivery back once Redis answers again.
            log.warning("webhooks: could not record delivery %s: %s", delivery.id, error)

    async def _refresh_figures(self) -> None:
        now = time.monotonic()
        if now - self._counts_at < COUNTS_EVERY_SECONDS:
            return
        self._counts_at = now
        pending, outcomes = await self.outbox.counts()
        self.figures = OutboxFigures(pending=pending, outcomes=outcomes)

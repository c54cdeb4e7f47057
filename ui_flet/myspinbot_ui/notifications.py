"""The notifications page's state and what its buttons do: webhooks and their recent deliveries.

The page reads `/api/webhooks` through the client every few seconds while it is shown, so a
test ping or a job's delivery appears without a reload. The signing secret of a new webhook is
kept only until the page shows it once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from myspinbot_client import ApiError, AsyncMySpinBotClient, Webhook, WebhookDelivery

log = logging.getLogger(__name__)

EVENT_CHOICES = ("job.succeeded", "job.failed", "job.cancelled", "job.started")
DEFAULT_EVENTS = ("job.succeeded", "job.failed")
REFRESH_SECONDS = 2.0
DELIVERIES_SHOWN = 8


@dataclass
class NewSecret:
    """The secret of the webhook just made: shown on the page this once."""

    url: str
    secret: str


@dataclass
class NotificationsState:
    """What the notifications page shows."""

    webhooks: list[Webhook] = field(default_factory=list)
    deliveries: dict[str, list[WebhookDelivery]] = field(default_factory=dict)
    new_secret: NewSecret | None = None
    form_error: str | None = None
    message: str | None = None
    unavailable: str | None = None  # why the page cannot show webhooks (no plugin, API down)
    loaded: bool = False


def form_problem(url: str, events: list[str]) -> str | None:
    """What is wrong with the add form before asking the API, or None."""
    if not url.strip():
        return "Enter the receiver's URL (https://…)."
    if not events:
        return "Choose at least one event."
    return None


def api_problem(error: ApiError) -> str:
    """An API refusal as one line for the page: the field's message when the API names one."""
    if error.details:
        return "; ".join(detail.message for detail in error.details)
    return error.message


class Notifications:
    """Loads webhooks and deliveries, adds, pings and deletes; tells the page to redraw."""

    def __init__(self, client: AsyncMySpinBotClient, changed: Callable[[], None]) -> None:
        self.client = client
        self.changed = changed
        self.state = NotificationsState()
        self._refresher: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Refresh now and every few seconds while the page is shown."""
        self.stop()
        self._refresher = asyncio.create_task(self._refresh_loop())

    def stop(self) -> None:
        """Stop refreshing (the page was left or the browser went away)."""
        if self._refresher is not None:
            self._refresher.cancel()
            self._refresher = None

    async def refresh(self) -> None:
        """Read the webhooks and each one's recent deliveries."""
        state = self.state
        try:
            webhooks = await self.client.webhooks()
            deliveries = await asyncio.gather(*(self.client.webhook_deliveries(hook.id) for hook in webhooks))
        except ApiError as error:
            state.unavailable = (
                "This API has no webhooks plugin (it may be disabled)." if error.status == 404 else error.message
            )
        else:
            state.webhooks = webhooks
            state.deliveries = {
                hook.id: found[:DELIVERIES_SHOWN] for hook, found in zip(webhooks, deliveries, strict=True)
            }
            state.unavailable = None
        state.loaded = True
        self.changed()

    async def add(self, url: str, events: list[str]) -> bool:
        """Subscribe `url`; True when the API accepted it (its secret is then shown once)."""
        state = self.state
        state.form_error = form_problem(url, events)
        if state.form_error is None:
            try:
                created = await self.client.create_webhook(url.strip(), events)
            except ApiError as error:
                state.form_error = api_problem(error)
            else:
                state.new_secret = NewSecret(created.url, created.secret)
                state.message = None
                await self.refresh()
        self.changed()
        return state.form_error is None

    async def ping(self, webhook: Webhook) -> None:
        """Send a test ping to a webhook."""
        try:
            await self.client.ping_webhook(webhook.id)
        except ApiError as error:
            self.state.message = f"Could not send a test to {webhook.url}: {error.message}"
        else:
            self.state.message = f"Test ping queued for {webhook.url}."
        await self.refresh()

    async def delete(self, webhook: Webhook) -> None:
        """Delete a webhook."""
        try:
            await self.client.delete_webhook(webhook.id)
        except ApiError as error:
            self.state.message = f"Could not delete {webhook.url}: {error.message}"
        else:
            self.state.message = f"Deleted the webhook to {webhook.url}."
        await self.refresh()

    def secret_shown(self) -> None:
        """The user dismissed the secret: forget it."""
        self.state.new_secret = None
        self.changed()

    async def _refresh_loop(self) -> None:
        while True:
            with contextlib.suppress(Exception):
                await self.refresh()
            await asyncio.sleep(REFRESH_SECONDS)

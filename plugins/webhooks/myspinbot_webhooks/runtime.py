"""The plugin's state for one kernel: its settings, the outbox clients and the deliverer.

Kept per kernel (not in module globals) so tests can build several apps in one process.
"""

from __future__ import annotations

import contextlib
import logging
import weakref

from myspinbot import Kernel
from myspinbot_webhooks.config import WebhookSettings, load_webhook_settings
from myspinbot_webhooks.deliverer import Deliverer, OutboxFigures
from myspinbot_webhooks.outbox import EventFanout, Outbox
from myspinbot_webhooks.sender import Sender

log = logging.getLogger(__name__)


class WebhookRuntime:
    """Made on first use in any process; the deliverer is started only where an event loop runs (the API)."""

    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel
        self.settings: WebhookSettings = load_webhook_settings()
        self._fanout: EventFanout | None = None
        self._outbox: Outbox | None = None
        self.deliverer: Deliverer | None = None

    @property
    def public_url(self) -> str:
        """The base of absolute URLs in bodies: MYSPINBOT_PUBLIC_URL, else MYSPINBOT_API_URL."""
        return self.settings.public_url or self.kernel.settings.api_url.rstrip("/")

    @property
    def fanout(self) -> EventFanout:
        """The synchronous outbox writer of the `job_event` hook."""
        if self._fanout is None:
            self._fanout = EventFanout(
                self.kernel.settings.redis_url,
                self.public_url,
                self.settings.keep_deliveries,
                self.kernel.settings.job_ttl_seconds,
                self.settings.subscriptions_cache_seconds,
            )
        return self._fanout

    @property
    def outbox(self) -> Outbox:
        """The async outbox of the routes and the deliverer (bound to the API's event loop)."""
        if self._outbox is None:
            self._outbox = Outbox(
                self.kernel.settings.redis_url, self.settings.keep_deliveries, self.kernel.settings.job_ttl_seconds
            )
        return self._outbox

    @property
    def figures(self) -> OutboxFigures:
        return self.deliverer.figures if self.deliverer is not None else OutboxFigures()

    def start_deliverer(self) -> None:
        """Start delivering from this process (called on the running event loop)."""
        if self.deliverer is None:
            self.deliverer = Deliverer(self.outbox, Sender(self.settings), self.settings)
            self.deliverer.start()

    async def close_async(self) -> None:
        """Stop the deliverer and close the async clients."""
        if self.deliverer is not None:
            await self.deliverer.stop()
            await self.deliverer.sender.close()
            self.deliverer = None
        if self._outbox is not None:
            with contextlib.suppress(Exception):
                await self._outbox.close()
            self._outbox = None
        self.close_sync()

    def close_sync(self) -> None:
        """Close the hook's Redis client."""
        if self._fanout is not None:
            self._fanout.close()
            self._fanout = None


_runtimes: weakref.WeakKeyDictionary[Kernel, WebhookRuntime] = weakref.WeakKeyDictionary()


def runtime_for(kernel: Kernel) -> WebhookRuntime:
    """This kernel's webhook state, made on first use."""
    runtime = _runtimes.get(kernel)
    if runtime is None:
        runtime = _runtimes[kernel] = WebhookRuntime(kernel)
    return runtime

"""Closing open WebSockets the moment their key is revoked or their user changes."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from myspinbot.api.gateway import EventGateway
from myspinbot.core.kernel import Kernel

log = logging.getLogger(__name__)


class RevocationWatcher:
    """Follows the identity store's revocations and drops the gateway clients they concern.

    Requests need no such help (each reads its key again); a WebSocket authenticates once, so
    without this a revoked key would keep receiving events until it disconnected.
    """

    def __init__(self, kernel: Kernel, gateway: EventGateway) -> None:
        self.kernel = kernel
        self.gateway = gateway
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start following revocations in the background."""
        self._task = asyncio.create_task(self._run(), name="revocations")

    async def stop(self) -> None:
        """Stop following (bounded: a Redis that does not answer cannot hold up shutdown)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(self._task, timeout=1.0)

    async def _run(self) -> None:
        backoff = 0.2
        while True:
            try:
                async for subject in self.kernel.identity.revocations():
                    backoff = 0.2
                    dropped = self.gateway.revoke(subject)
                    if dropped:
                        log.info("closed %d WebSocket(s) after a revocation", dropped)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # Redis restarting: follow again shortly
                log.debug("revocation feed interrupted: %s", error)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 5.0)

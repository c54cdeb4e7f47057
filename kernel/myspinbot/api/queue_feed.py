"""Live queue frames on /ws: each waiting job's position and start estimate as they change.

Positions are not events of the job stream (one start would write a new position for every
job behind it); the API works them out from the broker when a job of a queue is queued, starts
or finishes, and every few seconds besides (a pause from another replica, estimates that
drift), and sends `{"type": "queue", ...}` to the clients when a queue's picture changed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import weakref
from typing import Any

from myspinbot.api.gateway import SLOW_CLOSE_CODE, SLOW_CLOSE_REASON, EventGateway, GatewayClient
from myspinbot.api.queue_service import QueueService, QueueView
from myspinbot.core.jobs import EventName, JobEvent
from myspinbot.core.store import StoreUnavailable
from myspinbot.worker.wire import BrokerUnavailable

log = logging.getLogger(__name__)

TICK_SECONDS = 0.25
REFRESH_SECONDS = 2.0
FRAME_JOBS = 100  # positions sent per queue; GET /api/jobs/{id} has any job's
QUIET_EVENTS = {EventName.PROGRESS}  # progress moves estimates, which the refresh picks up


def queue_frame_data(view: QueueView) -> dict[str, Any]:
    """The body of a queue frame, without its `type`."""
    return {
        "queue": view.name,
        "paused": view.paused,
        "depth": view.depth,
        "running": view.running,
        "concurrency": view.concurrency,
        "jobs": [
            {"id": job_id, "position": index + 1, "starts_in_seconds": view.starts.get(job_id)}
            for index, job_id in enumerate(view.order[:FRAME_JOBS])
        ],
    }


def change_key(data: dict[str, Any]) -> tuple[Any, ...]:
    """What must differ for a frame to be worth sending (estimates count in 10 s steps)."""
    jobs = tuple(
        (job["id"], None if job["starts_in_seconds"] is None else round(job["starts_in_seconds"] / 10))
        for job in data["jobs"]
    )
    return (data["paused"], data["depth"], data["running"], data["concurrency"], jobs)


class QueueFeed:
    """Works out queue pictures when they may have changed and offers them to live clients."""

    def __init__(self, service: QueueService, gateway: EventGateway) -> None:
        self.service = service
        self.gateway = gateway
        self.dirty: set[str] = set()
        # What each client last got per queue: a new client gets the current picture too.
        self.sent: weakref.WeakKeyDictionary[GatewayClient, dict[str, tuple[Any, ...]]] = weakref.WeakKeyDictionary()
        self._task: asyncio.Task[None] | None = None
        gateway.listeners.append(self.on_event)

    def on_event(self, event: JobEvent) -> None:
        """Mark the event's queue for a fresh look (called by the gateway for every event)."""
        if event.event not in QUIET_EVENTS:
            self.dirty.add(event.job.queue or event.job.type)

    async def start(self) -> None:
        if self.service.broker.supported:
            self._task = asyncio.create_task(self._run(), name="queue-feed")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(BaseException):
                await asyncio.wait({self._task}, timeout=1.0)

    async def _run(self) -> None:
        refreshed = 0.0
        while True:
            await asyncio.sleep(TICK_SECONDS)
            if not self.gateway.clients:
                continue
            newcomer = any(client.live and client not in self.sent for client in self.gateway.clients)
            if newcomer or time.monotonic() - refreshed >= REFRESH_SECONDS:
                self.dirty.update(self.service.queue_names())
                refreshed = time.monotonic()
            queues, self.dirty = self.dirty, set()
            for queue in sorted(queues):
                try:
                    await self.publish(await self.service.view(queue, fresh=True))
                except (StoreUnavailable, BrokerUnavailable) as error:
                    log.info("queue feed skipped %s: %s", queue, error)
                except Exception:
                    log.exception("queue feed failed for %s", queue)

    async def publish(self, view: QueueView) -> None:
        """Offer the queue's frame to every live client, if it changed since the last one."""
        data = queue_frame_data(view)
        key_all = change_key(data)
        frame_all: str | None = None
        # A member watching every job gets the queue's figures, not other members' job ids.
        counts_only = {**data, "jobs": []}
        key_counts = change_key(counts_only)
        for client in list(self.gateway.clients):
            if not client.live or client.dropped:
                continue
            seen = self.sent.setdefault(client, {})
            if client.jobs is None and client.owner is not None:
                if seen.get(view.name) == key_counts:
                    continue
                seen[view.name] = key_counts
                frame = json.dumps({"type": "queue", **counts_only})
            elif client.jobs is None:
                if seen.get(view.name) == key_all:
                    continue
                seen[view.name] = key_all
                frame_all = frame_all or json.dumps({"type": "queue", **data})
                frame = frame_all
            else:
                mine = {**data, "jobs": [job for job in data["jobs"] if job["id"] in client.jobs]}
                key = change_key(mine)
                if seen.get(view.name) == key or (not mine["jobs"] and view.name not in seen):
                    continue  # nothing of its jobs on this queue, now or before
                seen[view.name] = key
                frame = json.dumps({"type": "queue", **mine})
            if not client.offer(frame):
                client.drop(SLOW_CLOSE_CODE, SLOW_CLOSE_REASON)

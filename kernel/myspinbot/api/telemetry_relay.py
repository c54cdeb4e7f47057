"""Live telemetry to WebSocket clients: tails the telemetry stream, coalesces per job, sends at a bounded rate.

Telemetry is not the state stream: it is never replayed (a client reads what it missed from
`/api/jobs/{id}/metrics|logs|preview`) and it only goes to clients that subscribed to the job by
id (a job page, `myspinbot watch ID`), never to a watch of every job, and to a member only for
its own jobs. Per job, metric notices
are merged into the latest value of each name and sent at most `1 / interval` times a second
whatever the rate points arrive at; log lines are sent in batches at the same pace; artifact and
preview notices keep their order. A client whose outbox is half full gets no telemetry until it
drains: telemetry never gets a client dropped for being slow.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from myspinbot.api.gateway import EventGateway, GatewayClient
from myspinbot.api.stream_follower import follow_stream
from myspinbot.core.jobs import JobEvent
from myspinbot.core.jobtypes import JobReader
from myspinbot.core.kernel import LiveStats
from myspinbot.core.store import StoreUnavailable
from myspinbot.core.telemetry import TelemetryKind, TelemetryNotice, TelemetryStore

SEND_INTERVAL = 0.25
READ_BLOCK_MS = 1000
READ_BATCH = 1000
MAX_LOG_LINES_PER_FRAME = 500
MAX_KNOWN_OWNERS = 10_000


@dataclass
class PendingTelemetry:
    """What is waiting to go out for one job."""

    step: int | None = None
    values: dict[str, float] = field(default_factory=dict)
    points: int = 0
    lines: list[dict[str, Any]] = field(default_factory=list)
    others: list[tuple[TelemetryKind, dict[str, Any]]] = field(default_factory=list)

    def add(self, notice: TelemetryNotice) -> None:
        payload = json.loads(notice.payload)
        if notice.kind is TelemetryKind.METRIC:
            self.step = max(self.step or 0, int(payload.get("step", 0)))
            self.values.update(payload.get("values") or {})
            self.points += int(payload.get("points", 0))
        elif notice.kind is TelemetryKind.LOG:
            self.lines.extend({"seq": s, "time": t, "level": lv, "message": m} for s, t, lv, m in payload)
            del self.lines[:-MAX_LOG_LINES_PER_FRAME]
        elif notice.kind is TelemetryKind.PREVIEW:
            # Only the newest preview matters.
            self.others = [item for item in self.others if item[0] is not TelemetryKind.PREVIEW]
            self.others.append((notice.kind, payload))
        else:
            self.others.append((notice.kind, payload))

    def frames(self, job_id: str) -> list[str]:
        """The frames for this job, in a stable order: artifacts and previews, logs, then metrics."""
        out = [json.dumps({"type": kind.value, "job_id": job_id, **payload}) for kind, payload in self.others]
        if self.lines:
            out.append(json.dumps({"type": TelemetryKind.LOG.value, "job_id": job_id, "lines": self.lines}))
        if self.step is not None:
            metric = {"step": self.step, "values": self.values, "points": self.points}
            out.append(json.dumps({"type": TelemetryKind.METRIC.value, "job_id": job_id, **metric}))
        return out


class TelemetryRelay:
    """One per API process, next to the event gateway and sharing its clients."""

    def __init__(
        self,
        store: TelemetryStore,
        gateway: EventGateway,
        stats: LiveStats,
        interval: float = SEND_INTERVAL,
        jobs: JobReader | None = None,
    ) -> None:
        self.store = store
        self.gateway = gateway
        self.jobs = jobs
        # Owner of each watched job, so a member never gets telemetry of another member's job
        # (state events are filtered the same way by the gateway). Bounded: cleared when large.
        self.owners: dict[str, str] = {}
        self.stats = stats
        self.interval = interval
        self.pending: dict[str, PendingTelemetry] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False
        gateway.listeners.append(self._before_event)

    async def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._read(), name="telemetry-reader"),
            asyncio.create_task(self._send_loop(), name="telemetry-sender"),
        ]

    async def stop(self) -> None:
        self._stopping = True
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=1.0)

    def watched(self) -> set[str]:
        """Job ids some live client subscribed to by id."""
        ids: set[str] = set()
        for client in self.gateway.clients:
            if client.jobs is not None and client.live and not client.dropped:
                ids |= client.jobs
        return ids

    async def _read(self) -> None:
        await follow_stream(
            "telemetry stream",
            latest_id=self.store.latest_notice_id,
            read_after=lambda position: self.store.read_notices(position, READ_BLOCK_MS, READ_BATCH),
            handle=self._collect,
            stopping=lambda: self._stopping,
            idle=self._idle,
        )

    async def _idle(self) -> bool:
        """Wait while the process has no client (see follow_stream): with nobody to tell, the
        telemetry stream is not read at all; True when it waited."""
        if self.gateway.listened.is_set():
            return False
        await self.gateway.listened.wait()
        return True

    async def _collect(self, notices: Sequence[TelemetryNotice]) -> None:
        watched = self.watched()
        for notice in notices:
            if notice.job_id in watched:
                self.pending.setdefault(notice.job_id, PendingTelemetry()).add(notice)
        await self._learn_owners(set(self.pending) - set(self.owners))

    async def _learn_owners(self, job_ids: set[str]) -> None:
        if self.jobs is None or not job_ids:
            return
        if len(self.owners) > MAX_KNOWN_OWNERS:
            self.owners.clear()
        for job_id in job_ids:
            try:
                job = await self.jobs.get(job_id)
            except StoreUnavailable:
                return
            if job is not None:
                self.owners[job_id] = job.owner

    async def _send_loop(self) -> None:
        while not self._stopping:
            await asyncio.sleep(self.interval)
            with contextlib.suppress(Exception):
                self.send_pending()

    def _before_event(self, event: JobEvent) -> None:
        # A job's last samples and metrics go out ahead of its finishing event rather than up to
        # one interval after it: a watcher that stops reading at the finish still gets them.
        if event.job.state.finished and event.job.id in self.pending:
            self.send_pending(only=event.job.id)

    def send_pending(self, only: str | None = None) -> None:
        """Hand each job's coalesced frames (or only job `only`'s) to the clients subscribed to it."""
        if only is not None:
            pending = {only: self.pending.pop(only)} if only in self.pending else {}
        else:
            pending, self.pending = self.pending, {}
        if not pending:
            return
        clients = [c for c in self.gateway.clients if c.jobs is not None and c.live and not c.dropped]
        for job_id, waiting in pending.items():
            frames: list[str] | None = None
            owner = self.owners.get(job_id)
            for client in clients:
                if client.jobs is None or job_id not in client.jobs:
                    continue
                if client.owner is not None and client.owner != owner:
                    continue  # a member sees only its own jobs' telemetry (unknown owner: nobody's)
                if frames is None:
                    frames = waiting.frames(job_id)
                self._offer(client, frames)

    def _offer(self, client: GatewayClient, frames: list[str]) -> None:
        for frame in frames:
            if client.outbox.qsize() * 2 >= client.outbox.maxsize or not client.offer(frame):
                self.stats.telemetry_frames_skipped += 1
                continue
            self.stats.telemetry_frames_sent += 1

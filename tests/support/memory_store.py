"""An in-memory JobStore for unit tests of pure job logic (the job service's decision tables).

It keeps the contract's compare-and-set on `version` and the cancel flag read on save, and lets
a test slip a competing write in just before a save (`before_save`), which is how conflicts look.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from myspinbot import EventName, EventsTrimmed, Job, JobEvent, JobPage, JobState, JobStats, VersionConflict


class InMemoryJobStore:
    """Records, cancel flags, events and worker heartbeats in dicts; no I/O."""

    def __init__(self) -> None:
        self.jobs: dict[str, Job] = {}
        self.cancel_flags: set[str] = set()
        self.events: list[JobEvent] = []
        self.online: set[str] = set()
        self.idempotency: dict[str, str] = {}
        self.before_save: list[Callable[[InMemoryJobStore], object]] = []
        self.batches: dict[str, dict[str, Any]] = {}
        self.claimed: dict[str, str] = {}
        self.telemetry: Any = None  # the job service never touches telemetry
        self._ids = itertools.count(1)

    def put(self, job: Job) -> Job:
        """Store a record as a competing writer would, its version bumped; returns it."""
        stored = job.model_copy(update={"version": job.version + 1})
        self.jobs[job.id] = stored
        return stored

    def _append(self, name: EventName, job: Job) -> JobEvent:
        event = JobEvent(id=f"{next(self._ids)}-0", event=name, job=job)
        self.events.append(event)
        return event

    async def ping(self) -> None:
        return None

    async def create(
        self, job: Job, event: JobEvent, idempotency_key: str | None = None, *, record: str | None = None
    ) -> tuple[Job, bool]:
        if idempotency_key is not None and idempotency_key in self.idempotency:
            return self.jobs[self.idempotency[idempotency_key]], False
        if idempotency_key is not None:
            self.idempotency[idempotency_key] = job.id
        self.jobs[job.id] = job
        self._append(event.event, job)
        return job, True

    async def discard(self, job_id: str, idempotency_key: str | None = None) -> None:
        self.jobs.pop(job_id, None)
        if idempotency_key is not None:
            self.idempotency.pop(idempotency_key, None)

    async def get(self, job_id: str) -> Job | None:
        return self.jobs.get(job_id)

    async def existing(self, job_ids: list[str]) -> set[str]:
        return {job_id for job_id in job_ids if job_id in self.jobs}

    async def list_jobs(
        self,
        *,
        state: JobState | None = None,
        job_type: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> JobPage:
        jobs = [
            job
            for job in reversed(self.jobs.values())
            if (state is None or job.state == state) and (job_type is None or job.type == job_type)
        ]
        return JobPage(jobs=jobs[:limit], next_cursor=None)

    async def save(self, job: Job, event: EventName, expected_version: int) -> JobEvent:
        competing, self.before_save = self.before_save, []  # each runs once, just before this save
        for write in competing:
            write(self)
        stored = self.jobs.get(job.id)
        if stored is None or stored.version != expected_version:
            raise VersionConflict(job.id)
        written = job.model_copy(update={"version": expected_version + 1})
        self.jobs[job.id] = written
        appended = self._append(event, written)
        return appended.model_copy(update={"cancel_requested": job.id in self.cancel_flags})

    async def request_cancel(self, job_id: str) -> None:
        self.cancel_flags.add(job_id)

    async def cancel_requested(self, job_id: str) -> bool:
        return job_id in self.cancel_flags

    async def events_after(self, last_id: str, count: int = 1000) -> list[JobEvent]:
        if last_id != "0-0" and all(event.id != last_id for event in self.events):
            raise EventsTrimmed(last_id)
        ids = [event.id for event in self.events]
        start = ids.index(last_id) + 1 if last_id in ids else 0
        return self.events[start : start + count]

    async def read_events(self, last_id: str, block_ms: int, count: int = 500) -> list[JobEvent]:
        return [] if last_id == "$" else await self.events_after(last_id, count)

    async def latest_event_id(self) -> str:
        return self.events[-1].id if self.events else "0-0"

    async def active_jobs(self, limit: int = 500, owner: str | None = None) -> list[Job]:
        active = [job for job in reversed(self.jobs.values()) if not job.state.finished]
        return [job for job in active if owner is None or job.owner == owner][:limit]

    async def stats(self) -> JobStats:
        return JobStats()

    async def create_batch(self, batch_id: str, record: dict[str, Any], job_ids: list[str]) -> None:
        self.batches[batch_id] = record

    async def get_batch(self, batch_id: str) -> dict[str, Any] | None:
        return self.batches.get(batch_id)

    async def discard_batch(self, batch_id: str) -> None:
        self.batches.pop(batch_id, None)

    async def claim_key(self, name: str, value: str, ttl_seconds: float) -> str | None:
        holder = self.claimed.setdefault(name, value)
        return None if holder == value else holder

    async def release_key(self, name: str) -> None:
        self.claimed.pop(name, None)

    async def get_many(self, job_ids: list[str]) -> list[Job | None]:
        return [self.jobs.get(job_id) for job_id in job_ids]

    async def recent_durations(self, job_types: list[str]) -> dict[str, list[float]]:
        return {job_type: [] for job_type in job_types}

    async def workers(self) -> list[dict[str, Any]]:
        return [{"name": name} for name in sorted(self.online)]

    async def worker_gone(self, worker: str) -> None:
        self.online.discard(worker)

    async def workers_online(self) -> int:
        return len(self.online)

    async def worker_online(self, worker: str) -> bool:
        return worker in self.online

    async def acquire_lease(self, name: str, holder: str, ttl_seconds: float) -> bool:
        return True

    async def worker_heartbeat(self, worker: str, ttl_seconds: float, info: dict[str, Any] | None = None) -> None:
        self.online.add(worker)

    async def close(self) -> None:
        return None

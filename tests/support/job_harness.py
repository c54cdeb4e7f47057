"""A job service on an in-memory store, for the unit tests of its decision tables."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel

from myspinbot import EventName, Job, JobEvent, JobState, JobType
from myspinbot.core import lifecycle
from myspinbot.core.job_service import BrokerUnavailable, JobService
from myspinbot.core.queueing import Priority
from tests.support.memory_store import InMemoryJobStore

WORKER = "celery@host#aaaa"
DELIVERY = f"{WORKER}/101"
OTHER_WORKER = "celery@other#bbbb"
MAX_ATTEMPTS = 3


class NoParams(BaseModel):
    pass


JOB_TYPE = JobType(name="sleepy", title="Sleepy", params=NoParams, run=lambda ctx, params: None)


class RecordingQueue:
    """A job queue that records what was published, or refuses everything."""

    def __init__(self, *, down: bool = False) -> None:
        self.published: list[str] = []
        self.down = down

    async def publish(
        self, job_type: JobType, job_id: str, priority: Priority = Priority.NORMAL, *, queued: str | None = None
    ) -> None:
        if self.down:
            raise BrokerUnavailable("connection refused")
        self.published.append(job_id)

    def close(self) -> None:
        pass


class Harness:
    """A store, a service on it, and the events the service told its observers about."""

    def __init__(self) -> None:
        self.store = InMemoryJobStore()
        self.told: list[JobEvent] = []
        self.service = JobService(self.store, self.told.append, max_attempts=MAX_ATTEMPTS)

    def job(self, state: JobState = JobState.QUEUED, **fields: Any) -> Job:
        """A stored job in `state` (running and finished jobs have been started)."""
        job = lifecycle.new_job(uuid.uuid4().hex, JOB_TYPE.name, {}, [])
        if state != JobState.QUEUED:
            job = lifecycle.start(job, fields.pop("worker", DELIVERY))
        if state.finished:
            job = lifecycle.finish(job, state)
        return self.store.put(job.model_copy(update=fields))

    def told_names(self) -> list[EventName]:
        return [event.event for event in self.told]

"""The job store contract: records, cancel flags, the event stream and job statistics.

The store is the one source of truth for job state. The kernel decides *what* changes
(`myspinbot.core.lifecycle`); the store makes each change durable and atomic: the record, its
indexes, its statistics and its event are written together or not at all.
"""

from __future__ import annotations

import bisect
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar, runtime_checkable

from myspinbot.core.jobs import EventName, Job, JobEvent, JobState
from myspinbot.core.telemetry import TelemetryStore
from myspinbot_client.models import JobPage as JobPage  # a listing page is the wire's own `JobPage`

T = TypeVar("T")

# Upper bounds (seconds) of the job duration histogram's buckets; +Inf is implied.
DURATION_BUCKETS: tuple[float, ...] = (
    1,
    5,
    15,
    30,
    60,
    120,
    300,
    600,
    1800,
    3600,
    7200,
    21600,
)


def stream_key(event_id: str) -> tuple[int, int]:
    """An event id (a Redis-style stream id "millis-seq") as a pair that sorts like the ids."""
    millis, _, seq = event_id.partition("-")
    return int(millis), int(seq or 0)


def duration_seconds(job: Job) -> float | None:
    """How long a finished job ran, from its first start; None if it never started."""
    if job.started_at is None or job.finished_at is None:
        return None
    return max(0.0, (job.finished_at - job.started_at).total_seconds())


def duration_bucket(seconds: float) -> int:
    """Index of the histogram bucket a duration falls in (len(DURATION_BUCKETS) is +Inf)."""
    return bisect.bisect_left(DURATION_BUCKETS, seconds)


def run_blocking(call: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine that never suspends (a `blocking_job_store` call, or a job service action
    on such a store) to its end, without an event loop: it finishes at its first step.

    Raises RuntimeError, and closes the coroutine, if it suspends all the same (a store that
    awaits real I/O): without a loop nothing could ever resume it.
    """
    try:
        call.send(None)
    except StopIteration as done:
        result: T = done.value
        return result
    call.close()
    name = getattr(call, "__qualname__", repr(call))
    raise RuntimeError(f"{name} suspended: a blocking job store's calls must complete at once")


class StoreUnavailable(RuntimeError):
    """The store's backend cannot be reached; the API answers 503."""


class VersionConflict(RuntimeError):
    """The record changed since it was read; read it again and retry."""


class EventsTrimmed(LookupError):
    """The asked-for event id is older than the oldest event kept."""


@dataclass
class JobStats:
    """Global job counts, exact across every process that runs or submits jobs."""

    submitted: dict[str, int] = field(default_factory=dict)
    finished: dict[tuple[str, str], int] = field(default_factory=dict)
    running: dict[str, int] = field(default_factory=dict)
    duration_buckets: dict[str, list[int]] = field(default_factory=dict)  # cumulative, per DURATION_BUCKETS + Inf
    duration_sum: dict[str, float] = field(default_factory=dict)
    duration_count: dict[str, int] = field(default_factory=dict)
    telemetry_points: int = 0  # metric points ingested, every job
    telemetry_dropped: int = 0  # metric points refused because a job reached its bound


@dataclass(frozen=True)
class QueuedMessage:
    """A job's broker message, for a store that writes it in the same step as the job's record.

    LPUSHed onto the list `live`, or onto `held` while `queue` is a member of the set `paused`:
    what the publisher's own script does (myspinbot.worker.wire.PUBLISH). `broker` is the URL of
    the Redis the message is for: only a store on that very Redis may write it.
    """

    broker: str
    queue: str
    paused: str
    live: str
    held: str
    payload: bytes


class QueueingStore(Protocol):
    """A store on the broker's own Redis that enqueues a new job's message with its record.

    Optional: `JobService.submit` uses it when the store has it, and then a submit is one
    atomic write (record, event, message) instead of the store's and the publisher's two round
    trips, about a tenth of the API's CPU per submit (docs/performance.md).
    """

    @property
    def broker_url(self) -> str | None:
        """The Redis URL of the broker this store can enqueue on (its own Redis); None: none."""
        ...

    async def create_queued(
        self,
        job: Job,
        event: JobEvent,
        message: QueuedMessage,
        idempotency_key: str | None = None,
        *,
        record: str | None = None,
    ) -> tuple[Job, bool]:
        """As `create`; when it creates the job, `message` is pushed in the same step (an
        idempotent repeat writes and pushes nothing)."""
        ...


@runtime_checkable
class JobStore(Protocol):
    """What a storage plugin implements (returned from the `job_store` hook)."""

    telemetry: TelemetryStore
    """Metric points, logs and previews of the jobs, kept apart from records and state events."""

    async def ping(self) -> None:
        """Raise StoreUnavailable when the backend cannot be reached."""
        ...

    async def create(
        self, job: Job, event: JobEvent, idempotency_key: str | None = None, *, record: str | None = None
    ) -> tuple[Job, bool]:
        """Write a new job with its first event. With an idempotency key already used in the
        window, write nothing and return (the first job, False); else (job, True).

        `record` is `job.model_dump_json()` when the caller made it already (the submit path
        also sends it as the worker's start hint and as the 202's body): write it, do not
        serialise the job again."""
        ...

    async def discard(self, job_id: str, idempotency_key: str | None = None) -> None:
        """Remove a job that was never handed to a worker (used to undo a failed submit)."""
        ...

    async def get(self, job_id: str) -> Job | None: ...

    async def existing(self, job_ids: list[str]) -> set[str]:
        """Which of these job ids still have a record (one round trip, no record read)."""
        ...

    async def list_jobs(
        self,
        *,
        state: JobState | None = None,
        job_type: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
        owner: str | None = None,
    ) -> JobPage:
        """A page of jobs, newest first; with `owner`, only that user's jobs."""
        ...

    async def active_count(self, owner: str) -> int:
        """How many jobs of `owner` are queued or running (for MYSPINBOT_MAX_ACTIVE_JOBS_PER_USER)."""
        ...

    async def save(self, job: Job, event: EventName, expected_version: int) -> JobEvent:
        """Write `job` (its version bumped) and append its event if the stored version is still
        `expected_version`; raise VersionConflict otherwise. The returned event's
        `cancel_requested` tells whether the job's cancel flag is raised (read in the same trip)."""
        ...

    async def request_cancel(self, job_id: str) -> None:
        """Raise the cancel flag a running job's handler sees at its next step."""
        ...

    async def cancel_requested(self, job_id: str) -> bool: ...

    async def events_after(self, last_id: str, count: int = 1000) -> list[JobEvent]:
        """Events after `last_id` (exclusive), oldest first; EventsTrimmed if it is gone."""
        ...

    async def read_events(self, last_id: str, block_ms: int, count: int = 500) -> list[JobEvent]:
        """Wait up to `block_ms` for events after `last_id` ("$" for new ones only)."""
        ...

    async def latest_event_id(self) -> str: ...

    async def active_jobs(self, limit: int = 500, owner: str | None = None) -> list[Job]:
        """Jobs that are queued or running, newest first; with `owner`, only that user's (a
        member's `/ws` snapshot: read without going through other users' jobs)."""
        ...

    async def stats(self) -> JobStats: ...

    async def create_batch(self, batch_id: str, record: dict[str, Any], job_ids: list[str]) -> None:
        """Keep a batch's record and the set of its unfinished jobs; the save that finishes the last
        of them reports `batch_finished` on its event, and the record then expires with its jobs."""
        ...

    async def get_batch(self, batch_id: str) -> dict[str, Any] | None:
        """A batch's record as written by `create_batch`, or None."""
        ...

    async def discard_batch(self, batch_id: str) -> None:
        """Remove a batch that was never handed to the workers (undo of a failed batch submit)."""
        ...

    async def claim_key(self, name: str, value: str, ttl_seconds: float) -> str | None:
        """Take the name for `value` if free (None); else the value that holds it. Used for a
        batch's Idempotency-Key."""
        ...

    async def release_key(self, name: str) -> None:
        """Free a name taken with `claim_key`."""
        ...

    async def get_many(self, job_ids: list[str]) -> list[Job | None]:
        """Several jobs in one round trip, in the order asked (None for a missing one)."""
        ...

    async def recent_durations(self, job_types: list[str]) -> dict[str, list[float]]:
        """The last few run times (seconds, newest first) of each job type, for start estimates."""
        ...

    async def workers(self) -> list[dict[str, Any]]:
        """Every worker whose heartbeat is fresh, with the details its last heartbeat carried."""
        ...

    async def worker_gone(self, worker: str) -> None:
        """Forget a worker that stopped cleanly."""
        ...

    async def workers_online(self) -> int:
        """Workers whose heartbeat is fresh."""
        ...

    async def worker_online(self, worker: str) -> bool:
        """Whether this worker's heartbeat is fresh."""
        ...

    async def acquire_lease(self, name: str, holder: str, ttl_seconds: float) -> bool:
        """Take (or renew, if `holder` has it) a named lease; False when another holder has it.
        Used so that one API replica at a time runs periodic maintenance."""
        ...

    async def worker_heartbeat(self, worker: str, ttl_seconds: float, info: dict[str, Any] | None = None) -> None:
        """Mark the worker alive for `ttl_seconds`; `info` (host, queues, concurrency, resources)
        replaces the details kept for it."""
        ...

    async def close(self) -> None: ...

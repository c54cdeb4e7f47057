"""The job service: every action on a job record (submit, cancel, change, requeue, finish, begin).

The routes, the maintenance pass and the worker's runner all call it, so each decision is
written once: who may change a job, what a conflicting writer means, when an observer is told.
`myspinbot.core.lifecycle` says *what* a change is (pure functions of a job); this module reads
the record, applies the change with compare-and-set on its `version`, retries or steps aside on a
conflict, and hands each stored event to the `job_event` observers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol, cast

from myspinbot.core import lifecycle
from myspinbot.core.jobs import FINISH_EVENTS, EventName, Job, JobEvent, JobState
from myspinbot.core.queueing import Priority
from myspinbot.core.store import JobStore, QueuedMessage, QueueingStore, VersionConflict

if TYPE_CHECKING:
    from myspinbot.core.jobtypes import JobType
    from myspinbot.core.kernel import Kernel

log = logging.getLogger(__name__)

# A record that keeps changing this often under one writer is a bug, not contention.
MAX_CONFLICT_RETRIES = 20

Notify = Callable[[JobEvent], None]
Update = Callable[[Job], Job | None]


class BrokerUnavailable(RuntimeError):
    """The broker refused or could not take the message; nothing was queued."""


class JobQueue(Protocol):
    """Where a job's message goes (implemented by `myspinbot.worker.wire.JobPublisher`)."""

    async def publish(
        self, job_type: JobType, job_id: str, priority: Priority = Priority.NORMAL, *, queued: str | None = None
    ) -> None:
        """Enqueue the job's task at `priority`; raise BrokerUnavailable when the broker cannot take it.
        `queued` is the job's record at version 0, for `JobService.begin` (a hint the worker checks)."""
        ...

    def close(self) -> None:
        """Release connections and threads (the API's shutdown)."""
        ...


def queued_message(queue: JobQueue, job_type: JobType, job: Job, record: str) -> QueuedMessage | None:
    """The message `queue.publish` would send for `job`, if the queue can hand it to a store that
    writes it with the record (its optional `message` method); else None."""
    make = getattr(queue, "message", None)
    message = make(job_type, job.id, job.priority, queued=record) if make is not None else None
    return message if isinstance(message, QueuedMessage) else None


class JobNotFound(LookupError):
    """No record with this id (never made, or expired)."""


class JobAlreadyFinished(RuntimeError):
    """The action needs a queued or running job, and this one has finished."""

    def __init__(self, job: Job) -> None:
        super().__init__(f"job {job.id} is already {job.state.value}")
        self.job = job


class JobKeptChanging(RuntimeError):
    """Compare-and-set lost MAX_CONFLICT_RETRIES times in a row."""


class Saved(StrEnum):
    """What became of one `JobService.change`."""

    SAVED = "saved"  # written, and its event handed to the observers
    DECLINED = "declined"  # the update did not apply to the job as it stands (e.g. already finished)
    GONE = "gone"  # the record disappeared (expired or discarded)
    SUPERSEDED = "superseded"  # another delivery runs it now, or it finished under this delivery


@dataclass(frozen=True)
class Change:
    """The outcome of `JobService.change`: the job as it now stands and whether a cancel is asked."""

    saved: Saved
    job: Job
    cancel_requested: bool = False


class Delivery(StrEnum):
    """How one delivery of a job's message ended (what `execute_job` returns)."""

    RAN = "ran"  # the handler ran; the job ended in `state`
    MISSING = "missing"  # no record (expired or discarded): the message is dropped
    ALREADY_FINISHED = "already_finished"  # cancelled while queued, or a repeat of a finished job
    DUPLICATE = "duplicate"  # another delivery that is still alive runs this job
    SUPERSEDED = "superseded"  # taken over or finished by someone else while this delivery ran it
    EXHAUSTED = "exhausted"  # its workers were lost MYSPINBOT_MAX_ATTEMPTS times: failed, not run
    CANCELLED_BEFORE_START = "cancelled_before_start"  # the cancel flag was up when it was taken


@dataclass(frozen=True)
class RunOutcome:
    """One delivery's end: how it ended and the job's state as this delivery saw it last."""

    delivery: Delivery
    state: JobState | None = None

    def __str__(self) -> str:
        return f"{self.delivery.value} ({self.state.value})" if self.state else self.delivery.value


class Reaped(StrEnum):
    """What the maintenance pass did with one active job."""

    ALIVE = "alive"  # queued, unowned or its worker still beats: left alone
    REQUEUED = "requeued"  # its worker was lost: back on its queue
    FAILED = "failed"  # its worker was lost and its attempts are used (or its type is gone)
    MOVED = "moved"  # it changed while being judged: its worker is alive after all


def delivery_name(worker: str, pid: int) -> str:
    """Who runs a delivery: the worker's name and the PID of the (pool) process running it."""
    return f"{worker}/{pid}"


def split_delivery(delivery: str) -> tuple[str, int | None]:
    """A delivery name as (worker name, PID); records from before PIDs were kept have no PID."""
    worker, _, pid = delivery.rpartition("/")
    return (worker, int(pid)) if worker and pid.isdigit() else (delivery, None)


def finishing(state: JobState, **details: Any) -> Update:
    """An update that finishes a job unless it is already finished."""
    return lambda job: None if job.state.finished else lifecycle.finish(job, state, **details)


def starting(delivery: str) -> Update:
    """An update that marks a job running under `delivery` unless it is already finished."""
    return lambda job: None if job.state.finished else lifecycle.start(job, delivery)


class JobService:
    """Job actions on one store; one instance per store (the API's, or a worker thread's)."""

    def __init__(self, store: JobStore, notify: Notify, *, max_attempts: int) -> None:
        self.store = store
        self.notify = notify
        self.max_attempts = max_attempts
        # A store that can enqueue a job's message with its record (see QueueingStore).
        self.queueing_store = cast(QueueingStore, store) if callable(getattr(store, "create_queued", None)) else None

    @classmethod
    def of(cls, kernel: Kernel, store: JobStore | None = None) -> JobService:
        """The service on `store` (default: the kernel's), telling the kernel's observers."""
        return cls(store or kernel.store, kernel.notify, max_attempts=kernel.settings.max_attempts)

    # --- the API's actions ---

    async def submit(
        self,
        job: Job,
        job_type: JobType,
        queue: JobQueue,
        idempotency_key: str | None = None,
        *,
        record: str | None = None,
    ) -> tuple[Job, bool]:
        """Write a new job and publish its message. Returns (job, created); an idempotent repeat
        returns the first job and publishes nothing. If the publish fails the record is removed
        and BrokerUnavailable propagates: a job is never left queued without a message.

        `record` is `job.model_dump_json()` if the caller made it (for its answer): the store
        writes it and the message carries it, so a submit serialises its job once."""
        queued = JobEvent(event=EventName.QUEUED, job=job)
        record = record if record is not None else job.model_dump_json()
        store = self.queueing_store
        message = queued_message(queue, job_type, job, record) if store is not None else None
        if store is not None and message is not None and message.broker == store.broker_url:
            # One atomic write: record, event and message, or nothing at all (see QueueingStore).
            stored, created = await store.create_queued(job, queued, message, idempotency_key, record=record)
            if created:
                self.notify(queued)
            return stored, created
        stored, created = await self.store.create(job, queued, idempotency_key, record=record)
        if not created:
            return stored, False
        try:
            await queue.publish(job_type, job.id, job.priority, queued=record)
        except BrokerUnavailable:
            await self.store.discard(job.id, idempotency_key)
            raise
        self.notify(queued)
        return stored, True

    async def cancel(self, job_id: str) -> Job:
        """Cancel a job: a queued one at once, a running one through the flag its handler reads at
        its next step. Raises JobNotFound, JobAlreadyFinished or JobKeptChanging."""
        for _ in range(MAX_CONFLICT_RETRIES):
            job = await self.store.get(job_id)
            if job is None:
                raise JobNotFound(job_id)
            if job.state.finished:
                raise JobAlreadyFinished(job)
            # Raised first even when queued, so a worker taking the job right now still sees it.
            await self.store.request_cancel(job_id)
            if job.state == JobState.RUNNING:
                return job.model_copy(update={"message": "cancelling"})
            cancelled = lifecycle.finish(job, JobState.CANCELLED, message="cancelled before it started")
            try:
                event = await self.store.save(cancelled, EventName.CANCELLED, job.version)
            except VersionConflict:
                continue  # a worker just took it: look again
            self.notify(event)
            return event.job
        raise JobKeptChanging(f"job {job_id} kept changing; try again")

    async def reap(self, job: Job, job_type: JobType | None, queue: JobQueue) -> Reaped:
        """Requeue a running job whose worker stopped beating, or fail it once its attempts are
        used (MYSPINBOT_MAX_ATTEMPTS) or its job type is no longer installed."""
        if job.state != JobState.RUNNING or not job.worker:
            return Reaped.ALIVE
        if await self.store.worker_online(split_delivery(job.worker)[0]):
            return Reaped.ALIVE
        try:
            if job_type is None or job.attempts >= self.max_attempts:
                reason = f"worker {job.worker} was lost while running this job, {job.attempts} attempt(s) used"
                failed = lifecycle.finish(job, JobState.FAILED, error=reason)
                event = await self.store.save(failed, EventName.FAILED, job.version)
                verdict = Reaped.FAILED
            else:
                lost = job.model_copy(update={"worker": None, "message": f"worker {job.worker} was lost; re-queued"})
                event = await self.store.save(lost, EventName.PROGRESS, job.version)
                await queue.publish(job_type, job.id, job.priority)
                verdict = Reaped.REQUEUED
        except VersionConflict:
            return Reaped.MOVED  # no retry: a change means its worker is alive after all
        self.notify(event)
        log.warning("job %s: %s", job.id, event.job.error or event.job.message)
        return verdict

    # --- the worker's actions ---

    async def change(self, job: Job, update: Update, event: EventName, *, delivery: str | None = None) -> Change:
        """Apply `update` to `job` and save it with compare-and-set; on a conflict re-read and
        retry. With `delivery` (a worker running the job), a job that another delivery took over
        or that finished meanwhile is SUPERSEDED, and this delivery's artifacts win over the
        re-read record's (the running delivery is the only one that adds them)."""
        current = job
        for _ in range(MAX_CONFLICT_RETRIES):
            changed = update(current)
            if changed is None:
                return Change(Saved.DECLINED, current)
            try:
                stored = await self.store.save(changed, event, current.version)
            except VersionConflict:
                fresh = await self.store.get(current.id)
                if fresh is None:
                    return Change(Saved.GONE, current)
                if delivery:
                    taken_over = fresh.state == JobState.RUNNING and fresh.worker not in (None, delivery)
                    if taken_over or fresh.state.finished:
                        log.warning("job %s is %s (%s); %s stops", fresh.id, fresh.state.value, fresh.worker, delivery)
                        return Change(Saved.SUPERSEDED, fresh)
                    fresh = fresh.model_copy(update={"artifacts": current.artifacts or fresh.artifacts})
                current = fresh
                continue
            self.notify(stored)
            return Change(Saved.SAVED, stored.job, stored.cancel_requested)
        raise JobKeptChanging(f"job {job.id} kept changing under {delivery or 'the API'}")

    async def finish(self, job: Job, state: JobState, *, delivery: str | None = None, **details: Any) -> Change:
        """Put the job in a final state (declined if it already is in one)."""
        return await self.change(job, finishing(state, **details), FINISH_EVENTS[state], delivery=delivery)

    async def holder_alive(self, job: Job, worker: str, delivery: str, sibling_alive: Callable[[int], bool]) -> bool:
        """Whether another delivery that still lives holds this running job: a worker that beats
        (another worker), or a live pool process of this very worker."""
        if job.state != JobState.RUNNING or not job.worker or job.worker == delivery:
            return False
        owner, owner_pid = split_delivery(job.worker)
        if owner != worker:
            return await self.store.worker_online(owner)
        return owner_pid is not None and sibling_alive(owner_pid)

    async def begin(
        self,
        job_id: str,
        worker: str,
        delivery: str,
        sibling_alive: Callable[[int], bool],
        queued: Job | None = None,
    ) -> tuple[RunOutcome | None, Job | None]:
        """Take a delivered job: (None, the running job) when its handler should run now, else
        (how this delivery ends, the job as found) without calling the handler.

        With `queued` (the record as the API queued it, carried by the message), a job still at
        that version starts in one round trip: the start is saved with compare-and-set on version
        0, which fails if anything changed the record since (a cancel, a priority change, an
        earlier delivery's start); then the record is read and judged as without the hint. The
        copy is trusted only that far: version 0 is written by the submit's create alone, with
        exactly the JSON the API then put in the message."""
        if queued is not None and queued.id == job_id and queued.version == 0 and queued.state == JobState.QUEUED:
            try:
                event = await self.store.save(lifecycle.start(queued, delivery), EventName.STARTED, 0)
            except KeyError:
                return _missing(job_id)
            except VersionConflict:
                pass  # changed since it was queued: read it below
            else:
                self.notify(event)
                return await self._started(Change(Saved.SAVED, event.job, event.cancel_requested), delivery)
        job = await self.store.get(job_id)
        if job is None:
            return _missing(job_id)
        if job.state.finished:
            return RunOutcome(Delivery.ALREADY_FINISHED, job.state), job
        if await self.holder_alive(job, worker, delivery, sibling_alive):
            return RunOutcome(Delivery.DUPLICATE, job.state), job
        if job.state == JobState.RUNNING and job.attempts >= self.max_attempts:
            reason = f"worker lost {job.attempts} times while running this job (MYSPINBOT_MAX_ATTEMPTS)"
            failed = await self.finish(job, JobState.FAILED, delivery=delivery, error=reason)
            return RunOutcome(Delivery.EXHAUSTED, failed.job.state), failed.job
        started = await self.change(job, starting(delivery), EventName.STARTED, delivery=delivery)
        return await self._started(started, delivery)

    async def _started(self, started: Change, delivery: str) -> tuple[RunOutcome | None, Job | None]:
        """How a delivery goes on after saving its start (or failing to)."""
        if started.saved == Saved.SUPERSEDED:
            return RunOutcome(Delivery.DUPLICATE, started.job.state), started.job
        if started.saved != Saved.SAVED:
            delivery_end = Delivery.MISSING if started.saved == Saved.GONE else Delivery.ALREADY_FINISHED
            return RunOutcome(delivery_end, started.job.state), started.job
        if started.cancel_requested:  # cancelled while the message was on its way: never run it
            cancelled = await self.finish(started.job, JobState.CANCELLED, delivery=delivery)
            return RunOutcome(Delivery.CANCELLED_BEFORE_START, cancelled.job.state), cancelled.job
        return None, started.job


def _missing(job_id: str) -> tuple[RunOutcome, None]:
    """A delivery of a job whose record is gone (expired or discarded): its task is dropped."""
    log.warning("job %s has no record (expired or discarded); dropping its task", job_id)
    return RunOutcome(Delivery.MISSING), None

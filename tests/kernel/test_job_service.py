"""The job service's decision tables, on an in-memory store (pure logic, milliseconds)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from pydantic import BaseModel

from myspinbot import EventName, Job, JobEvent, JobState, JobType
from myspinbot.core import lifecycle
from myspinbot.core.job_service import (
    BrokerUnavailable,
    Delivery,
    JobAlreadyFinished,
    JobKeptChanging,
    JobNotFound,
    JobService,
    Reaped,
    RunOutcome,
    Saved,
    split_delivery,
)
from myspinbot.core.jobs import FINISHED_STATES
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

    async def publish(self, job_type: JobType, job_id: str, priority: Priority = Priority.NORMAL) -> None:
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


@pytest.fixture
def harness() -> Harness:
    return Harness()


def no_sibling(pid: int) -> bool:
    return False


def live_sibling(pid: int) -> bool:
    return True


# --- lifecycle: monotonic progress and state transitions ---


@pytest.mark.parametrize(
    ("before", "step", "total", "after"),
    [
        (0.0, 1, 4, 0.25),  # a first step
        (0.25, 2, 4, 0.5),  # forward
        (0.5, 1, 4, 0.5),  # a step back (a restarted attempt) never lowers progress
        (0.5, 1, 10, 0.5),  # a new stage with more steps neither
        (0.9, 9, 4, 1.0),  # past the total caps at 1
    ],
)
def test_progress_only_rises(before: float, step: int, total: int, after: float) -> None:
    """`advance` keeps the highest progress seen, capped at 1, whatever the step says."""
    job = Harness().job(JobState.RUNNING, progress=before)
    assert lifecycle.advance(job, step, total, "m").progress == after


@pytest.mark.parametrize(
    ("state", "allowed"),
    [(JobState.QUEUED, True), (JobState.RUNNING, True)] + [(state, False) for state in FINISHED_STATES],
)
def test_only_unfinished_jobs_start(state: JobState, allowed: bool) -> None:
    """A queued or (re-delivered) running job may start; a finished one may not."""
    job = Harness().job(state)
    if allowed:
        started = lifecycle.start(job, DELIVERY)
        assert (started.state, started.attempts) == (JobState.RUNNING, job.attempts + 1)
    else:
        with pytest.raises(lifecycle.InvalidTransition):
            lifecycle.start(job, DELIVERY)


@pytest.mark.parametrize("final", sorted(FINISHED_STATES))
def test_a_finished_job_never_finishes_again(final: JobState) -> None:
    """Finishing is only from queued or running, and only into a final state."""
    finished = Harness().job(final)
    for state in FINISHED_STATES:
        with pytest.raises(lifecycle.InvalidTransition):
            lifecycle.finish(finished, state)
    with pytest.raises(lifecycle.InvalidTransition):
        lifecycle.finish(Harness().job(JobState.RUNNING), JobState.QUEUED)


# --- cancel ---


async def test_cancelling_a_queued_job_finishes_it_at_once(harness: Harness) -> None:
    """Queued: cancelled now, the flag raised for a worker taking it, observers told."""
    job = harness.job()
    cancelled = await harness.service.cancel(job.id)
    assert cancelled.state == JobState.CANCELLED
    assert harness.store.jobs[job.id].state == JobState.CANCELLED
    assert job.id in harness.store.cancel_flags
    assert harness.told_names() == [EventName.CANCELLED]


async def test_cancelling_a_running_job_raises_its_flag_only(harness: Harness) -> None:
    """Running: the record stays running (its handler stops at its next step), no event yet."""
    job = harness.job(JobState.RUNNING)
    answer = await harness.service.cancel(job.id)
    assert (answer.state, answer.message) == (JobState.RUNNING, "cancelling")
    assert harness.store.jobs[job.id] == job
    assert job.id in harness.store.cancel_flags
    assert harness.told == []


@pytest.mark.parametrize("final", sorted(FINISHED_STATES))
async def test_cancelling_a_finished_job_is_refused(harness: Harness, final: JobState) -> None:
    """Finished: refused (the API's 409), nothing written, no flag."""
    job = harness.job(final)
    with pytest.raises(JobAlreadyFinished) as refused:
        await harness.service.cancel(job.id)
    assert refused.value.job.state == final
    assert harness.store.cancel_flags == set()


async def test_cancelling_an_unknown_job_is_not_found(harness: Harness) -> None:
    """No record: JobNotFound (the API's 404)."""
    with pytest.raises(JobNotFound):
        await harness.service.cancel(uuid.uuid4().hex)


async def test_a_cancel_that_races_a_worker_taking_the_job_looks_again(harness: Harness) -> None:
    """The job is taken just before the cancel's save: the retry sees it running and leaves it to the flag."""
    job = harness.job()
    harness.store.before_save.append(lambda store: store.put(lifecycle.start(job, DELIVERY)))
    answer = await harness.service.cancel(job.id)
    assert (answer.state, answer.message) == (JobState.RUNNING, "cancelling")
    assert harness.store.jobs[job.id].state == JobState.RUNNING
    assert job.id in harness.store.cancel_flags


async def test_a_record_that_never_stops_changing_gives_up(harness: Harness) -> None:
    """Compare-and-set lost every time: JobKeptChanging (the API's 409 conflict), not a loop forever."""
    job = harness.job()

    def bump(store: InMemoryJobStore) -> None:
        store.put(store.jobs[job.id])
        store.before_save.append(bump)

    harness.store.before_save.append(bump)
    with pytest.raises(JobKeptChanging):
        await harness.service.cancel(job.id)


# --- change: the worker's writes under conflicts ---


async def test_a_conflict_with_a_progress_write_is_retried(harness: Harness) -> None:
    """Another write (e.g. the API's) in between: re-read, re-apply, save; the delivery's artifacts kept."""
    job = harness.job(JobState.RUNNING)
    local = lifecycle.with_artifact(job, "out.txt", "text/plain", 4)
    harness.store.before_save.append(lambda store: store.put(job.model_copy(update={"message": "elsewhere"})))
    change = await harness.service.change(
        local, lambda current: lifecycle.advance(current, 1, 2, "half"), EventName.PROGRESS, delivery=DELIVERY
    )
    assert change.saved == Saved.SAVED
    stored = harness.store.jobs[job.id]
    assert (stored.progress, stored.message, [a.name for a in stored.artifacts]) == (0.5, "half", ["out.txt"])
    assert harness.told_names() == [EventName.PROGRESS]


@pytest.mark.parametrize(
    "competing",
    [
        pytest.param(lambda job: lifecycle.start(job, f"{OTHER_WORKER}/7"), id="taken-over"),
        pytest.param(lambda job: lifecycle.finish(job, JobState.FAILED, error="lost"), id="finished-by-reaper"),
    ],
)
async def test_a_delivery_that_lost_its_job_steps_aside(harness: Harness, competing: Any) -> None:
    """Taken over by another delivery, or finished under it: SUPERSEDED, nothing written, nobody told."""
    job = harness.job(JobState.RUNNING)
    harness.store.before_save.append(lambda store: store.put(competing(job)))
    change = await harness.service.change(
        job, lambda current: lifecycle.advance(current, 1, 2, "half"), EventName.PROGRESS, delivery=DELIVERY
    )
    assert change.saved == Saved.SUPERSEDED
    assert harness.store.jobs[job.id].progress == 0.0
    assert harness.told == []


async def test_a_change_to_a_vanished_record_is_gone(harness: Harness) -> None:
    """The record expired or was discarded under the writer: GONE, nothing recreated."""
    job = harness.job(JobState.RUNNING)
    harness.store.before_save.append(lambda store: store.jobs.pop(job.id))
    change = await harness.service.finish(job, JobState.SUCCEEDED, delivery=DELIVERY)
    assert change.saved == Saved.GONE
    assert job.id not in harness.store.jobs


async def test_finishing_a_finished_job_is_declined(harness: Harness) -> None:
    """The finish update declines on a job already final: nothing written, nobody told."""
    job = harness.job(JobState.CANCELLED)
    change = await harness.service.finish(job, JobState.SUCCEEDED)
    assert (change.saved, harness.store.jobs[job.id].state, harness.told) == (Saved.DECLINED, JobState.CANCELLED, [])


# --- begin: what a delivery does with the job it was handed ---


async def test_a_queued_job_is_started_and_run(harness: Harness) -> None:
    """Queued: marked running under this delivery (first attempt); the handler runs."""
    job = harness.job()
    stopped, running = await harness.service.begin(job.id, WORKER, DELIVERY, no_sibling)
    assert stopped is None and running is not None
    assert (running.state, running.worker, running.attempts) == (JobState.RUNNING, DELIVERY, 1)
    assert harness.told_names() == [EventName.STARTED]


async def test_a_message_without_a_record_is_dropped(harness: Harness) -> None:
    """No record (expired or discarded): MISSING."""
    assert await harness.service.begin(uuid.uuid4().hex, WORKER, DELIVERY, no_sibling) == (
        RunOutcome(Delivery.MISSING),
        None,
    )


@pytest.mark.parametrize("final", sorted(FINISHED_STATES))
async def test_a_repeat_of_a_finished_job_does_nothing(harness: Harness, final: JobState) -> None:
    """Finished (cancelled while queued, or run already): ALREADY_FINISHED, nothing written."""
    job = harness.job(final)
    stopped, _ = await harness.service.begin(job.id, WORKER, DELIVERY, no_sibling)
    assert stopped == RunOutcome(Delivery.ALREADY_FINISHED, final)
    assert harness.store.jobs[job.id] == job


@pytest.mark.parametrize(
    ("holder", "holder_online", "sibling", "verdict"),
    [
        (f"{OTHER_WORKER}/7", True, no_sibling, Delivery.DUPLICATE),  # a late redelivery; its worker beats
        (f"{OTHER_WORKER}/7", False, no_sibling, None),  # its worker died: this delivery restarts it
        (f"{WORKER}/202", True, live_sibling, Delivery.DUPLICATE),  # a pool sibling of this worker runs it
        (f"{WORKER}/202", True, no_sibling, None),  # that sibling died (the pool replaced it): restart
        (OTHER_WORKER, False, no_sibling, None),  # an old record without a PID, its worker gone
    ],
)
async def test_a_running_job_is_restarted_only_when_its_holder_is_gone(
    harness: Harness, holder: str, holder_online: bool, sibling: Any, verdict: Delivery | None
) -> None:
    """The duplicate / restart table of a delivery that finds its job running under another one."""
    job = harness.job(JobState.RUNNING, worker=holder)
    if holder_online:
        harness.store.online.add(split_delivery(holder)[0])
    stopped, found = await harness.service.begin(job.id, WORKER, DELIVERY, sibling)
    if verdict is None:
        assert stopped is None and found is not None
        assert (found.worker, found.attempts) == (DELIVERY, 2)
        assert found.message == "restarting (attempt 2)"
    else:
        assert stopped == RunOutcome(verdict, JobState.RUNNING)
        assert harness.store.jobs[job.id] == job


async def test_a_job_lost_too_often_fails_without_running(harness: Harness) -> None:
    """Running with its attempts used (MYSPINBOT_MAX_ATTEMPTS): EXHAUSTED, failed with a reason."""
    job = harness.job(JobState.RUNNING, worker=f"{OTHER_WORKER}/7", attempts=MAX_ATTEMPTS)
    stopped, failed = await harness.service.begin(job.id, WORKER, DELIVERY, no_sibling)
    assert stopped == RunOutcome(Delivery.EXHAUSTED, JobState.FAILED)
    assert failed is not None and "MYSPINBOT_MAX_ATTEMPTS" in (failed.error or "")
    assert harness.told_names() == [EventName.FAILED]


async def test_a_job_cancelled_on_its_way_is_never_run(harness: Harness) -> None:
    """The cancel flag is up when the delivery starts the job: started, then cancelled, handler not run."""
    job = harness.job()
    await harness.store.request_cancel(job.id)
    stopped, cancelled = await harness.service.begin(job.id, WORKER, DELIVERY, no_sibling)
    assert stopped == RunOutcome(Delivery.CANCELLED_BEFORE_START, JobState.CANCELLED)
    assert cancelled is not None and harness.store.jobs[job.id] == cancelled
    assert harness.told_names() == [EventName.STARTED, EventName.CANCELLED]


async def test_a_job_taken_while_being_started_is_a_duplicate(harness: Harness) -> None:
    """Another delivery starts it between the read and the start's save: DUPLICATE, nothing written."""
    job = harness.job()
    harness.store.before_save.append(lambda store: store.put(lifecycle.start(job, f"{OTHER_WORKER}/7")))
    stopped, _ = await harness.service.begin(job.id, WORKER, DELIVERY, no_sibling)
    assert stopped == RunOutcome(Delivery.DUPLICATE, JobState.RUNNING)
    assert harness.store.jobs[job.id].worker == f"{OTHER_WORKER}/7"


# --- reap: the maintenance pass on one active job ---


@pytest.mark.parametrize(
    ("state", "online", "attempts", "job_type", "verdict", "final_state"),
    [
        (JobState.QUEUED, False, 0, JOB_TYPE, Reaped.ALIVE, JobState.QUEUED),
        (JobState.RUNNING, True, 1, JOB_TYPE, Reaped.ALIVE, JobState.RUNNING),
        (JobState.RUNNING, False, 1, JOB_TYPE, Reaped.REQUEUED, JobState.RUNNING),
        (JobState.RUNNING, False, MAX_ATTEMPTS, JOB_TYPE, Reaped.FAILED, JobState.FAILED),
        (JobState.RUNNING, False, 1, None, Reaped.FAILED, JobState.FAILED),  # its plugin is gone
    ],
)
async def test_the_reaper_table(
    harness: Harness,
    state: JobState,
    online: bool,
    attempts: int,
    job_type: JobType | None,
    verdict: Reaped,
    final_state: JobState,
) -> None:
    """Lost jobs are re-queued (worker cleared, message republished) or failed; live ones left alone."""
    job = harness.job(state, worker=f"{OTHER_WORKER}/7", attempts=attempts)
    if online:
        harness.store.online.add(OTHER_WORKER)
    queue = RecordingQueue()
    assert await harness.service.reap(job, job_type, queue) == verdict
    stored = harness.store.jobs[job.id]
    assert stored.state == final_state
    assert queue.published == ([job.id] if verdict == Reaped.REQUEUED else [])
    if verdict == Reaped.REQUEUED:
        assert stored.worker is None
    assert len(harness.told) == (1 if verdict in (Reaped.REQUEUED, Reaped.FAILED) else 0)


async def test_a_job_that_moves_while_reaped_is_left_alone(harness: Harness) -> None:
    """A write lands between the read and the reaper's save: MOVED, nothing republished."""
    job = harness.job(JobState.RUNNING, worker=f"{OTHER_WORKER}/7")
    harness.store.before_save.append(lambda store: store.put(lifecycle.advance(job, 1, 2, "still going")))
    queue = RecordingQueue()
    assert await harness.service.reap(job, JOB_TYPE, queue) == Reaped.MOVED
    assert queue.published == []


# --- submit ---


async def test_submit_writes_publishes_and_tells(harness: Harness) -> None:
    """A new job: recorded, its message published, `job.queued` told."""
    job = lifecycle.new_job(uuid.uuid4().hex, JOB_TYPE.name, {}, [])
    queue = RecordingQueue()
    stored, created = await harness.service.submit(job, JOB_TYPE, queue, "key-1")
    assert created and stored.id in harness.store.jobs
    assert queue.published == [job.id]
    assert harness.told_names() == [EventName.QUEUED]


async def test_an_idempotent_repeat_publishes_nothing(harness: Harness) -> None:
    """The same key again: the first job back, no second record, no second message."""
    queue = RecordingQueue()
    first, _ = await harness.service.submit(lifecycle.new_job(uuid.uuid4().hex, "sleepy", {}, []), JOB_TYPE, queue, "k")
    again, created = await harness.service.submit(
        lifecycle.new_job(uuid.uuid4().hex, "sleepy", {}, []), JOB_TYPE, queue, "k"
    )
    assert (created, again.id, queue.published, len(harness.store.jobs)) == (False, first.id, [first.id], 1)


async def test_a_refused_publish_leaves_no_record(harness: Harness) -> None:
    """Broker down: BrokerUnavailable, the record discarded and its key free again, nobody told."""
    job = lifecycle.new_job(uuid.uuid4().hex, JOB_TYPE.name, {}, [])
    with pytest.raises(BrokerUnavailable):
        await harness.service.submit(job, JOB_TYPE, RecordingQueue(down=True), "key-2")
    assert (harness.store.jobs, harness.store.idempotency, harness.told) == ({}, {}, [])

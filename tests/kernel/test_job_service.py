"""The job service's decision tables for the API's actions and the worker's writes: cancel,
compare-and-set changes under conflicts, submit; on an in-memory store (pure logic, milliseconds)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from myspinbot import EventName, JobState
from myspinbot.core import lifecycle
from myspinbot.core.job_service import (
    BrokerUnavailable,
    JobAlreadyFinished,
    JobKeptChanging,
    JobNotFound,
    Saved,
)
from myspinbot.core.jobs import FINISHED_STATES
from tests.support.job_harness import (
    DELIVERY,
    JOB_TYPE,
    OTHER_WORKER,
    Harness,
    RecordingQueue,
)
from tests.support.memory_store import InMemoryJobStore


@pytest.fixture
def harness() -> Harness:
    return Harness()


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

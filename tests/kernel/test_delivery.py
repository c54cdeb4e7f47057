"""The job service's delivery tables: what a worker does with the job it was handed (begin), and
what the maintenance pass does with a running job (reap); on an in-memory store."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from myspinbot import EventName, Job, JobEvent, JobState, JobType
from myspinbot.core import lifecycle
from myspinbot.core.job_service import (
    Delivery,
    Reaped,
    RunOutcome,
    split_delivery,
)
from myspinbot.core.jobs import FINISHED_STATES
from tests.support.job_harness import (
    DELIVERY,
    JOB_TYPE,
    MAX_ATTEMPTS,
    OTHER_WORKER,
    WORKER,
    Harness,
    RecordingQueue,
)


@pytest.fixture
def harness() -> Harness:
    return Harness()


def no_sibling(pid: int) -> bool:
    return False


def live_sibling(pid: int) -> bool:
    return True


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


# --- begin with the queued record the message carries (one round trip instead of two) ---


async def created(harness: Harness) -> Job:
    """A job as the API's submit writes it: version 0, queued (the record the message carries)."""
    job = lifecycle.new_job(uuid.uuid4().hex, JOB_TYPE.name, {}, [])
    stored, _ = await harness.store.create(job, JobEvent(event=EventName.QUEUED, job=job))
    assert stored.version == 0
    return stored


class CountingReads:
    """Counts the store's record reads (the hint's point is to need none)."""

    def __init__(self, harness: Harness) -> None:
        self.reads = 0
        real = harness.store.get

        async def get(job_id: str) -> Any:
            self.reads += 1
            return await real(job_id)

        harness.store.get = get  # type: ignore[method-assign]


async def test_a_queued_job_with_its_hint_starts_without_reading_its_record(harness: Harness) -> None:
    job = await created(harness)
    reads = CountingReads(harness)
    stopped, running = await harness.service.begin(job.id, WORKER, DELIVERY, no_sibling, queued=job)
    assert stopped is None and running is not None
    assert (running.state, running.worker, running.attempts, running.version) == (JobState.RUNNING, DELIVERY, 1, 1)
    assert harness.store.jobs[job.id] == running
    assert reads.reads == 0
    assert harness.told_names() == [EventName.STARTED]


async def test_a_stale_hint_is_judged_on_the_record_cancelled_while_queued(harness: Harness) -> None:
    """The job was cancelled after it was queued (version 1): the start's set fails, the record
    is read, and the delivery ends ALREADY_FINISHED without writing anything."""
    queued = await created(harness)
    cancelled = harness.store.put(lifecycle.finish(queued, JobState.CANCELLED))
    reads = CountingReads(harness)
    stopped, _ = await harness.service.begin(queued.id, WORKER, DELIVERY, no_sibling, queued=queued)
    assert stopped == RunOutcome(Delivery.ALREADY_FINISHED, JobState.CANCELLED)
    assert harness.store.jobs[queued.id] == cancelled
    assert reads.reads == 1 and harness.told == []


async def test_a_stale_hint_of_a_job_another_live_delivery_runs_is_a_duplicate(harness: Harness) -> None:
    queued = await created(harness)
    running = harness.store.put(lifecycle.start(queued, f"{OTHER_WORKER}/7"))
    harness.store.online.add(OTHER_WORKER)
    stopped, _ = await harness.service.begin(queued.id, WORKER, DELIVERY, no_sibling, queued=queued)
    assert stopped == RunOutcome(Delivery.DUPLICATE, JobState.RUNNING)
    assert harness.store.jobs[queued.id] == running


async def test_a_hint_without_a_record_is_dropped(harness: Harness) -> None:
    ghost = lifecycle.new_job(uuid.uuid4().hex, JOB_TYPE.name, {}, [])
    assert await harness.service.begin(ghost.id, WORKER, DELIVERY, no_sibling, queued=ghost) == (
        RunOutcome(Delivery.MISSING),
        None,
    )


async def test_a_hinted_job_cancelled_on_its_way_is_never_run(harness: Harness) -> None:
    job = await created(harness)
    await harness.store.request_cancel(job.id)
    stopped, cancelled = await harness.service.begin(job.id, WORKER, DELIVERY, no_sibling, queued=job)
    assert stopped == RunOutcome(Delivery.CANCELLED_BEFORE_START, JobState.CANCELLED)
    assert cancelled is not None and harness.store.jobs[job.id] == cancelled
    assert harness.told_names() == [EventName.STARTED, EventName.CANCELLED]


async def test_a_hint_of_another_job_is_ignored(harness: Harness) -> None:
    """A message whose copy names another job (damaged, or forged) never writes that job."""
    job, other = await created(harness), await created(harness)
    stopped, running = await harness.service.begin(job.id, WORKER, DELIVERY, no_sibling, queued=other)
    assert stopped is None and running is not None and running.id == job.id
    assert harness.store.jobs[other.id] == other


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

"""`execute_job`'s typed outcome, end to end through the kernel, on an in-memory store (no Redis)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from myspinbot import EventName, JobContext, JobState, JobType, Settings, hookimpl
from myspinbot.core import lifecycle
from myspinbot.core.job_service import Delivery, RunOutcome
from myspinbot.core.kernel import Kernel
from myspinbot.core.plugins import make_plugin_manager
from myspinbot.worker.runner import execute_job
from tests.support.memory_store import InMemoryJobStore

WORKER = "celery@test#cafe"


class NoParams(BaseModel):
    pass


Handler = Callable[[JobContext, NoParams], Mapping[str, Any] | None]


class MemoryPlugin:
    """Provides the in-memory store and one job type whose handler the test chooses."""

    def __init__(self, store: InMemoryJobStore, handler: Handler) -> None:
        self.store = store
        self.handler = handler

    @hookimpl
    def job_store(self) -> InMemoryJobStore:
        return self.store

    @hookimpl
    def register_job_types(self) -> list[JobType]:
        return [JobType(name="unit", title="Unit", params=NoParams, run=self.handler)]


def run_once(tmp_path: Path, handler_on: Callable[[InMemoryJobStore], Handler]) -> tuple[RunOutcome, InMemoryJobStore]:
    """Queue one job on a fresh in-memory store and run one delivery of it; `handler_on(store)`
    makes the handler, so it can play a competing writer on that store."""
    settings = Settings(data_dir=tmp_path, _env_file=None)
    store = InMemoryJobStore()
    job = store.put(lifecycle.new_job(uuid.uuid4().hex, "unit", {}, []))
    pm = make_plugin_manager(settings, load_entry_points=False)
    pm.register(MemoryPlugin(store, handler_on(store)), name="memory")
    kernel = Kernel(settings, pm)
    return execute_job(kernel, kernel.job_types["unit"], job.id, WORKER), store


def two_steps(ctx: JobContext, params: NoParams) -> dict[str, int]:
    ctx.progress(1, 2, "one")
    ctx.progress(2, 2, "two")
    return {"steps": 2}


def test_a_job_runs_to_success(tmp_path: Path) -> None:
    """The handler runs: RAN / succeeded, its result kept, events started → progress → succeeded."""
    outcome, store = run_once(tmp_path, lambda store: two_steps)
    assert outcome == RunOutcome(Delivery.RAN, JobState.SUCCEEDED)
    (job,) = store.jobs.values()
    assert (job.progress, job.result) == (1.0, {"steps": 2})
    assert [event.event for event in store.events] == [
        EventName.STARTED,
        EventName.PROGRESS,
        EventName.PROGRESS,
        EventName.SUCCEEDED,
    ]


def test_a_failing_handler_fails_the_job(tmp_path: Path) -> None:
    """A handler's exception is the job's outcome: RAN / failed, with the error in the record."""

    def broken(ctx: JobContext, params: NoParams) -> None:
        raise RuntimeError("no GPU")

    outcome, store = run_once(tmp_path, lambda store: broken)
    assert outcome == RunOutcome(Delivery.RAN, JobState.FAILED)
    assert next(iter(store.jobs.values())).error == "RuntimeError: no GPU"


def test_a_cancel_while_running_stops_at_the_next_step(tmp_path: Path) -> None:
    """The cancel flag raised mid-run ends the handler at its next progress: RAN / cancelled."""

    def cancelled_midway(store: InMemoryJobStore) -> Handler:
        def handler(ctx: JobContext, params: NoParams) -> None:
            store.cancel_flags.add(ctx.job_id)
            ctx.progress(1, 2, "one")
            raise AssertionError("progress should have raised JobCancelled")

        return handler

    outcome, store = run_once(tmp_path, cancelled_midway)
    assert outcome == RunOutcome(Delivery.RAN, JobState.CANCELLED)
    assert store.events[-1].event == EventName.CANCELLED


def test_a_delivery_taken_over_mid_run_writes_nothing_more(tmp_path: Path) -> None:
    """Another delivery takes the job while this handler runs: SUPERSEDED, no finish of ours written."""
    other = "celery@other#beef/9"

    def taken_over(store: InMemoryJobStore) -> Handler:
        def handler(ctx: JobContext, params: NoParams) -> None:
            store.put(lifecycle.start(store.jobs[ctx.job_id], other))
            ctx.progress(1, 2, "one")  # conflicts, sees the other delivery, raises JobCancelled

        return handler

    outcome, store = run_once(tmp_path, taken_over)
    assert outcome == RunOutcome(Delivery.SUPERSEDED, JobState.RUNNING)
    (final,) = store.jobs.values()
    assert (final.state, final.worker) == (JobState.RUNNING, other)
    assert store.events[-1].event == EventName.STARTED


def test_a_message_for_an_expired_job_is_dropped(tmp_path: Path) -> None:
    """The record is gone when the message arrives: MISSING, nothing written, the handler never called."""

    def expired(store: InMemoryJobStore) -> Handler:
        store.jobs.clear()  # the record expired while its message waited

        def handler(ctx: JobContext, params: NoParams) -> None:
            raise AssertionError("the handler of a missing job ran")

        return handler

    outcome, store = run_once(tmp_path, expired)
    assert outcome == RunOutcome(Delivery.MISSING)
    assert store.jobs == {}


@pytest.mark.parametrize("delivery", list(Delivery))
def test_every_outcome_reads_in_the_worker_log(delivery: Delivery) -> None:
    """The text Celery logs for a task names the delivery's end and the job state."""
    assert str(RunOutcome(delivery, JobState.FAILED)) == f"{delivery.value} (failed)"
    assert str(RunOutcome(delivery)) == delivery.value

"""The kernel's job wrapper: runs a job type's handler in a worker and records the outcome.

Plugins never see Celery; this module is the bridge. The store's contract is async (the API
shares it). Each worker thread keeps one store and drives its calls synchronously: a blocking
store (the `blocking_job_store` hook) with `run_blocking`, no event loop at all; else the
`job_store` hook's store on an event loop of the thread's own.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

from myspinbot.core import lifecycle
from myspinbot.core.context import JobCancelled, JobContext
from myspinbot.core.forks import fork_generation
from myspinbot.core.job_service import (
    Delivery,
    JobService,
    RunOutcome,
    Saved,
    Update,
    delivery_name,
    finishing,
)
from myspinbot.core.jobfiles import JobFolders
from myspinbot.core.jobs import FINISH_EVENTS, EventName, Job, JobState
from myspinbot.core.jobtypes import JobType
from myspinbot.core.kernel import Kernel
from myspinbot.core.store import JobStore, StoreUnavailable, run_blocking
from myspinbot.worker.telemetry import WorkerTelemetry

log = logging.getLogger(__name__)
T = TypeVar("T")


class WorkerRuntime:
    """One store (and, for a store that is not blocking, one event loop) for the current thread
    of the current process."""

    def __init__(self, kernel: Kernel) -> None:
        self.pid = os.getpid()
        self.fork = fork_generation()
        self.kernel = kernel
        blocking = kernel.new_blocking_store()
        # A blocking store's calls finish at their first step: an event loop per call (a task,
        # selector polls, the asyncio client's machinery) would be most of a short job's cost.
        self.loop: asyncio.AbstractEventLoop | None = None if blocking is not None else asyncio.new_event_loop()
        self.store: JobStore = blocking if blocking is not None else kernel.new_store()
        self.complete: Callable[[Coroutine[Any, Any, Any]], Any] = (
            run_blocking if self.loop is None else self.loop.run_until_complete
        )
        self.service = JobService.of(kernel, self.store)
        self.retry_seconds = kernel.settings.store_retry_seconds

    def run(self, call: Callable[[], Coroutine[Any, Any, T]]) -> T:
        """Run a store call to its end on this thread, retrying while the store is unreachable
        (a Redis restart) for up to MYSPINBOT_STORE_RETRY_SECONDS."""
        deadline = time.monotonic() + self.retry_seconds
        delay = 0.1
        while True:
            try:
                result: T = self.complete(call())
                return result
            except StoreUnavailable:
                if time.monotonic() + delay > deadline:
                    raise
                log.warning("store unreachable; retrying in %.1fs", delay)
                time.sleep(delay)
                delay = min(delay * 2, 5.0)


_local = threading.local()


def runtime_for(kernel: Kernel) -> WorkerRuntime:
    """This thread's runtime, made anew after a fork (prefork pool children: the parent's
    connections are not theirs) or for another kernel."""
    current: WorkerRuntime | None = getattr(_local, "runtime", None)
    if current is None or current.fork != fork_generation() or current.kernel is not kernel:
        current = WorkerRuntime(kernel)
        _local.runtime = current
    return current


def sibling_alive(pid: int) -> bool:
    """Whether `pid` is a live process of this worker's pool (same parent, not a zombie); Linux only,
    elsewhere False, so a re-delivered job restarts as before."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return False
    return len(fields) > 1 and fields[0] != "Z" and int(fields[1]) == os.getppid()


class JobRun:
    """One delivery of one job: keeps the job in memory and writes each change through the service."""

    def __init__(self, runtime: WorkerRuntime, job: Job, delivery: str) -> None:
        self.runtime = runtime
        self.job = job
        self.delivery = delivery
        self.cancel_seen = False
        # Set when another delivery took the job over, or it was finished under us: stop, write nothing.
        self.superseded = False

    def change(self, update: Update, event: EventName) -> bool:
        """Apply `update` through the job service; False if it declines or the job is no longer ours."""
        if self.superseded:
            return False
        change = self.runtime.run(lambda: self.runtime.service.change(self.job, update, event, delivery=self.delivery))
        if change.saved == Saved.SUPERSEDED:
            self.superseded = True
            return False
        if change.saved == Saved.GONE:
            return False
        self.job = change.job
        self.cancel_seen = self.cancel_seen or change.cancel_requested
        return change.saved == Saved.SAVED

    # ProgressReporter, used by JobContext:

    def report_progress(self, step: int, total: int, message: str) -> bool:
        # The save reads the cancel flag in the same round trip (JobEvent.cancel_requested).
        self.change(lambda job: lifecycle.advance(job, step, total, message), EventName.PROGRESS)
        return self.cancel_seen

    def cancel_requested(self) -> bool:
        if self.superseded:
            return True  # ends the handler at its next step; execute_job then writes nothing
        if not self.cancel_seen:
            self.cancel_seen = self.runtime.run(lambda: self.runtime.store.cancel_requested(self.job.id))
        return self.cancel_seen

    def record_artifact(self, name: str, content_type: str, size: int, **details: Any) -> None:
        # Kept in memory; written with the next progress step or the final state (samples and
        # checkpoints at once, through persist_artifacts).
        self.job = lifecycle.with_artifact(self.job, name, content_type, size, **details)

    def persist_artifacts(self) -> None:
        """Write the job's artifact list now (a sample or checkpoint is downloadable while it runs)."""
        artifacts = self.job.artifacts
        self.change(lambda job: job.model_copy(update={"artifacts": artifacts}), EventName.PROGRESS)


def execute_job(kernel: Kernel, job_type: JobType, job_id: str, worker: str, queued: str | None = None) -> RunOutcome:
    """Run one delivery of a job: the job service decides whether it runs (begin), the handler
    runs, and the job service records how it ended. `queued` is the message's copy of the record
    as it was queued (a hint that saves reading the record; see JobService.begin)."""
    runtime = runtime_for(kernel)
    delivery = delivery_name(worker, runtime.pid)
    hint = queued_hint(queued, job_id)
    stopped, job = runtime.run(lambda: runtime.service.begin(job_id, worker, delivery, sibling_alive, hint))
    if stopped is not None or job is None:
        return stopped or RunOutcome(Delivery.MISSING)
    run = JobRun(runtime, job, delivery)
    state, details = run_handler(kernel, job_type, run)
    if run.superseded:
        return RunOutcome(Delivery.SUPERSEDED, run.job.state)
    run.change(finishing(state, **details), FINISH_EVENTS[state])
    return RunOutcome(Delivery.SUPERSEDED if run.superseded else Delivery.RAN, run.job.state)


def queued_hint(queued: str | None, job_id: str) -> Job | None:
    """The message's copy of the queued record, or None when absent or unreadable (a message
    from an older API, or damaged): the record is then read from the store as before."""
    if queued is None:
        return None
    try:
        return Job.model_validate_json(queued)
    except ValueError:
        log.warning("job %s: its message's copy of the record is unreadable; reading the record", job_id)
        return None


def run_handler(kernel: Kernel, job_type: JobType, run: JobRun) -> tuple[JobState, dict[str, Any]]:
    """Call the plugin's handler and turn how it ended into a final state."""
    folders = JobFolders.of(kernel.settings.jobs_dir, run.job.id)
    telemetry = WorkerTelemetry(run)
    context = JobContext(
        job_id=run.job.id,
        job_type=job_type.name,
        scratch_dir=folders.work,
        artifacts_dir=folders.artifacts,
        # A job submitted without files has no inputs folder: no need to look for one.
        inputs=folders.input_files() if run.job.inputs else [],
        settings=kernel.settings,
        reporter=run,
        telemetry=telemetry,
        logger=logging.getLogger(f"myspinbot.job.{job_type.name}"),
    )
    try:
        params = job_type.params.model_validate(run.job.params)
        result = job_type.run(context, params)
    except JobCancelled:
        flush_quietly(telemetry)
        return JobState.CANCELLED, {}
    except Exception as error:  # a handler's failure is the job's outcome, not the worker's
        log.exception("job %s (%s) failed", run.job.id, job_type.name)
        context.log.error("failed: %s: %s", type(error).__name__, error)
        flush_quietly(telemetry)
        return JobState.FAILED, {"error": f"{type(error).__name__}: {error}"}
    flush_quietly(telemetry)
    return JobState.SUCCEEDED, {"result": dict(result) if result else None}


def flush_quietly(telemetry: WorkerTelemetry) -> None:
    """Write the last buffered telemetry; losing it must not change how the job ended."""
    try:
        telemetry.flush()
    except Exception:
        log.exception("writing the last telemetry of job %s failed", telemetry.run.job.id)

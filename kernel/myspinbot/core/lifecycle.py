"""How a job's state changes, as pure functions of the job (no I/O)."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from myspinbot.core.jobs import (
    FINISHED_STATES,
    Artifact,
    Job,
    JobState,
    job_links,
    utc_now,
)
from myspinbot.core.queueing import Priority


class InvalidTransition(ValueError):
    """A change that the lifecycle does not allow (e.g. cancelling a finished job)."""


def new_job(
    job_id: str,
    job_type: str,
    params: dict[str, Any],
    inputs: list[str],
    *,
    queue: str = "",
    priority: Priority = Priority.NORMAL,
    batch_id: str | None = None,
    retry_of: str | None = None,
    cloned_from: str | None = None,
    owner: str = "",
) -> Job:
    """A freshly accepted job, queued."""
    return Job(
        id=job_id,
        type=job_type,
        owner=owner,
        state=JobState.QUEUED,
        message="queued",
        created_at=utc_now(),
        params=params,
        inputs=inputs,
        links=job_links(job_id),
        queue=queue or job_type,
        priority=priority,
        batch_id=batch_id,
        retry_of=retry_of,
        cloned_from=cloned_from,
    )


def start(job: Job, worker: str) -> Job:
    """The job as a worker picks it up; a re-delivery keeps the first start time."""
    if job.state not in (JobState.QUEUED, JobState.RUNNING):
        raise InvalidTransition(f"cannot start a job that is {job.state}")
    return job.model_copy(
        update={
            "state": JobState.RUNNING,
            "started_at": job.started_at or utc_now(),
            "attempts": job.attempts + 1,
            "worker": worker,
            "message": "starting" if job.attempts == 0 else f"restarting (attempt {job.attempts + 1})",
        }
    )


def advance(job: Job, step: int, total: int, message: str, now: float | None = None) -> Job:
    """The job after one progress report: progress only rises; the ETA follows the pace so far."""
    fraction = max(job.progress, min(1.0, step / total))
    eta = estimate_eta(job.started_at, fraction, now)
    return job.model_copy(
        update={
            "progress": round(fraction, 6),
            "step": step,
            "total": total,
            "message": message,
            "eta_seconds": eta,
        }
    )


def estimate_eta(started_at: datetime | None, fraction: float, now: float | None = None) -> float | None:
    """Seconds left if the rest goes at the pace so far; None before there is a pace."""
    if started_at is None or fraction <= 0:
        return None
    elapsed = max(0.0, (now if now is not None else time.time()) - started_at.timestamp())
    return round(elapsed * (1 - fraction) / fraction, 2)


def finish(
    job: Job,
    state: JobState,
    *,
    error: str | None = None,
    result: dict[str, Any] | None = None,
    message: str | None = None,
) -> Job:
    """The job in a final state."""
    if state not in FINISHED_STATES:
        raise InvalidTransition(f"{state} is not a final state")
    if job.state in FINISHED_STATES:
        raise InvalidTransition(f"job is already {job.state}")
    update: dict[str, Any] = {
        "state": state,
        "finished_at": utc_now(),
        "eta_seconds": 0.0 if state == JobState.SUCCEEDED else None,
        "error": error,
        "result": result,
        "message": message
        or {
            JobState.SUCCEEDED: "done",
            JobState.FAILED: "failed",
            JobState.CANCELLED: "cancelled",
        }[state],
    }
    if state == JobState.SUCCEEDED:
        update["progress"] = 1.0
        if job.total:
            update["step"] = job.total
    return job.model_copy(update=update)


def with_artifact(job: Job, name: str, content_type: str, size: int, **details: Any) -> Job:
    """The job with one more (or a replaced) artifact; `details` are its kind, step, caption, seed."""
    return with_artifact_entry(job, make_artifact(job.id, name, content_type, size, **details))


def make_artifact(job_id: str, name: str, content_type: str, size: int, **details: Any) -> Artifact:
    """An artifact record of a job's file, stamped with the current time."""
    url = f"/api/jobs/{job_id}/artifacts/{name}"
    return Artifact(name=name, content_type=content_type, size=size, url=url, created_at=utc_now(), **details)


def with_artifact_entry(job: Job, artifact: Artifact) -> Job:
    """The job with this artifact added, or replacing one of the same name."""
    kept = [item for item in job.artifacts if item.name != artifact.name]
    return job.model_copy(update={"artifacts": [*kept, artifact]})


def without_artifact(job: Job, name: str) -> Job:
    """The job without the artifact of this name."""
    return job.model_copy(update={"artifacts": [item for item in job.artifacts if item.name != name]})

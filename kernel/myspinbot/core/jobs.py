"""The job record and its events: the public shape every client sees."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field


class JobState(StrEnum):
    """Where a job is in its lifecycle: queued → running → succeeded | failed | cancelled."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in FINISHED_STATES


FINISHED_STATES = frozenset({JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED})


class EventName(StrEnum):
    """The kinds of event a job emits; one per state change, plus one per progress step."""

    QUEUED = "job.queued"
    STARTED = "job.started"
    PROGRESS = "job.progress"
    SUCCEEDED = "job.succeeded"
    FAILED = "job.failed"
    CANCELLED = "job.cancelled"


FINISH_EVENTS = {
    JobState.SUCCEEDED: EventName.SUCCEEDED,
    JobState.FAILED: EventName.FAILED,
    JobState.CANCELLED: EventName.CANCELLED,
}


class ArtifactKind(StrEnum):
    """What an artifact is: a final output, a sample image made at a step, or a checkpoint."""

    OUTPUT = "output"
    SAMPLE = "sample"
    CHECKPOINT = "checkpoint"


class Artifact(BaseModel):
    """A file a job produced, downloadable from the API."""

    name: str
    content_type: str
    size: int
    url: str
    kind: ArtifactKind = ArtifactKind.OUTPUT
    step: int | None = Field(None, description="The step a sample or checkpoint was made at")
    caption: str | None = Field(None, description="A sample's prompt, or a short description")
    seed: int | None = Field(None, description="The seed a sample was rendered with")
    created_at: str | None = None


class Job(BaseModel):
    """A job's full public state: what the API returns and what every event carries."""

    id: str
    type: str
    state: JobState = JobState.QUEUED
    progress: float = Field(0.0, ge=0.0, le=1.0, description="Share of the whole job done, never goes back")
    step: int = 0
    total: int = 0
    message: str = ""
    eta_seconds: float | None = None
    created_at: str
    started_at: str | None = None
    finished_at: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    inputs: list[str] = Field(default_factory=list, description="Names of the uploaded files")
    error: str | None = None
    result: dict[str, Any] | None = None
    artifacts: list[Artifact] = Field(default_factory=list)
    attempts: int = 0
    worker: str | None = None
    version: int = Field(0, description="Bumped on every write; used for compare-and-set")
    links: dict[str, str] = Field(default_factory=dict)


class JobEvent(BaseModel):
    """One entry of the event stream: what happened and the job's state right after it."""

    id: str = Field("", description="The stream id; empty until the event is stored")
    event: EventName
    job: Job
    cancel_requested: bool = Field(
        False, exclude=True, description="Set by the store on save: a cancel flag is raised for this job"
    )


def utc_now() -> str:
    """The current time as an ISO 8601 UTC string with milliseconds."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_time(value: str) -> float:
    """An ISO timestamp written by `utc_now` as epoch seconds."""
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def job_links(job_id: str) -> dict[str, str]:
    """Where a client finds more about a job."""
    return {
        "self": f"/api/jobs/{job_id}",
        "status": f"/api/status/{job_id}",
        "cancel": f"/api/jobs/{job_id}/cancel",
        "artifacts": f"/api/jobs/{job_id}/artifacts",
        "events": f"/ws?jobs={job_id}",
    }

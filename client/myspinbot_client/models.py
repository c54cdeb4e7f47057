"""The wire contract of the HTTP API as pydantic models: what the API answers with and the client reads.

The kernel builds its responses from these same models (its job record *is* `Job`), so the
server and the client cannot drift. Every model ignores fields it does not know, so a client
keeps working against a newer API; timestamps travel as ISO 8601 UTC with milliseconds
("2026-01-02T03:04:05.678Z").
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, field_validator

JSON = dict[str, Any]
SNAPSHOT = "snapshot"  # the `event` of a `JobEvent` made from a job's current state, not a stream entry
Chunks = TypeVar("Chunks", Iterator[bytes], AsyncIterator[bytes])


def format_time(value: datetime) -> str:
    """A time as the wire writes it: ISO 8601 in UTC with milliseconds and a "Z" (naive means UTC)."""
    aware = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return aware.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def utc_now() -> datetime:
    """The current UTC time at the wire's precision (milliseconds), so a round trip keeps it equal."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


# A time on the wire: a timezone-aware datetime in Python, ISO 8601 UTC text in JSON.
Timestamp = Annotated[datetime, PlainSerializer(format_time, return_type=str, when_used="json")]


class WireModel(BaseModel):
    """Base of every wire model: immutable, and tolerant of fields added by a newer API."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    def to_json(self) -> JSON:
        """The model as the JSON object the API sends."""
        return self.model_dump(mode="json")


class JobState(StrEnum):
    """Where a job is: queued → running → succeeded | failed | cancelled."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        """Whether the job has reached an end state and will not change again."""
        return self in FINISHED_STATES


FINISHED_STATES = frozenset({JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED})


class EventName(StrEnum):
    """The kinds of event a job emits: one per state change, plus one per progress step."""

    QUEUED = "job.queued"
    STARTED = "job.started"
    PROGRESS = "job.progress"
    SUCCEEDED = "job.succeeded"
    FAILED = "job.failed"
    CANCELLED = "job.cancelled"
    UPDATED = "job.updated"  # a queued job's priority changed


class Priority(StrEnum):
    """How urgent a job is; a higher one starts before lower ones queued on the same queue."""

    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"


class ArtifactKind(StrEnum):
    """What an artifact is: a final output, a sample image made at a step, or a checkpoint."""

    OUTPUT = "output"
    SAMPLE = "sample"
    CHECKPOINT = "checkpoint"


class Artifact(WireModel):
    """A file a job produced; `url` is relative to the API's base URL."""

    name: str
    content_type: str = "application/octet-stream"
    size: int = 0
    url: str = ""
    kind: ArtifactKind = ArtifactKind.OUTPUT
    step: int | None = Field(None, description="The step a sample or checkpoint was made at")
    caption: str | None = Field(None, description="A sample's prompt, or a short description")
    seed: int | None = Field(None, description="The seed a sample was rendered with")
    created_at: Timestamp | None = None


class Job(WireModel):
    """A job's full public state: what the API returns and what every event carries."""

    id: str
    type: str
    owner: str = Field("", description="Name of the user who submitted the job")
    state: JobState = JobState.QUEUED
    progress: float = Field(0.0, ge=0.0, le=1.0, description="Share of the whole job done, never goes back")
    step: int = 0
    total: int = 0
    message: str = ""
    eta_seconds: float | None = None
    created_at: Timestamp
    started_at: Timestamp | None = None
    finished_at: Timestamp | None = None
    params: JSON = Field(default_factory=dict)
    inputs: list[str] = Field(default_factory=list, description="Names of the uploaded files")
    error: str | None = None
    result: JSON | None = None
    artifacts: list[Artifact] = Field(default_factory=list)
    attempts: int = Field(0, description="How many times a worker started the job")
    worker: str | None = Field(None, description="The worker that ran it last")
    version: int = Field(0, description="Bumped on every write; used for compare-and-set")
    queue: str = Field("", description="The queue the job waits on (its job type's)")
    priority: Priority = Field(Priority.NORMAL, description="low, normal or high; higher starts first")
    position: int | None = Field(None, description="While queued: its place in its queue, 1 = next (read time)")
    starts_in_seconds: float | None = Field(
        None, description="While queued: estimated seconds until it starts, from recent run times (read time)"
    )
    batch_id: str | None = Field(None, description="The batch this job was submitted in")
    retry_of: str | None = Field(None, description="The job this one retries (same parameters and inputs)")
    cloned_from: str | None = Field(None, description="The job this one was cloned from, with edits")
    links: dict[str, str] = Field(default_factory=dict)

    @property
    def finished(self) -> bool:
        """Whether the job has reached an end state."""
        return self.state.finished

    @property
    def duration_seconds(self) -> float | None:
        """Seconds from start to finish (or to now while running); None before it starts."""
        if self.started_at is None:
            return None
        end = self.finished_at or datetime.now(self.started_at.tzinfo)
        return max(0.0, (end - self.started_at).total_seconds())


class JobPage(WireModel):
    """One page of `GET /api/jobs`, newest first; pass `next_cursor` back for the next (None: last page)."""

    jobs: list[Job]
    next_cursor: str | None = None


class JobEvent(WireModel):
    """A job's state after something happened to it.

    `event` is one of `EventName` with `id` its event stream id, or `SNAPSHOT` with `id` None
    for a job's current state read from a snapshot or from `GET /api/jobs/{id}` (no event was
    missed; this is where it stands).
    """

    id: str | None = Field(None, description="The event stream id; None for a snapshot")
    event: EventName | Literal["snapshot"]
    job: Job

    @property
    def is_snapshot(self) -> bool:
        """Whether this is a current state rather than a stream event."""
        return self.event == SNAPSHOT

    def to_json(self) -> JSON:
        """The event as a /ws event frame without its `type` (a snapshot's `id` is null)."""
        return {"id": self.id, "event": str(self.event), "job": self.job.to_json()}


class FileField(WireModel):
    """The uploads a job type accepts under one multipart field.

    The one rule for names, on the server, the client and the dashboard alike: no extensions
    (and no archive extensions) means any file; extensions compare case-insensitively.
    `archive_extensions` are archives (".zip") whose members must have one of `extensions`.
    `max_bytes` of None means the server's `MYSPINBOT_MAX_UPLOAD_BYTES`.
    """

    field: str = "files"
    extensions: tuple[str, ...] = ()
    max_count: int = 1
    min_count: int = 0
    max_bytes: int | None = None
    archive_extensions: tuple[str, ...] = ()
    description: str = ""

    @field_validator("extensions", "archive_extensions")
    @classmethod
    def _lower_case(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(ext.lower() for ext in value)

    @property
    def accepted(self) -> tuple[str, ...]:
        """Every extension a file may have under this field (empty: any file)."""
        return self.extensions + self.archive_extensions

    def accepts(self, filename: str) -> bool:
        """Whether a file of this name may go under this field (no extensions: any file)."""
        return not self.accepted or filename.lower().endswith(self.accepted)

    def is_archive(self, filename: str) -> bool:
        """Whether a file of this name is one of the field's archives, to be checked member by member."""
        return bool(self.archive_extensions) and filename.lower().endswith(self.archive_extensions)

    def accepts_member(self, filename: str) -> bool:
        """Whether a file inside one of the field's archives is of an accepted type (no extensions: any)."""
        return not self.extensions or filename.lower().endswith(self.extensions)


class JobType(WireModel):
    """A kind of job the API accepts: its parameters' JSON schema and accepted uploads."""

    name: str
    title: str = ""
    description: str = ""
    queue: str = ""
    route: str | None = None
    params_schema: JSON = Field(default_factory=dict)
    files: tuple[FileField, ...] = ()

    def file_field(self, name: str) -> FileField | None:
        """The accepted uploads under one multipart field, or None if there is no such field."""
        return next((spec for spec in self.files if spec.field == name), None)


class Plugin(WireModel):
    """A plugin loaded by the API, by its entry-point name."""

    name: str
    distribution: str | None = None
    version: str | None = None
    hooks: tuple[str, ...] = ()


class Health(WireModel):
    """`GET /health`: "ok" when the API reaches Redis, "degraded" (HTTP 503) when it does not."""

    status: str = Field(description='"ok" or "degraded"')
    checks: JSON = Field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Whether the API reports itself healthy."""
        return self.status == "ok"


class FieldError(WireModel):
    """One entry of an error's `details`: which parameter, upload field or header is wrong, and why."""

    field: str | None = None
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


class ErrorInfo(WireModel):
    """What went wrong: the HTTP status, a stable machine-readable code, a message that says what to fix."""

    status: int
    code: str
    message: str
    details: list[FieldError] | None = None


class ErrorBody(WireModel):
    """The body of every error response and, with `"type": "error"`, of every /ws error frame."""

    error: ErrorInfo


@dataclass(frozen=True)
class ArtifactStream(Generic[Chunks]):
    """One artifact being read: its type and size as the download's headers give them, and its bytes.

    `chunks` is an iterator of `bytes` (an async one from `AsyncMySpinBotClient`), read once,
    while the `stream_artifact` block that gave it is open. `size` is None when the API did
    not say how long the file is.
    """

    name: str
    content_type: str
    size: int | None
    chunks: Chunks

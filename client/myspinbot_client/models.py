"""What the API returns, as typed read-only objects; each keeps the JSON it came from in `raw`.

These mirror the HTTP/WS contract rather than importing the kernel's models, so the client
(and the dashboard built on it) depends on the wire format only. Unknown fields are ignored.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Generic, TypeVar

JSON = dict[str, Any]
SNAPSHOT = "snapshot"  # the `event` of a `JobEvent` made from a snapshot rather than a stream entry
Chunks = TypeVar("Chunks", Iterator[bytes], AsyncIterator[bytes])


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
        return self in (JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED)


@dataclass(frozen=True)
class Artifact:
    """A file a job produced; `url` is relative to the API's base URL."""

    name: str
    content_type: str
    size: int
    url: str
    kind: str = "output"  # output | sample | checkpoint
    step: int | None = None
    caption: str | None = None
    seed: int | None = None
    created_at: datetime | None = None
    raw: JSON = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Artifact:
        """Build from the API's JSON."""
        step, seed, caption = data.get("step"), data.get("seed"), data.get("caption")
        return cls(
            name=str(data["name"]),
            content_type=str(data.get("content_type", "application/octet-stream")),
            size=int(data.get("size") or 0),
            url=str(data.get("url", "")),
            kind=str(data.get("kind") or "output"),
            step=step if isinstance(step, int) else None,
            caption=caption if isinstance(caption, str) else None,
            seed=seed if isinstance(seed, int) else None,
            created_at=_time(data.get("created_at")),
            raw=dict(data),
        )


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


@dataclass(frozen=True)
class Job:
    """A job's public state as the API and every event carry it."""

    id: str
    type: str
    state: JobState
    progress: float = 0.0
    step: int = 0
    total: int = 0
    message: str = ""
    eta_seconds: float | None = None
    created_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    params: JSON = field(default_factory=dict)
    error: str | None = None
    result: JSON | None = None
    artifacts: tuple[Artifact, ...] = ()
    version: int | None = None
    links: dict[str, str] = field(default_factory=dict)
    raw: JSON = field(default_factory=dict, repr=False, compare=False)

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

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Job:
        """Build from the API's JSON."""
        version = data.get("version")
        return cls(
            id=str(data["id"]),
            type=str(data.get("type", "")),
            state=JobState(data.get("state", JobState.QUEUED)),
            progress=float(data.get("progress") or 0.0),
            step=int(data.get("step") or 0),
            total=int(data.get("total") or 0),
            message=str(data.get("message") or ""),
            eta_seconds=_float_or_none(data.get("eta_seconds")),
            created_at=_time(data.get("created_at")),
            started_at=_time(data.get("started_at")),
            finished_at=_time(data.get("finished_at")),
            params=dict(data.get("params") or {}),
            error=data.get("error"),
            result=data.get("result"),
            artifacts=tuple(Artifact.from_json(item) for item in data.get("artifacts") or ()),
            version=version if isinstance(version, int) else None,
            links=dict(data.get("links") or {}),
            raw=dict(data),
        )


@dataclass(frozen=True)
class JobPage:
    """One page of `GET /api/jobs`; pass `next_cursor` back for the next one (None: last page)."""

    jobs: list[Job]
    next_cursor: str | None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> JobPage:
        """Build from the API's JSON."""
        return cls([Job.from_json(item) for item in data.get("jobs") or ()], data.get("next_cursor") or None)


@dataclass(frozen=True)
class JobEvent:
    """A job's state after something happened to it, from /ws.

    `event` is `job.queued|job.started|job.progress|job.succeeded|job.failed|job.cancelled`
    with `id` the event stream id, or `SNAPSHOT` with `id` None for a job's current state read
    from a snapshot or from `GET /api/jobs/{id}` (no event was missed; this is where it stands).
    """

    id: str | None
    event: str
    job: Job

    @property
    def is_snapshot(self) -> bool:
        """Whether this is a current state rather than a stream event."""
        return self.event == SNAPSHOT

    def to_json(self) -> JSON:
        """The event as a JSON object, the shape of a /ws event frame without its `type`."""
        return {"id": self.id, "event": self.event, "job": self.job.raw}


@dataclass(frozen=True)
class FileField:
    """The uploads a job type accepts under one multipart field."""

    field: str
    extensions: tuple[str, ...] = ()
    max_count: int = 1
    min_count: int = 0
    max_bytes: int | None = None
    archive_extensions: tuple[str, ...] = ()
    description: str = ""

    def accepts(self, filename: str) -> bool:
        """Whether a file of this name may go under this field (no extensions: any file)."""
        allowed = tuple(ext.lower() for ext in self.extensions + self.archive_extensions)
        return not allowed or filename.lower().endswith(allowed)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FileField:
        """Build from the API's JSON."""
        max_bytes = data.get("max_bytes")
        return cls(
            field=str(data.get("field", "files")),
            extensions=tuple(data.get("extensions") or ()),
            max_count=int(data.get("max_count", 1)),
            min_count=int(data.get("min_count", 0)),
            max_bytes=int(max_bytes) if max_bytes is not None else None,
            archive_extensions=tuple(data.get("archive_extensions") or ()),
            description=str(data.get("description") or ""),
        )


@dataclass(frozen=True)
class JobType:
    """A kind of job the API accepts: its parameters' JSON schema and accepted uploads."""

    name: str
    title: str = ""
    queue: str = ""
    description: str = ""
    params_schema: JSON = field(default_factory=dict)
    files: tuple[FileField, ...] = ()
    route: str | None = None
    raw: JSON = field(default_factory=dict, repr=False, compare=False)

    def file_field(self, name: str) -> FileField | None:
        """The accepted uploads under one multipart field, or None if there is no such field."""
        return next((spec for spec in self.files if spec.field == name), None)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> JobType:
        """Build from the API's JSON."""
        return cls(
            name=str(data["name"]),
            title=str(data.get("title") or data["name"]),
            queue=str(data.get("queue") or ""),
            description=str(data.get("description") or ""),
            params_schema=dict(data.get("params_schema") or {}),
            files=tuple(FileField.from_json(item) for item in data.get("files") or ()),
            route=data.get("route"),
            raw=dict(data),
        )


@dataclass(frozen=True)
class Plugin:
    """A plugin loaded by the API, by its entry-point name."""

    name: str
    distribution: str | None = None
    version: str | None = None
    hooks: tuple[str, ...] = ()
    raw: JSON = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Plugin:
        """Build from the API's JSON."""
        return cls(
            name=str(data["name"]),
            distribution=data.get("distribution"),
            version=data.get("version"),
            hooks=tuple(data.get("hooks") or ()),
            raw=dict(data),
        )


@dataclass(frozen=True)
class Health:
    """`GET /health`: "ok" when the API reaches Redis, "degraded" (HTTP 503) when it does not."""

    status: str
    checks: JSON = field(default_factory=dict)
    raw: JSON = field(default_factory=dict, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        """Whether the API reports itself healthy."""
        return self.status == "ok"

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Health:
        """Build from the API's JSON."""
        return cls(status=str(data.get("status", "")), checks=dict(data.get("checks") or {}), raw=dict(data))


def _time(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _float_or_none(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None

"""Run telemetry on the wire: metric series, log lines, and the live `job.*` telemetry frames.

Pydantic models the API answers with (`GET /api/jobs/{id}/metrics`, `.../logs`) and the
client reads, like `myspinbot_client.models`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Any

from pydantic import Field, ValidationError

from myspinbot_client.models import JSON, Artifact, WireModel


class TelemetryKind(StrEnum):
    """The live telemetry frames the WebSocket sends (`type` of the frame)."""

    METRIC = "job.metric"
    ARTIFACT = "job.artifact"
    LOG = "job.log"
    PREVIEW = "job.preview"


TELEMETRY_FRAMES = frozenset(kind.value for kind in TelemetryKind)


class MetricSeries(WireModel):
    """One metric's points as parallel lists (`steps[i]`, `values[i]`), compact on the wire."""

    name: str
    steps: list[int]
    values: list[float]
    points: int = Field(description="Points stored for this metric before downsampling")


class Metrics(WireModel):
    """`GET /api/jobs/{id}/metrics`: a series per metric name."""

    job_id: str
    series: list[MetricSeries]
    points: int = Field(0, description="Metric points stored for the job (each may carry several names)")
    dropped: int = Field(0, description="Points refused because the job reached its bound")
    last_step: int | None = None

    def get(self, name: str) -> MetricSeries | None:
        """The series of one metric, or None."""
        return next((series for series in self.series if series.name == name), None)


class LogLine(WireModel):
    """One log line of a job; `seq` counts from 1 and never repeats within a job."""

    seq: int
    time: str
    level: str
    message: str


class Logs(WireModel):
    """`GET /api/jobs/{id}/logs`: lines oldest first, and the seq to pass as `since` next time."""

    job_id: str
    lines: list[LogLine]
    last_seq: int = Field(description="The highest seq written so far; pass it as `since` to read on")


class TelemetryEvent(WireModel):
    """A live telemetry frame of one job from /ws (sent only to watches of given job ids).

    `kind` (the frame's `type`) is `job.metric` (`step`, latest `values` per name, `points` new
    since the last frame), `job.log` (`lines`), `job.artifact` (`artifact`, or `removed`: a
    name) or `job.preview` (`version`, `url`). Frames are coalesced by the server (a few a
    second per job) and not replayed after a reconnection: read `metrics()` / `logs()` for what
    came before.
    """

    kind: TelemetryKind = Field(alias="type")
    job_id: str
    step: int | None = None
    values: dict[str, float] = Field(default_factory=dict)
    points: int = 0
    lines: list[LogLine] = Field(default_factory=list)
    artifact: Artifact | None = None
    removed: str | None = None
    version: int | None = None
    url: str | None = None

    def to_json(self) -> JSON:
        """The frame as the API sends it (`type`, not `kind`)."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


def telemetry_of(frame: Mapping[str, Any]) -> TelemetryEvent | None:
    """The telemetry event a /ws frame carries, or None for any other frame (or one this client cannot read)."""
    if frame.get("type") not in TELEMETRY_FRAMES:
        return None
    try:
        return TelemetryEvent.model_validate(frame)
    except ValidationError:
        return None  # telemetry is a view; a frame a newer server shapes differently is skipped


def downsample(steps: Sequence[int], values: Sequence[float], max_points: int) -> tuple[list[int], list[float]]:
    """At most `max_points` points that keep the shape: the first and last point, and the minimum
    and maximum of each bucket in step order, so a peak or the loss's minimum is never lost."""
    count = len(steps)
    if count <= max_points:
        return list(steps), list(values)
    if max_points < 4:
        keep = sorted({0, count - 1, _argmin(values, 0, count)})[:max_points]
        return [steps[i] for i in keep], [values[i] for i in keep]
    buckets = (max_points - 2) // 2
    inner = count - 2
    kept = [0]
    for bucket in range(buckets):
        start = 1 + (inner * bucket) // buckets
        end = 1 + (inner * (bucket + 1)) // buckets
        if start >= end:
            continue
        low = _argmin(values, start, end)
        high = _argmax(values, start, end)
        kept.extend(sorted({low, high}))
    kept.append(count - 1)
    return [steps[i] for i in kept], [values[i] for i in kept]


def _argmin(values: Sequence[float], start: int, end: int) -> int:
    return min(range(start, end), key=values.__getitem__)


def _argmax(values: Sequence[float], start: int, end: int) -> int:
    return max(range(start, end), key=values.__getitem__)

"""Run telemetry: metric points, log lines and live previews a handler reports, and their store contract.

Telemetry is kept apart from the job's state: its own keys and its own live stream, so a burst
of metric points never pushes state events out of the event stream's replay window. What goes
on the wire (`Metrics`, `MetricSeries`, `Logs`, `LogLine`, `TelemetryKind`) is the client's
`myspinbot_client.telemetry`.
"""

from __future__ import annotations

import builtins
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from pydantic import BaseModel

# Re-exported: the kernel's telemetry speaks the wire's own models.
from myspinbot_client.telemetry import LogLine as LogLine
from myspinbot_client.telemetry import Logs as Logs
from myspinbot_client.telemetry import Metrics as Metrics
from myspinbot_client.telemetry import MetricSeries as MetricSeries
from myspinbot_client.telemetry import TelemetryKind as TelemetryKind
from myspinbot_client.telemetry import downsample as downsample

# Points kept per job; beyond it new points are dropped (and counted on /metrics).
MAX_POINTS_PER_JOB = 100_000
# Log lines kept per job (the oldest go first).
MAX_LOG_LINES = 5_000
MAX_LOG_LINE_CHARS = 2_000
# The largest live preview image accepted.
MAX_PREVIEW_BYTES = 2 * 1024 * 1024
MAX_METRIC_NAME = 64


class MetricPoint(BaseModel):
    """Named scalar values reported at one step."""

    step: int
    values: dict[str, float]


@dataclass(frozen=True)
class Preview:
    """The latest live preview image of a job."""

    data: bytes
    content_type: str
    version: int


@dataclass
class TelemetryBatch:
    """What a worker writes in one trip: metric points and log lines of one job."""

    job_id: str
    points: builtins.list[MetricPoint] = field(default_factory=list)
    logs: builtins.list[tuple[str, str, str]] = field(default_factory=list)  # (time, level, message)

    def __bool__(self) -> bool:
        return bool(self.points or self.logs)


@dataclass(frozen=True)
class BatchWritten:
    """What the store kept of a batch: points accepted and dropped, the log lines' seqs."""

    points_kept: int
    points_dropped: int
    first_log_seq: int = 0


@dataclass(frozen=True)
class TelemetryNotice:
    """An entry of the live telemetry stream: something new for one job (payload is JSON)."""

    id: str
    kind: TelemetryKind
    job_id: str
    payload: str


@runtime_checkable
class TelemetryStore(Protocol):
    """Where telemetry lives; a job store gives its own through `JobStore.telemetry`."""

    async def write(self, batch: TelemetryBatch) -> BatchWritten:
        """Append points (up to MAX_POINTS_PER_JOB per job) and log lines, and announce them live."""
        ...

    async def points(self, job_id: str) -> builtins.list[MetricPoint]:
        """Every stored point of a job, in the order written."""
        ...

    async def point_counts(self, job_id: str) -> tuple[int, int]:
        """(points stored, points dropped) for a job."""
        ...

    async def logs(self, job_id: str, tail: int, since: int = 0) -> tuple[builtins.list[LogLine], int]:
        """The last `tail` lines with seq > `since`, and the highest seq written."""
        ...

    async def set_preview(self, job_id: str, data: bytes, content_type: str) -> int:
        """Keep this image as the job's only preview; returns its version (1, 2, ...)."""
        ...

    async def preview(self, job_id: str) -> Preview | None: ...

    async def announce(self, kind: TelemetryKind, job_id: str, payload: str) -> None:
        """Put one notice on the live telemetry stream (artifacts, previews)."""
        ...

    async def read_notices(self, last_id: str, block_ms: int, count: int = 500) -> builtins.list[TelemetryNotice]:
        """Wait up to `block_ms` for notices after `last_id` ("$": new ones only)."""
        ...

    async def latest_notice_id(self) -> str: ...


def build_series(
    points: Sequence[MetricPoint],
    names: Sequence[str] | None = None,
    since_step: int | None = None,
    max_points: int | None = None,
) -> builtins.list[MetricSeries]:
    """Points as one series per metric name (sorted by name), optionally downsampled."""
    wanted = set(names) if names else None
    columns: dict[str, tuple[builtins.list[int], builtins.list[float]]] = {}
    for point in points:
        if since_step is not None and point.step <= since_step:
            continue
        for name, value in point.values.items():
            if wanted is not None and name not in wanted:
                continue
            steps, values = columns.setdefault(name, ([], []))
            steps.append(point.step)
            values.append(value)
    series = []
    for name in sorted(columns):
        steps, values = columns[name]
        count = len(steps)
        if max_points is not None and count > max_points:
            steps, values = downsample(steps, values, max_points)
        series.append(MetricSeries(name=name, steps=steps, values=values, points=count))
    return series


def clean_values(values: Mapping[str, object]) -> dict[str, float]:
    """Metric values as finite floats under safe names; ValueError naming what is wrong."""
    cleaned: dict[str, float] = {}
    for name, value in values.items():
        if not name or len(name) > MAX_METRIC_NAME or not all(c.isalnum() or c in "_./-" for c in name):
            raise ValueError(f"metric name {name!r} must be 1-{MAX_METRIC_NAME} letters, digits, '_', '.', '/', '-'")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"metric {name!r} must be a number, got {type(value).__name__}")
        number = float(value)
        if not math.isfinite(number):
            continue  # a NaN or infinite loss is not drawable; skip it rather than fail the job
        cleaned[name] = number
    return cleaned


def sniff_image_type(data: bytes) -> str | None:
    """The content type of a PNG, JPEG, WebP or GIF image from its first bytes, else None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    return None

"""Run telemetry as the API sends it: metric series, log lines, and the live `job.*` telemetry frames."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

JSON = dict[str, Any]
TELEMETRY_FRAMES = frozenset({"job.metric", "job.artifact", "job.log", "job.preview"})


@dataclass(frozen=True)
class MetricSeries:
    """One metric's points (`steps[i]`, `values[i]`); `points` is how many were stored before downsampling."""

    name: str
    steps: tuple[int, ...]
    values: tuple[float, ...]
    points: int

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> MetricSeries:
        """Build from the API's JSON."""
        steps = tuple(int(step) for step in data.get("steps") or ())
        values = tuple(float(value) for value in data.get("values") or ())
        return cls(str(data["name"]), steps, values, int(data.get("points") or len(steps)))


@dataclass(frozen=True)
class Metrics:
    """`GET /api/jobs/{id}/metrics`: a series per metric name."""

    job_id: str
    series: tuple[MetricSeries, ...]
    points: int = 0
    dropped: int = 0
    last_step: int | None = None

    def get(self, name: str) -> MetricSeries | None:
        """The series of one metric, or None."""
        return next((series for series in self.series if series.name == name), None)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Metrics:
        """Build from the API's JSON."""
        last = data.get("last_step")
        return cls(
            job_id=str(data.get("job_id", "")),
            series=tuple(MetricSeries.from_json(item) for item in data.get("series") or ()),
            points=int(data.get("points") or 0),
            dropped=int(data.get("dropped") or 0),
            last_step=int(last) if isinstance(last, int) else None,
        )


@dataclass(frozen=True)
class LogLine:
    """One line of a job's log; `seq` rises by one per line."""

    seq: int
    time: str
    level: str
    message: str

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> LogLine:
        """Build from the API's JSON."""
        return cls(
            int(data.get("seq") or 0),
            str(data.get("time") or ""),
            str(data.get("level") or ""),
            str(data.get("message") or ""),
        )


@dataclass(frozen=True)
class Logs:
    """`GET /api/jobs/{id}/logs`: lines oldest first, and the seq to pass as `since` next time."""

    job_id: str
    lines: tuple[LogLine, ...]
    last_seq: int

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Logs:
        """Build from the API's JSON."""
        lines = tuple(LogLine.from_json(item) for item in data.get("lines") or ())
        return cls(str(data.get("job_id", "")), lines, int(data.get("last_seq") or 0))


@dataclass(frozen=True)
class TelemetryEvent:
    """A live telemetry frame of one job from /ws (sent only to watches of given job ids).

    `kind` is `job.metric` (`step`, latest `values` per name, `points` new since the last frame),
    `job.log` (`lines`), `job.artifact` (`artifact`, or `removed`: a name) or `job.preview`
    (`version`, `url`). Frames are coalesced by the server (a few a second per job) and not
    replayed after a reconnection: read `metrics()` / `logs()` for what came before.
    """

    kind: str
    job_id: str
    step: int | None = None
    values: dict[str, float] = field(default_factory=dict)
    points: int = 0
    lines: tuple[LogLine, ...] = ()
    artifact: JSON | None = None
    removed: str | None = None
    version: int | None = None
    url: str | None = None
    raw: JSON = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TelemetryEvent:
        """Build from a /ws frame."""
        step, version = data.get("step"), data.get("version")
        return cls(
            kind=str(data.get("type", "")),
            job_id=str(data.get("job_id", "")),
            step=int(step) if isinstance(step, int) else None,
            values={str(k): float(v) for k, v in (data.get("values") or {}).items()},
            points=int(data.get("points") or 0),
            lines=tuple(LogLine.from_json(item) for item in data.get("lines") or ()),
            artifact=dict(data["artifact"]) if isinstance(data.get("artifact"), Mapping) else None,
            removed=data.get("removed") if isinstance(data.get("removed"), str) else None,
            version=int(version) if isinstance(version, int) else None,
            url=data.get("url") if isinstance(data.get("url"), str) else None,
            raw=dict(data),
        )


def telemetry_of(frame: Mapping[str, Any]) -> TelemetryEvent | None:
    """The telemetry event a /ws frame carries, or None for any other frame."""
    return TelemetryEvent.from_json(frame) if frame.get("type") in TELEMETRY_FRAMES else None

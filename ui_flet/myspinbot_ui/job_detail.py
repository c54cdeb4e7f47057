"""`JobDetail`: what the job page shows of one job — its state, metric series, samples, checkpoints, logs, preview.

Plain state, no Flet: the page's session feeds it what the API and /ws send; the view draws it.
Series are kept whole here (a 10,000-step run is 10,000 floats per metric) and downsampled for
drawing, keeping each bucket's minimum and maximum, so a chart stays a few hundred points.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from myspinbot_client import Artifact, Job
from myspinbot_client.models import ArtifactKind
from myspinbot_client.telemetry import LogLine, Metrics, downsample

JOB_ROUTE = re.compile(r"^/jobs/([0-9a-f]{32})/?$")
CHART_POINTS = 300
LOG_TAIL = 200


def job_route(job_id: str) -> str:
    """The dashboard URL path of a job's page."""
    return f"/jobs/{job_id}"


def job_id_of_route(route: str) -> str | None:
    """The job id a `/jobs/<id>` route names, or None for any other route."""
    match = JOB_ROUTE.match(route.split("?", 1)[0])
    return match.group(1) if match else None


@dataclass
class Series:
    """Every point of one metric seen so far, in step order."""

    steps: list[int] = field(default_factory=list)
    values: list[float] = field(default_factory=list)

    def extend(self, steps: list[int], values: list[float]) -> None:
        """Append points after the last one kept (a repeat read of the same steps adds nothing)."""
        last = self.steps[-1] if self.steps else None
        for step, value in zip(steps, values, strict=True):
            if last is None or step > last:
                self.steps.append(step)
                self.values.append(value)
                last = step

    def for_chart(self, max_points: int = CHART_POINTS) -> tuple[list[int], list[float]]:
        """At most `max_points` points to draw, peaks and minimum kept."""
        return downsample(self.steps, self.values, max_points)


@dataclass(frozen=True)
class SampleGrid:
    """Samples by step (rows) and prompt (columns)."""

    steps: list[int]
    prompts: list[str]
    cells: dict[tuple[int, str], Artifact]


@dataclass
class JobDetail:
    """One job as its page shows it."""

    job_id: str
    job: Job | None = None
    series: dict[str, Series] = field(default_factory=dict)
    last_step: int | None = None
    logs: deque[LogLine] = field(default_factory=lambda: deque(maxlen=LOG_TAIL))
    last_seq: int = 0
    preview: bytes | None = None
    preview_version: int | None = None
    missing: bool = False
    version: int = 0  # bumped on every change, so the view redraws only what changed

    def set_job(self, job: Job) -> bool:
        """Take a newer state of the job; False if it is not newer than what is shown."""
        shown = self.job.version if self.job is not None else None
        if shown is not None and job.version is not None and job.version < shown:
            return False
        self.job = job
        self.version += 1
        return True

    def add_metrics(self, metrics: Metrics) -> None:
        """Append the points of a (full or `since_step`) metrics read."""
        for item in metrics.series:
            self.series.setdefault(item.name, Series()).extend(list(item.steps), list(item.values))
        if metrics.last_step is not None:
            self.last_step = max(self.last_step or 0, metrics.last_step)
        self.version += 1

    def add_logs(self, lines: list[LogLine]) -> None:
        """Append log lines not seen yet."""
        for line in lines:
            if line.seq > self.last_seq:
                self.logs.append(line)
                self.last_seq = line.seq
        self.version += 1

    def set_preview(self, data: bytes, version: int) -> None:
        """Show a newer live preview."""
        if self.preview_version is None or version > self.preview_version:
            self.preview, self.preview_version = data, version
            self.version += 1

    @property
    def artifacts(self) -> list[Artifact]:
        return list(self.job.artifacts) if self.job else []

    def checkpoints(self) -> list[Artifact]:
        """The job's checkpoints, by step."""
        found = [item for item in self.artifacts if item.kind is ArtifactKind.CHECKPOINT]
        return sorted(found, key=lambda item: (item.step or 0, item.name))

    def outputs(self) -> list[Artifact]:
        """The job's final outputs."""
        return [item for item in self.artifacts if item.kind is ArtifactKind.OUTPUT]

    def sample_grid(self) -> SampleGrid:
        """Samples with rows = step and columns = prompt (in the order prompts first appear)."""
        cells: dict[tuple[int, str], Artifact] = {}
        prompts: list[str] = []
        for item in self.artifacts:
            if item.kind is not ArtifactKind.SAMPLE:
                continue
            prompt = item.caption or item.name
            if prompt not in prompts:
                prompts.append(prompt)
            cells[(item.step or 0, prompt)] = item
        return SampleGrid(sorted({step for step, _ in cells}), prompts, cells)

    def train_more(self, checkpoint: Artifact) -> dict[str, Any]:
        """Parameters of a train job that goes on from `checkpoint`: this job's own, resumed from it,
        for as many more steps as the job ran."""
        params = dict(self.job.params) if self.job else {}
        ran = int(params.get("max_train_steps") or 1600)
        params["resume_from"] = f"{self.job_id}/{checkpoint.name}"
        params["max_train_steps"] = (checkpoint.step or 0) + ran
        params.pop("seed", None)
        return params

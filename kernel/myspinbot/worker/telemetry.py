"""The worker's telemetry sink: buffers a handler's metric points and log lines, writes them in batches.

A handler may report a point every step; one store trip per point would cost more than the step.
Points and lines are written together when the buffer holds `FLUSH_POINTS` of them, when
`FLUSH_SECONDS` passed since the last write (checked on each report), before the handler sleeps
or reports progress, and when it ends. Each write announces the latest values once on the live
telemetry stream, so live delivery is coalesced at the source as well.
"""

from __future__ import annotations

import json
import logging
import time
from typing import TYPE_CHECKING

from myspinbot.core import lifecycle
from myspinbot.core.jobs import format_time, utc_now
from myspinbot.core.telemetry import MetricPoint, TelemetryBatch, TelemetryKind, TelemetryStore

if TYPE_CHECKING:
    from myspinbot.worker.runner import JobRun

log = logging.getLogger(__name__)

FLUSH_POINTS = 500
FLUSH_SECONDS = 0.25


class WorkerTelemetry:
    """A `TelemetrySink` writing through the worker's store on the job run's thread."""

    def __init__(self, run: JobRun) -> None:
        self.run = run
        self.batch = TelemetryBatch(run.job.id)
        self.last_flush = time.monotonic()
        self.dropped_warned = False

    @property
    def store(self) -> TelemetryStore:
        return self.run.runtime.store.telemetry

    def metric(self, step: int, values: dict[str, float]) -> None:
        self.batch.points.append(MetricPoint.model_construct(step=step, values=values))
        self._maybe_flush()

    def log_line(self, level: str, message: str) -> None:
        self.batch.logs.append((format_time(utc_now()), level, message))
        self._maybe_flush()

    def preview(self, data: bytes, content_type: str) -> None:
        job_id = self.run.job.id
        version = self.run.runtime.run(lambda: self.store.set_preview(job_id, data, content_type))
        payload = json.dumps(
            {"version": version, "content_type": content_type, "url": f"/api/jobs/{job_id}/preview?v={version}"}
        )
        self.run.runtime.run(lambda: self.store.announce(TelemetryKind.PREVIEW, job_id, payload))

    def artifact_published(self, name: str) -> None:
        self.flush()  # points up to this step are visible before the sample or checkpoint is
        artifact = next((item for item in self.run.job.artifacts if item.name == name), None)
        if artifact is None:
            return
        self.run.persist_artifacts()
        payload = json.dumps({"artifact": artifact.model_dump(mode="json")})
        self.run.runtime.run(lambda: self.store.announce(TelemetryKind.ARTIFACT, self.run.job.id, payload))

    def artifact_removed(self, name: str) -> None:
        self.run.job = lifecycle.without_artifact(self.run.job, name)
        self.run.persist_artifacts()
        payload = json.dumps({"removed": name})
        self.run.runtime.run(lambda: self.store.announce(TelemetryKind.ARTIFACT, self.run.job.id, payload))

    def flush(self) -> None:
        """Write what is buffered (one store trip)."""
        self.last_flush = time.monotonic()
        if not self.batch:
            return
        batch, self.batch = self.batch, TelemetryBatch(self.run.job.id)
        written = self.run.runtime.run(lambda: self.store.write(batch))
        if written.points_dropped and not self.dropped_warned:
            self.dropped_warned = True
            log.warning("job %s reached its bound of metric points; later points are dropped", batch.job_id)

    def _maybe_flush(self) -> None:
        pending = len(self.batch.points) + len(self.batch.logs)
        if pending >= FLUSH_POINTS or time.monotonic() - self.last_flush >= FLUSH_SECONDS:
            self.flush()

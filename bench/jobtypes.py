"""Job types for the benchmark only, loaded with MYSPINBOT_EXTRA_PLUGINS=bench.jobtypes.

`noop` returns at once (a zero-step job: what is measured is the kernel's own cost);
`events` emits progress steps at a steady rate, to drive the WebSocket fan-out; `metrics`
reports a metric point per step (the telemetry case).
"""

from __future__ import annotations

import time

from pydantic import BaseModel, ConfigDict, Field

from myspinbot import JobContext, JobType, hookimpl


class NoopParams(BaseModel):
    model_config = ConfigDict(extra="forbid")


def run_noop(ctx: JobContext, params: NoopParams) -> None:
    return None


class EventsParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    steps: int = Field(100, ge=1, le=1_000_000, description="Progress events to emit")
    rate: float = Field(20.0, gt=0, le=10_000, description="Progress events per second")


def run_events(ctx: JobContext, params: EventsParams) -> dict[str, int]:
    """Step on a fixed schedule (not a fixed pause), so the rate holds whatever a step costs."""
    started = time.monotonic()
    for step in range(1, params.steps + 1):
        delay = started + step / params.rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        ctx.progress(step, params.steps)
    return {"steps": params.steps}


class MetricsParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    points: int = Field(50_000, ge=1, le=100_000, description="Metric points to report, one per step")
    rate: float | None = Field(None, gt=0, le=1_000_000, description="Points per second (None: as fast as it can)")


def run_metrics(ctx: JobContext, params: MetricsParams) -> dict[str, int]:
    """Report loss and lr at every step, as a trainer does; progress every 10% of the steps."""
    started = time.monotonic()
    tenth = max(1, params.points // 10)
    for step in range(1, params.points + 1):
        if params.rate is not None:
            delay = started + step / params.rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        ctx.metric(step, loss=1.0 / (1 + step * 0.001), lr=1e-4)
        if step % tenth == 0:
            ctx.progress(step, params.points)
    return {"points": params.points}


@hookimpl
def register_job_types() -> list[JobType]:
    return [
        JobType(name="metrics", title="Metric reporter (benchmark)", params=MetricsParams, run=run_metrics),
        JobType(name="noop", title="No-op (benchmark)", params=NoopParams, run=run_noop),
        JobType(name="events", title="Event emitter (benchmark)", params=EventsParams, run=run_events),
    ]

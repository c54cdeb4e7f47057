"""Job types for tests only, loaded with MYSPINBOT_EXTRA_PLUGINS=tests.support.jobtypes."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from myspinbot import JobContext, JobType, hookimpl


class SleepyParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    steps: int = Field(5, ge=1, le=5000, description="How many progress steps")
    step_seconds: float = Field(0.1, ge=0, le=10, description="Pause per step")
    note: str = Field("", max_length=20_000, description="Carried in every event; makes frames larger")


def run_sleepy(ctx: JobContext, params: SleepyParams) -> dict[str, int]:
    for step in range(1, params.steps + 1):
        ctx.sleep(params.step_seconds)
        ctx.progress(step, params.steps, f"step {step} of {params.steps}")
    return {"steps": params.steps}


class FailingParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    message: str = Field("mock failure", description="The error the job fails with")


def run_failing(ctx: JobContext, params: FailingParams) -> None:
    ctx.progress(1, 2, "about to fail")
    raise RuntimeError(params.message)


@hookimpl
def register_job_types() -> list[JobType]:
    return [
        JobType(name="sleepy", title="Sleepy (test)", params=SleepyParams, run=run_sleepy),
        JobType(name="failing", title="Failing (test)", params=FailingParams, run=run_failing),
    ]

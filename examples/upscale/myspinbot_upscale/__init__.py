"""An example job-type plugin: 'upscale' (a mock that writes a text file)."""

from pydantic import BaseModel, Field

from myspinbot import JobContext, JobType, hookimpl


class UpscaleParams(BaseModel):
    factor: int = Field(2, ge=2, le=4, description="Scale factor")


def run(ctx: JobContext, params: UpscaleParams) -> dict[str, int]:
    ctx.log.info("upscaling by %d", params.factor)  # kept with the job: GET /api/jobs/{id}/logs
    for i in range(3):
        ctx.metric(i + 1, sharpness=0.5 + 0.1 * i * params.factor)  # a chart on the job page
        ctx.progress(i + 1, 3, f"pass {i + 1}")  # raises if the job was cancelled
    (ctx.workdir / "out.txt").write_text("done")
    ctx.add_artifact(ctx.workdir / "out.txt")
    return {"factor": params.factor}


@hookimpl
def register_job_types() -> list[JobType]:
    return [JobType(name="upscale", title="Upscale", params=UpscaleParams, run=run)]

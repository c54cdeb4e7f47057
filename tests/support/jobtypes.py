"""Job types for tests only, loaded with MYSPINBOT_EXTRA_PLUGINS=tests.support.jobtypes."""

from __future__ import annotations

import struct
import zlib

from pydantic import BaseModel, ConfigDict, Field

from myspinbot import FileSpec, JobContext, JobType, hookimpl


class SleepyParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    steps: int = Field(5, ge=1, le=5000, description="How many progress steps")
    step_seconds: float = Field(0.1, ge=0, le=10, description="Pause per step")
    note: str = Field("", max_length=20_000, description="Carried in every event; makes frames larger")
    scratch_bytes: int = Field(
        0, ge=0, le=1_000_000, description="Bytes written to a file in the job's workdir first (0: no folder is made)"
    )


def run_sleepy(ctx: JobContext, params: SleepyParams) -> dict[str, int]:
    if params.scratch_bytes:
        (ctx.workdir / "scratch.bin").write_bytes(b"\0" * params.scratch_bytes)
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


class ProbeParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    steps: int = Field(20, ge=1, le=100_000, description="Steps, each reporting the probe's metrics")
    progress_every: int = Field(5, ge=1, le=100_000, description="Report progress every N steps")
    step_seconds: float = Field(0.0, ge=0, le=10, description="Pause after each progress report")


def solid_png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A PNG of one colour, made without Pillow (the probe is a plugin with no dependencies)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\x00" + bytes(rgb) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


def run_probe(ctx: JobContext, params: ProbeParams) -> dict[str, int]:
    """A third-party job type: reports metric names no built-in job uses, a log line and a preview."""
    ctx.log("probe starting")
    for step in range(1, params.steps + 1):
        ctx.metric(step, **{"psnr_db": 20 + step % 7, "queue/items_per_s": 1000 / step})
        if step == params.steps // 2:
            ctx.preview(solid_png(64, 40, (40, 160, 90)))
        if step % params.progress_every == 0 or step == params.steps:
            ctx.progress(step, params.steps, f"probe step {step}")
            ctx.sleep(params.step_seconds)
    ctx.log.info("probe done after %d steps", params.steps)
    return {"steps": params.steps}


class InputsParams(BaseModel):
    model_config = ConfigDict(extra="forbid")


def run_inputs(ctx: JobContext, params: InputsParams) -> dict[str, list[str]]:
    ctx.progress(1, 1, f"{len(ctx.inputs)} file(s) received")
    return {"inputs": sorted(path.name for path in ctx.inputs)}


# One field with no extensions (any file) and one declared in upper case: the file-name rule
# (no extensions = any file, case-insensitive) must read the same in the API, client and dashboard.
INPUTS_FILES = (
    FileSpec(field="files", max_count=3, description="Any file"),
    FileSpec(field="images", extensions=(".PNG",), max_count=2, description="PNG images"),
)


class WriterParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field("hello", max_length=1000, description="What out.txt holds")


def run_writer(ctx: JobContext, params: WriterParams) -> None:
    """One step, then an artifact `out.txt` (for download and ownership tests)."""
    ctx.progress(1, 1, "writing")
    path = ctx.workdir / "out.txt"
    path.write_text(params.text)
    ctx.add_artifact(path)


@hookimpl
def register_job_types() -> list[JobType]:
    return [
        JobType(name="writer", title="Writer (test)", params=WriterParams, run=run_writer),
        JobType(name="sleepy", title="Sleepy (test)", params=SleepyParams, run=run_sleepy),
        JobType(name="failing", title="Failing (test)", params=FailingParams, run=run_failing),
        JobType(name="probe", title="Telemetry probe (test)", params=ProbeParams, run=run_probe),
        JobType(name="inputs", title="Inputs (test)", params=InputsParams, run=run_inputs, files=INPUTS_FILES),
    ]

"""The submission check of `generate`: a LoRA must come from a train job that succeeded."""

from __future__ import annotations

from myspinbot import JobReader, JobState, ParamError
from myspinbot_video_generate.params import GenerateParams

LORA_FIELD = "lora_job_id"
TRAIN_JOB_TYPE = "train"


async def check_lora(params: GenerateParams, jobs: JobReader) -> None:
    """Reject a `lora_job_id` that names no job, a job of another type, or an unfinished or failed one."""
    job_id = params.lora_job_id
    if job_id is None:
        return
    job = await jobs.get(job_id)
    if job is None:
        raise ParamError(LORA_FIELD, f"no job {job_id!r} exists; give the id of a succeeded train job")
    if job.type != TRAIN_JOB_TYPE:
        raise ParamError(LORA_FIELD, f"job {job_id!r} is a {job.type!r} job; a LoRA comes from a 'train' job")
    if job.state != JobState.SUCCEEDED:
        raise ParamError(
            LORA_FIELD, f"train job {job_id!r} is {job.state.value}; its LoRA can be used once it has succeeded"
        )
    if not any(artifact.name.endswith(".safetensors") for artifact in job.artifacts):
        raise ParamError(LORA_FIELD, f"train job {job_id!r} has no .safetensors artifact")

"""MySpinBot plugin: the `train` job type (LoRA training; a mock trainer in Phase 1)."""

from __future__ import annotations

from myspinbot import ArtifactKind, FileSpec, JobReader, JobType, ParamError, hookimpl
from myspinbot_lora_train.dataset import (
    ARCHIVE_EXTENSIONS,
    CAPTION_EXTENSIONS,
    FILES_FIELD,
    IMAGE_EXTENSIONS,
    MAX_FILES,
    check_inputs,
)
from myspinbot_lora_train.handler import run_training
from myspinbot_lora_train.params import TrainParams

__all__ = ["TRAIN", "TrainParams", "check_resume", "register_job_types", "run_training"]


async def check_resume(params: TrainParams, jobs: JobReader) -> None:
    """`resume_from` must name a checkpoint (or the final LoRA) of a train job that is still kept."""
    source = params.resume_source
    if source is None:
        return
    job_id, name = source
    job = await jobs.get(job_id)
    if job is None or job.type != "train":
        raise ParamError("resume_from", f"no train job {job_id} (it may have expired); use <train job id>/<checkpoint>")
    resumable = [
        artifact
        for artifact in job.artifacts
        if artifact.kind is ArtifactKind.CHECKPOINT
        or artifact.name == f"{job.params.get('output_name', 'lora')}.safetensors"
    ]
    artifact = next((item for item in resumable if item.name == name), None)
    if artifact is None:
        kept = ", ".join(item.name for item in resumable) or "none yet"
        raise ParamError("resume_from", f"train job {job_id} has no checkpoint {name!r} (its checkpoints: {kept})")
    if params.epochs is None and artifact.step is not None and artifact.step >= params.max_train_steps:
        raise ParamError(
            "max_train_steps",
            f"{name} is at step {artifact.step}: max_train_steps must be above it to train more",
        )


TRAIN = JobType(
    name="train",
    title="LoRA training",
    description="Train a LoRA on a small image dataset (images with optional same-named caption files, "
    "or one .zip of them); produces a .safetensors LoRA and a training log.",
    params=TrainParams,
    run=run_training,
    files=(
        FileSpec(
            field=FILES_FIELD,
            extensions=IMAGE_EXTENSIONS + CAPTION_EXTENSIONS,
            archive_extensions=ARCHIVE_EXTENSIONS,
            min_count=1,
            max_count=MAX_FILES,
            description="Training images (.png, .jpg, .jpeg, .webp), each optionally with a caption file of "
            "the same name (cat.png + cat.txt); or a single .zip holding them",
        ),
    ),
    route="/api/train",
    inputs_check=check_inputs,
    check=check_resume,
)


@hookimpl
def register_job_types() -> list[JobType]:
    """The `train` job type."""
    return [TRAIN]

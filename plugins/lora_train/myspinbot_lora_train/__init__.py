"""MySpinBot plugin: the `train` job type (LoRA training; a mock trainer in Phase 1)."""

from __future__ import annotations

from myspinbot import FileSpec, JobType, hookimpl
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

__all__ = ["TRAIN", "TrainParams", "register_job_types", "run_training"]

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
)


@hookimpl
def register_job_types() -> list[JobType]:
    """The `train` job type."""
    return [TRAIN]

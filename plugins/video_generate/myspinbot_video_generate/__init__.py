"""MySpinBot plugin: the `generate` job type (text/image-to-video; a mock model in Phase 1)."""

from __future__ import annotations

from myspinbot import FileSpec, JobType, hookimpl
from myspinbot_video_generate.check import check_lora
from myspinbot_video_generate.handler import IMAGE_SUFFIXES, run_generation
from myspinbot_video_generate.params import GenerateParams

__all__ = ["GENERATE", "GenerateParams", "check_lora", "register_job_types", "run_generation"]

GENERATE = JobType(
    name="generate",
    title="Video generation",
    description="Generate a short video from a prompt, optionally from an init image and with a LoRA from a "
    "train job; produces an animated preview, an MP4 (when imageio-ffmpeg is installed) and generation.json.",
    params=GenerateParams,
    run=run_generation,
    files=(
        FileSpec(
            field="init_image",
            extensions=IMAGE_SUFFIXES,
            max_count=1,
            description="Optional first frame (.png, .jpg, .jpeg, .webp): makes it an image-to-video job",
        ),
    ),
    route="/api/generate",
    check=check_lora,
)


@hookimpl
def register_job_types() -> list[JobType]:
    """The `generate` job type."""
    return [GENERATE]

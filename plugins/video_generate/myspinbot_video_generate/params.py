"""`GenerateParams`: a video generation request, shaped like Wan2.x / HunyuanVideo pipelines take it."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

MAX_FRAMES = 241


class GenerateParams(BaseModel):
    """Parameters of a `generate` job; unknown fields are rejected so a typo names itself."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, title="Video generation parameters")

    prompt: str = Field(
        ...,
        min_length=1,
        max_length=2000,
        title="Prompt",
        description="What the video shows",
        examples=["a corgi surfing a wave at sunset, cinematic"],
    )
    negative_prompt: str = Field(
        "", max_length=2000, title="Negative prompt", description="What the video should avoid"
    )
    width: int = Field(832, ge=128, le=1920, multiple_of=16, title="Width", description="Pixels; a multiple of 16")
    height: int = Field(480, ge=128, le=1920, multiple_of=16, title="Height", description="Pixels; a multiple of 16")
    num_frames: int = Field(
        81,
        ge=1,
        le=MAX_FRAMES,
        title="Frames",
        description="Frames to generate; must be 4k+1 (1, 5, …, 17, 33, 49, 81, …, 241)",
    )
    fps: int = Field(16, ge=1, le=60, title="Frames per second", description="Playback rate of the video")
    num_inference_steps: int = Field(
        30, ge=1, le=150, title="Inference steps", description="Denoising steps; more is slower and finer"
    )
    guidance_scale: float = Field(
        5.0,
        ge=0,
        le=30,
        title="Guidance scale",
        description="How closely to follow the prompt (classifier-free guidance)",
    )
    seed: int | None = Field(
        None, ge=0, le=2**32 - 1, title="Seed", description="Random seed; one is chosen and reported when left out"
    )
    lora_job_id: str | None = Field(
        None,
        min_length=1,
        max_length=100,
        title="LoRA job",
        description="Id of a succeeded `train` job whose LoRA to apply",
    )
    lora_scale: float = Field(1.0, ge=0, le=2, title="LoRA scale", description="Strength of the LoRA, if one is used")

    @field_validator("num_frames")
    @classmethod
    def _four_k_plus_one(cls, value: int) -> int:
        if value % 4 != 1:
            lower, upper = value - (value - 1) % 4, value - (value - 1) % 4 + 4
            raise ValueError(f"num_frames must be 4k+1, e.g. 17, 33, 81; the nearest are {lower} and {upper}")
        return value

    @property
    def duration_seconds(self) -> float:
        """How long the video plays."""
        return self.num_frames / self.fps

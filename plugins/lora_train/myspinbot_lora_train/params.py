"""`TrainParams`: a LoRA training request, shaped like the options kohya sd-scripts and ai-toolkit take."""

from __future__ import annotations

import json
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

LORA_SUFFIX = ".safetensors"
RESUME_FROM = r"^[0-9a-f]{32}/[A-Za-z0-9][A-Za-z0-9._-]*\.safetensors$"
MAX_SAMPLE_PROMPTS = 8


def _json_from_text(value: object) -> object:
    # A list arrives as JSON text in a multipart form field or from the CLI.
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return []
        try:
            return json.loads(text)
        except ValueError:
            return value
    return value


class SamplePrompt(BaseModel):
    """A prompt rendered at each sample step, always with the same seed (so samples compare)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    prompt: str = Field(..., min_length=1, max_length=500, description="What the sample shows")
    seed: int = Field(..., ge=0, le=2**32 - 1, description="The seed the sample is rendered with at every step")


# Multipart form fields are typed by the kernel from this model's schema ("768" -> 768), and an
# empty form field means "not given": no validator here needs to loosen the types for them.
Resolution = Literal[512, 768, 1024]
Optimizer = Literal["AdamW", "AdamW8bit", "Prodigy", "Adafactor", "Lion"]
Scheduler = Literal["constant", "cosine", "linear", "constant_with_warmup", "cosine_with_restarts"]
Precision = Literal["no", "fp16", "bf16"]


class TrainParams(BaseModel):
    """Parameters of a `train` job; unknown fields are rejected so a typo names itself."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, title="LoRA training parameters")

    base_model: str = Field(
        ...,
        min_length=1,
        max_length=300,
        title="Base model",
        description="The model the LoRA is trained on: a hub id or a checkpoint name",
        examples=["stabilityai/stable-diffusion-xl-base-1.0"],
    )
    output_name: str = Field(
        "lora",
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
        title="Output name",
        description="File name of the LoRA without extension: letters, digits, '.', '_' and '-'",
    )
    resolution: Resolution = Field(
        1024, title="Resolution", description="Training resolution in pixels (square buckets of this area)"
    )
    network_dim: int = Field(16, ge=1, le=256, title="Network rank (dim)", description="LoRA rank")
    network_alpha: float | None = Field(
        None,
        gt=0,
        le=256,
        title="Network alpha",
        description="Scales the LoRA's weights by alpha/dim; when left out it is network_dim / 2",
    )
    learning_rate: float = Field(1e-4, gt=0, le=1, title="Learning rate", description="Peak learning rate")
    max_train_steps: int = Field(
        1600, ge=1, le=100_000, title="Max train steps", description="Optimizer steps; ignored when epochs is set"
    )
    epochs: int | None = Field(
        None,
        ge=1,
        le=1000,
        title="Epochs",
        description="Passes over the dataset; when set it wins over max_train_steps "
        "(steps = epochs × ceil(images / batch size))",
    )
    train_batch_size: int = Field(1, ge=1, le=64, title="Batch size", description="Images per optimizer step")
    optimizer: Optimizer = Field("AdamW8bit", title="Optimizer", description="Optimizer type")
    lr_scheduler: Scheduler = Field("constant", title="LR scheduler", description="Learning-rate schedule")
    mixed_precision: Precision = Field(
        "bf16", title="Mixed precision", description="Training precision; also the dtype the LoRA is saved in"
    )
    caption_extension: Literal[".txt", ".caption"] = Field(
        ".txt",
        title="Caption extension",
        description="Captions are files named like their image with this extension (cat.png + cat.txt)",
    )
    seed: int | None = Field(
        None, ge=0, le=2**32 - 1, title="Seed", description="Random seed; one is chosen and reported when left out"
    )
    lr_warmup_steps: int = Field(
        0,
        ge=0,
        le=100_000,
        title="LR warm-up steps",
        description="Steps over which the learning rate ramps up from 0 before the scheduler's shape "
        "(constant_with_warmup alone defaults to 10% of the steps)",
    )
    sample_every_n_steps: int | None = Field(
        None, ge=1, le=100_000, title="Sample every N steps", description="Render the sample prompts every N steps"
    )
    sample_prompts: Annotated[list[SamplePrompt], BeforeValidator(_json_from_text)] = Field(
        default_factory=list,
        max_length=MAX_SAMPLE_PROMPTS,
        title="Sample prompts",
        description='Prompts rendered at each sample step, each with its seed: [{"prompt": "sks dog", "seed": 42}] '
        "(default: one prompt naming the output)",
    )
    save_every_n_steps: int | None = Field(
        None, ge=1, le=100_000, title="Save every N steps", description="Save a checkpoint every N steps"
    )
    save_last_n: int | None = Field(
        None, ge=1, le=1000, title="Keep last N checkpoints", description="Remove older checkpoints beyond the last N"
    )
    resume_from: str | None = Field(
        None,
        pattern=RESUME_FROM,
        max_length=300,
        title="Resume from",
        description="A checkpoint of an earlier train job, as <job id>/<artifact name>: training continues from "
        "its step (and its loss curve) up to max_train_steps",
    )

    @field_validator("output_name", mode="before")
    @classmethod
    def _drop_suffix(cls, value: object) -> object:
        if isinstance(value, str) and value.lower().endswith(LORA_SUFFIX):
            return value[: -len(LORA_SUFFIX)]
        return value

    @model_validator(mode="after")
    def _default_alpha(self) -> TrainParams:
        if self.network_alpha is None:
            self.network_alpha = self.network_dim / 2
        return self

    @property
    def prompts(self) -> list[SamplePrompt]:
        """The sample prompts in effect (one naming the output when none were given)."""
        return self.sample_prompts or [SamplePrompt(prompt=f"a photo of {self.output_name}", seed=42)]

    @property
    def resume_source(self) -> tuple[str, str] | None:
        """(job id, artifact name) of the checkpoint to resume from, if any."""
        if not self.resume_from:
            return None
        job_id, _, name = self.resume_from.partition("/")
        return job_id, name

    @property
    def alpha(self) -> float:
        """The network alpha in effect (never None after validation)."""
        return self.network_alpha if self.network_alpha is not None else self.network_dim / 2

    @property
    def lora_filename(self) -> str:
        """The name of the LoRA file this job writes."""
        return f"{self.output_name}{LORA_SUFFIX}"

    def total_steps(self, image_count: int) -> int:
        """Optimizer steps the job runs: from epochs when given, else max_train_steps."""
        if self.epochs is None:
            return self.max_train_steps
        batches = -(-max(image_count, 1) // self.train_batch_size)
        return self.epochs * batches

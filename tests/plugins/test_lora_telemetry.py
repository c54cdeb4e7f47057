"""Unit tests of the train mock's telemetry: per-step metrics, samples, checkpoints, resume."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from myspinbot import Job, ParamError
from myspinbot.core.lifecycle import make_artifact
from myspinbot.core.telemetry_sink import MemoryTelemetry
from myspinbot_lora_train import TrainParams, check_resume, run_training
from myspinbot_lora_train.safetensors import read_metadata
from myspinbot_lora_train.simulation import learning_rate_at
from tests.plugins.test_lora_train import make_dataset
from tests.support.handlers import FakeReporter, handler_context

PROMPTS = [{"prompt": "sks dog on a beach", "seed": 1}, {"prompt": "sks dog in space", "seed": 2}]


def train(tmp_path: Path, **params: Any) -> tuple[dict[str, Any], FakeReporter, MemoryTelemetry, Path]:
    """Run the handler with a memory sink; returns its result, reporter, telemetry and artifacts folder."""
    reporter = FakeReporter()
    ctx = handler_context(tmp_path, "train", reporter, make_dataset(tmp_path / "uploads"))
    values = {"base_model": "sdxl", "seed": 7, **params}
    result = run_training(ctx, TrainParams.model_validate(values))
    assert isinstance(ctx.telemetry, MemoryTelemetry)
    return dict(result), reporter, ctx.telemetry, ctx.artifacts_dir


def test_loss_and_lr_every_step_with_warmup_and_cosine(tmp_path: Path) -> None:
    """One point per step carrying loss, loss_avg and lr; the lr warms up then decays by cosine; the loss falls."""
    _, _, telemetry, _ = train(tmp_path, max_train_steps=300, lr_scheduler="cosine", lr_warmup_steps=30)
    assert [step for step, _ in telemetry.points] == list(range(1, 301))
    assert all(set(values) == {"loss", "loss_avg", "lr"} for _, values in telemetry.points)
    lrs = [values["lr"] for _, values in telemetry.points]
    assert lrs[:30] == sorted(lrs[:30]) and max(lrs) == pytest.approx(1e-4)
    assert lrs[30:] == sorted(lrs[30:], reverse=True) and lrs[-1] < 1e-6
    losses = [values["loss"] for _, values in telemetry.points]
    assert sum(losses[:30]) / 30 > sum(losses[-30:]) / 30 * 1.3  # falls
    assert any(b > a for a, b in itertools.pairwise(losses))  # with noise


def test_samples_per_prompt_at_each_sample_step_and_they_differ(tmp_path: Path) -> None:
    """sample_every_n_steps renders every prompt at each sample step; images differ by step and prompt."""
    _, reporter, telemetry, artifacts = train(
        tmp_path, max_train_steps=100, sample_every_n_steps=25, sample_prompts=PROMPTS
    )
    samples = {name: d for name, d in reporter.details.items() if d.get("kind") == "sample"}
    assert [(d["step"], d["caption"], d["seed"]) for d in samples.values()] == [
        (step, prompt["prompt"], prompt["seed"]) for step in (25, 50, 75, 100) for prompt in PROMPTS
    ]
    assert set(telemetry.published) >= set(samples)
    digests = {hashlib.sha256(Image.open(artifacts / name).tobytes()).hexdigest() for name in samples}
    assert len(digests) == len(samples)  # no two samples alike


def test_checkpoints_are_safetensors_and_only_the_last_n_are_kept(tmp_path: Path) -> None:
    """save_every_n_steps writes a checkpoint per save step; beyond save_last_n the oldest go."""
    result, reporter, telemetry, artifacts = train(tmp_path, max_train_steps=100, save_every_n_steps=20, save_last_n=2)
    saved = [name for name, d in reporter.details.items() if d.get("kind") == "checkpoint"]
    assert saved == [f"lora-{step:06d}.safetensors" for step in (20, 40, 60, 80)]
    assert telemetry.removed == ["lora-000020.safetensors", "lora-000040.safetensors"]
    assert sorted(p.name for p in artifacts.glob("lora-*.safetensors")) == saved[2:]
    assert result["checkpoints"] == saved[2:]
    metadata = read_metadata(artifacts / "lora-000080.safetensors")
    assert metadata["myspinbot.step"] == "80" and metadata["ss_steps"] == "80"


def test_resume_continues_the_step_and_the_curve(tmp_path: Path) -> None:
    """A run resumed from a checkpoint reports from the next step on, with the loss the first run would have had."""
    _, _, first, artifacts = train(tmp_path / "a", max_train_steps=200, save_every_n_steps=100)
    checkpoint = artifacts / "lora-000100.safetensors"
    reporter = FakeReporter()
    ctx = handler_context(tmp_path / "b", "train", reporter, make_dataset(tmp_path / "b" / "uploads"))
    ctx.artifact_of = lambda job_id, name: checkpoint  # type: ignore[method-assign]
    params = TrainParams(base_model="sdxl", seed=9, max_train_steps=300, resume_from="a" * 32 + "/" + checkpoint.name)
    result = run_training(ctx, params)
    assert isinstance(ctx.telemetry, MemoryTelemetry)
    resumed = ctx.telemetry.points
    assert resumed[0][0] == 101 and resumed[-1][0] == 300 and result["resumed_from_step"] == 100
    earlier = dict(first.points)
    assert [values["loss"] for step, values in resumed[:100]] == [earlier[s]["loss"] for s in range(101, 201)]
    assert resumed[0][1]["lr"] == learning_rate_at(params, 101, 300)


def make_train_job(artifacts: list[Any]) -> Job:
    return Job(
        id="b" * 32,
        type="train",
        created_at="2026-01-01T00:00:00Z",
        params={"output_name": "lora"},
        artifacts=artifacts,
    )


class Jobs:
    def __init__(self, *jobs: Job) -> None:
        self.jobs = {job.id: job for job in jobs}

    async def get(self, job_id: str) -> Job | None:
        return self.jobs.get(job_id)


@pytest.mark.parametrize(
    ("resume_from", "max_steps", "field", "words"),
    [
        ("c" * 32 + "/lora-000100.safetensors", 1600, "resume_from", "no train job"),
        ("b" * 32 + "/lora-000999.safetensors", 1600, "resume_from", "no checkpoint"),
        ("b" * 32 + "/lora-000100.safetensors", 100, "max_train_steps", "above it"),
    ],
)
def test_resume_from_is_checked_at_submit(resume_from: str, max_steps: int, field: str, words: str) -> None:
    """An unknown job or checkpoint, or no steps left to train, is refused naming the field."""
    checkpoint = make_artifact(
        "b" * 32, "lora-000100.safetensors", "application/octet-stream", 10, kind="checkpoint", step=100
    )
    params = TrainParams(base_model="m", resume_from=resume_from, max_train_steps=max_steps)
    with pytest.raises(ParamError) as caught:
        asyncio.run(check_resume(params, Jobs(make_train_job([checkpoint]))))
    assert caught.value.field == field and words in caught.value.message


def test_sample_prompts_parse_from_form_text() -> None:
    """A JSON list in a form field is a list of prompts, each needing its seed."""
    params = TrainParams.model_validate({"base_model": "m", "sample_prompts": '[{"prompt": "a", "seed": 3}]'})
    assert params.prompts[0].seed == 3
    with pytest.raises(ValueError, match="seed"):
        TrainParams.model_validate({"base_model": "m", "sample_prompts": [{"prompt": "a"}]})
    assert TrainParams(base_model="m", output_name="dog").prompts[0].prompt == "a photo of dog"

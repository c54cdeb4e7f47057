"""`run_training`: the mock LoRA trainer, stage by stage, ending in a real .safetensors file.

Like sd-scripts and ai-toolkit it reports the loss and learning rate at every step, renders the
sample prompts every `sample_every_n_steps`, saves a checkpoint every `save_every_n_steps`
(keeping the last `save_last_n`), and can resume from a checkpoint of an earlier run, continuing
its step count and its loss curve.
"""

from __future__ import annotations

import json
import random
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from myspinbot import JobContext
from myspinbot_lora_train.dataset import load_dataset, tag_frequency
from myspinbot_lora_train.lora import RunFacts, lora_tensors, training_metadata
from myspinbot_lora_train.params import TrainParams
from myspinbot_lora_train.safetensors import data_hash, read_metadata, write_safetensors
from myspinbot_lora_train.samples import write_sample
from myspinbot_lora_train.simulation import CurveShape, learning_rate_at, tick_steps, warmup_steps

# However many optimizer steps a job asks for, the mock shows at most this many progress ticks.
MAX_TICKS = 20
LOG_NAME = "training_log.json"
EMA_WEIGHT = 0.1  # the smoothed loss (`loss_avg`) trainers show next to the raw one


@dataclass(frozen=True)
class ResumePoint:
    """Where a resumed run starts: the checkpoint's step, its loss curve and its seed."""

    step: int
    shape: CurveShape
    source: str


def load_resume_point(ctx: JobContext, params: TrainParams) -> ResumePoint | None:
    """The checkpoint named by `resume_from`, read from the earlier job's files."""
    source = params.resume_source
    if source is None:
        return None
    job_id, name = source
    metadata = read_metadata(ctx.artifact_of(job_id, name))
    try:
        step, shape = int(metadata["myspinbot.step"]), CurveShape.from_metadata(metadata)
    except (KeyError, ValueError):
        raise ValueError(f"{name} of job {job_id} records no training step; it cannot be resumed from") from None
    return ResumePoint(step, shape, f"{job_id}/{name}")


class Trainer:
    """One mock run: the per-step metrics, samples and checkpoints between progress ticks."""

    def __init__(self, ctx: JobContext, params: TrainParams, steps: int, seed: int, shape: CurveShape) -> None:
        self.ctx = ctx
        self.params = params
        self.steps = steps
        self.seed = seed
        self.shape = shape
        self.started_at = time.time()
        self.average: float | None = None
        self.best = float("inf")
        self.history: list[tuple[int, float]] = []
        self.checkpoints: list[str] = []
        self.image_count = 0
        self.tags: dict[str, int] = {}

    def train_until(self, first: int, last: int) -> float:
        """Run steps first..last (inclusive); returns the smoothed loss, never rising, at `last`."""
        params = self.params
        for step in range(first, last + 1):
            loss = self.shape.loss_at(step)
            self.average = loss if self.average is None else (1 - EMA_WEIGHT) * self.average + EMA_WEIGHT * loss
            self.ctx.metric(step, loss=loss, loss_avg=self.average, lr=learning_rate_at(params, step, self.steps))
            if params.sample_every_n_steps and step % params.sample_every_n_steps == 0:
                self.render_samples(step)
            if params.save_every_n_steps and step % params.save_every_n_steps == 0 and step < self.steps:
                self.save_checkpoint(step)
        self.best = min(self.best, self.average if self.average is not None else self.best)
        self.history.append((last, self.best))
        return self.best

    def render_samples(self, step: int) -> None:
        for index, sample in enumerate(self.params.prompts):
            path = self.ctx.workdir / "samples" / f"sample-{step:06d}-{index:02d}.png"
            write_sample(path, sample.prompt, sample.seed, step, self.steps)
            self.ctx.sample(path, step, caption=sample.prompt, seed=sample.seed)

    def save_checkpoint(self, step: int) -> None:
        name = f"{self.params.output_name}-{step:06d}.safetensors"
        path = self.ctx.workdir / name
        self.write_lora(path, step)
        self.ctx.checkpoint(path, step, caption=f"step {step}")
        self.ctx.log.info("saved checkpoint %s at step %d", name, step)
        self.checkpoints.append(name)
        keep = self.params.save_last_n
        while keep is not None and len(self.checkpoints) > keep:
            oldest = self.checkpoints.pop(0)
            self.ctx.remove_artifact(oldest)
            self.ctx.log.info("removed checkpoint %s (save_last_n=%d)", oldest, keep)

    def write_lora(self, path: Path, step: int) -> None:
        tensors = lora_tensors(self.params, random.Random(self.seed * 31 + step))
        facts = RunFacts(
            job_id=self.ctx.job_id,
            seed=self.seed,
            steps=step,
            image_count=self.image_count,
            warmup_steps=warmup_steps(self.params, self.steps),
            started_at=self.started_at,
            finished_at=time.time(),
            tag_frequency=self.tags,
            model_hash=data_hash(tensors),
        )
        metadata = {**training_metadata(self.params, facts), **self.shape.metadata(), "myspinbot.step": str(step)}
        write_safetensors(path, tensors, metadata)


def run_training(ctx: JobContext, params: TrainParams) -> dict[str, Any]:
    """Load, cache latents, train (metrics every step, samples, checkpoints), save; progress over the whole job."""
    resume = load_resume_point(ctx, params)
    seed = params.seed if params.seed is not None else secrets.randbelow(2**32)
    dataset = load_dataset(ctx.inputs, ctx.workdir, params.caption_extension)
    if not dataset:
        raise ValueError("the dataset holds no image")
    steps = params.total_steps(len(dataset))
    first = resume.step if resume else 0
    if first >= steps:
        raise ValueError(f"resume_from is at step {first}: max_train_steps must be above it to train more")
    trainer = Trainer(ctx, params, steps, seed, resume.shape if resume else CurveShape.new(steps, seed))
    trainer.image_count, trainer.tags = len(dataset), tag_frequency(dataset)
    ticks = [first + tick for tick in tick_steps(steps - first, MAX_TICKS)]
    total = len(ticks) + 3  # load model, cache latents, the ticks, save
    done = 0

    def stage(message: str) -> None:
        nonlocal done
        ctx.progress(done, total, message)
        ctx.sleep(ctx.step_seconds)
        done += 1

    ctx.log.info("training %s: %d images, %d steps, seed %d", params.lora_filename, len(dataset), steps, seed)
    if resume:
        ctx.log.info("resuming from %s at step %d", resume.source, resume.step)
    stage(f"loading base model {params.base_model}")
    stage(f"caching latents ({len(dataset)} images)")
    previous = first
    for tick in ticks:
        loss = trainer.train_until(previous + 1, tick)
        stage(f"step {tick}/{steps} · loss {loss:.4f}")
        previous = tick
    stage(f"saving {params.lora_filename}")

    lora_path = ctx.workdir / params.lora_filename
    trainer.write_lora(lora_path, steps)
    log_path = ctx.workdir / LOG_NAME
    log_path.write_text(json.dumps(_training_log(params, trainer, resume), indent=2), encoding="utf-8")
    ctx.add_artifact(lora_path)
    ctx.add_artifact(log_path)
    ctx.progress(total, total, f"saved {params.lora_filename}")
    return {
        "lora_file": params.lora_filename,
        "final_loss": round(trainer.best, 4),
        "steps": steps,
        "images": len(dataset),
        "seed": seed,
        "network_dim": params.network_dim,
        "network_alpha": params.alpha,
        "resumed_from_step": resume.step if resume else None,
        "checkpoints": trainer.checkpoints,
    }


def _training_log(params: TrainParams, trainer: Trainer, resume: ResumePoint | None) -> dict[str, Any]:
    return {
        "job_id": trainer.ctx.job_id,
        "lora_file": params.lora_filename,
        "base_model": params.base_model,
        "seed": trainer.seed,
        "steps": trainer.steps,
        "images": trainer.image_count,
        "params": params.model_dump(mode="json"),
        "resumed_from": {"checkpoint": resume.source, "step": resume.step} if resume else None,
        "loss": [
            {"step": step, "loss": round(loss, 5), "lr": learning_rate_at(params, step, trainer.steps)}
            for step, loss in trainer.history
        ],
        "final_loss": round(trainer.best, 5),
        "mock": True,
    }

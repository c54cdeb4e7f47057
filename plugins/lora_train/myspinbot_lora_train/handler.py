"""`run_training`: the mock LoRA trainer, stage by stage, ending in a real .safetensors file."""

from __future__ import annotations

import json
import random
import secrets
import time
from typing import Any

from myspinbot import JobContext
from myspinbot_lora_train.dataset import load_dataset, tag_frequency
from myspinbot_lora_train.lora import RunFacts, lora_tensors, training_metadata
from myspinbot_lora_train.params import TrainParams
from myspinbot_lora_train.safetensors import data_hash, write_safetensors
from myspinbot_lora_train.simulation import LossCurve, learning_rate_at, tick_steps, warmup_steps

# However many optimizer steps a job asks for, the mock shows at most this many of them.
MAX_TICKS = 20
LOG_NAME = "training_log.json"


def run_training(ctx: JobContext, params: TrainParams) -> dict[str, Any]:
    """Load, cache latents, train with a falling loss, save; progress counts over the whole job."""
    started_at = time.time()
    seed = params.seed if params.seed is not None else secrets.randbelow(2**32)
    dataset = load_dataset(ctx.inputs, ctx.workdir, params.caption_extension)
    if not dataset:
        raise ValueError("the dataset holds no image")
    steps = params.total_steps(len(dataset))
    ticks = tick_steps(steps, MAX_TICKS)
    total = len(ticks) + 3  # load model, cache latents, the ticks, save
    done = 0

    def stage(message: str) -> None:
        nonlocal done
        ctx.progress(done, total, message)
        ctx.sleep(ctx.step_seconds)
        done += 1

    ctx.log.info("training %s: %d images, %d steps, seed %d", params.lora_filename, len(dataset), steps, seed)
    stage(f"loading base model {params.base_model}")
    stage(f"caching latents ({len(dataset)} images)")
    rng = random.Random(seed)
    curve = LossCurve(steps, rng)
    for step in ticks:
        stage(f"step {step}/{steps} · loss {curve.at(step):.4f}")
    stage(f"saving {params.lora_filename}")

    tensors = lora_tensors(params, rng)
    facts = RunFacts(
        job_id=ctx.job_id,
        seed=seed,
        steps=steps,
        image_count=len(dataset),
        warmup_steps=warmup_steps(params, steps),
        started_at=started_at,
        finished_at=time.time(),
        tag_frequency=tag_frequency(dataset),
        model_hash=data_hash(tensors),
    )
    lora_path = ctx.workdir / params.lora_filename
    write_safetensors(lora_path, tensors, training_metadata(params, facts))
    log_path = ctx.workdir / LOG_NAME
    log_path.write_text(json.dumps(_training_log(params, facts, curve), indent=2), encoding="utf-8")
    ctx.add_artifact(lora_path)
    ctx.add_artifact(log_path)
    ctx.progress(total, total, f"saved {params.lora_filename}")
    return {
        "lora_file": params.lora_filename,
        "final_loss": round(curve.last, 4),
        "steps": steps,
        "images": len(dataset),
        "seed": seed,
        "network_dim": params.network_dim,
        "network_alpha": params.alpha,
    }


def _training_log(params: TrainParams, facts: RunFacts, curve: LossCurve) -> dict[str, Any]:
    return {
        "job_id": facts.job_id,
        "lora_file": params.lora_filename,
        "base_model": params.base_model,
        "seed": facts.seed,
        "steps": facts.steps,
        "images": facts.image_count,
        "params": params.model_dump(mode="json"),
        "loss": [
            {"step": step, "loss": round(loss, 5), "lr": learning_rate_at(params, step, facts.steps)}
            for step, loss in curve.history
        ],
        "final_loss": round(curve.last, 5),
        "mock": True,
    }

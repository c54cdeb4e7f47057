"""The mock LoRA's contents: kohya-style module names, small weights and `ss_*` training metadata."""

from __future__ import annotations

import json
import math
import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from myspinbot_lora_train.params import TrainParams
from myspinbot_lora_train.safetensors import DType, Tensor

# Real layers are 320-1280 wide; the mock keeps every module 64 wide so the file stays small.
MODULE_WIDTH = 64
MODULES = (
    "lora_unet_down_blocks_1_attentions_0_transformer_blocks_0_attn1_to_q",
    "lora_unet_down_blocks_1_attentions_0_transformer_blocks_0_attn1_to_k",
    "lora_unet_down_blocks_1_attentions_0_transformer_blocks_0_attn1_to_v",
    "lora_unet_down_blocks_1_attentions_0_transformer_blocks_0_attn1_to_out_0",
    "lora_unet_mid_block_attentions_0_transformer_blocks_0_attn2_to_q",
    "lora_unet_mid_block_attentions_0_transformer_blocks_0_attn2_to_out_0",
    "lora_te_text_model_encoder_layers_0_self_attn_q_proj",
    "lora_te_text_model_encoder_layers_0_self_attn_v_proj",
)
SAVE_DTYPES: dict[str, DType] = {"no": "F32", "fp16": "F16", "bf16": "BF16"}


def lora_tensors(params: TrainParams, rng: random.Random) -> dict[str, Tensor]:
    """`lora_down` [dim, width], `lora_up` [width, dim] and a scalar `alpha` for each module."""
    dtype = SAVE_DTYPES[params.mixed_precision]
    dim = params.network_dim
    down_scale = 1.0 / math.sqrt(MODULE_WIDTH)
    tensors: dict[str, Tensor] = {}
    for module in MODULES:
        down = [rng.gauss(0.0, down_scale) for _ in range(dim * MODULE_WIDTH)]
        up = [rng.gauss(0.0, 0.01) for _ in range(MODULE_WIDTH * dim)]
        tensors[f"{module}.lora_down.weight"] = Tensor(dtype, (dim, MODULE_WIDTH), down)
        tensors[f"{module}.lora_up.weight"] = Tensor(dtype, (MODULE_WIDTH, dim), up)
        tensors[f"{module}.alpha"] = Tensor(dtype, (), [params.alpha])
    return tensors


def _timestamp(epoch_seconds: float) -> str:
    return datetime.fromtimestamp(epoch_seconds, UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class RunFacts:
    """What a finished run knows beyond its parameters, for the file's metadata."""

    job_id: str
    seed: int
    steps: int
    image_count: int
    warmup_steps: int
    started_at: float
    finished_at: float
    tag_frequency: Mapping[str, int]
    model_hash: str


def training_metadata(params: TrainParams, facts: RunFacts) -> dict[str, str]:
    """`__metadata__` in the style of sd-scripts (`ss_*`) plus the modelspec keys UIs read."""
    batches = -(-facts.image_count // params.train_batch_size)
    epochs = params.epochs if params.epochs is not None else -(-facts.steps // batches)
    resolution = params.resolution
    return {
        "ss_session_id": str(facts.seed),
        "ss_training_started_at": str(facts.started_at),
        "ss_training_finished_at": str(facts.finished_at),
        "ss_output_name": params.output_name,
        "ss_sd_model_name": params.base_model,
        "ss_network_module": "networks.lora",
        "ss_network_dim": str(params.network_dim),
        "ss_network_alpha": str(params.alpha),
        "ss_learning_rate": str(params.learning_rate),
        "ss_unet_lr": str(params.learning_rate),
        "ss_text_encoder_lr": str(params.learning_rate),
        "ss_optimizer": params.optimizer,
        "ss_lr_scheduler": params.lr_scheduler,
        "ss_lr_warmup_steps": str(facts.warmup_steps),
        "ss_max_train_steps": str(facts.steps),
        "ss_steps": str(facts.steps),
        "ss_num_epochs": str(epochs),
        "ss_epoch": str(epochs),
        "ss_num_train_images": str(facts.image_count),
        "ss_num_batches_per_epoch": str(batches),
        "ss_batch_size_per_device": str(params.train_batch_size),
        "ss_total_batch_size": str(params.train_batch_size),
        "ss_gradient_accumulation_steps": "1",
        "ss_mixed_precision": params.mixed_precision,
        "ss_resolution": f"({resolution}, {resolution})",
        "ss_cache_latents": "True",
        "ss_caption_extension": params.caption_extension,
        "ss_seed": str(facts.seed),
        "ss_dataset_dirs": json.dumps({"dataset": {"n_repeats": 1, "img_count": facts.image_count}}),
        "ss_tag_frequency": json.dumps({"dataset": dict(facts.tag_frequency)}),
        "sshs_model_hash": facts.model_hash,
        "modelspec.sai_model_spec": "1.0.0",
        "modelspec.architecture": "lora",
        "modelspec.implementation": "myspinbot.mock",
        "modelspec.title": params.output_name,
        "modelspec.resolution": f"{resolution}x{resolution}",
        "modelspec.date": _timestamp(facts.finished_at),
        "myspinbot.job_id": facts.job_id,
        "myspinbot.mock": "true",
    }

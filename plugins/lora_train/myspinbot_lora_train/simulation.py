"""What a mock training run reports: which steps it shows, the learning rate and a noisy falling loss."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from myspinbot_lora_train.params import TrainParams

RESTART_CYCLES = 3
WARMUP_SHARE = 0.1


def tick_steps(total_steps: int, max_ticks: int) -> list[int]:
    """At most `max_ticks` training steps, evenly spread, strictly increasing, ending at `total_steps`."""
    ticks = max(1, min(max_ticks, total_steps))
    return [(total_steps * index + ticks // 2) // ticks for index in range(1, ticks + 1)]


def warmup_steps(params: TrainParams, total_steps: int) -> int:
    """Warm-up steps of the schedule: `lr_warmup_steps`, else 10% for `constant_with_warmup`, else none."""
    if params.lr_warmup_steps:
        return min(params.lr_warmup_steps, max(0, total_steps - 1))
    return max(1, round(total_steps * WARMUP_SHARE)) if params.lr_scheduler == "constant_with_warmup" else 0


def learning_rate_at(params: TrainParams, step: int, total_steps: int) -> float:
    """The learning rate at `step` (0-based) of `total_steps`: a linear warm-up, then the scheduler's shape."""
    peak = params.learning_rate
    warmup = warmup_steps(params, total_steps)
    if warmup and step < warmup:
        return peak * max(step, 0) / warmup
    done = min(max((step - warmup) / max(total_steps - warmup, 1), 0.0), 1.0)
    match params.lr_scheduler:
        case "constant" | "constant_with_warmup":
            return peak
        case "linear":
            return peak * (1.0 - done)
        case "cosine":
            return peak * 0.5 * (1.0 + math.cos(math.pi * done))
        case "cosine_with_restarts":
            cycle = (done * RESTART_CYCLES) % 1.0 if done < 1.0 else 1.0
            return peak * 0.5 * (1.0 + math.cos(math.pi * cycle))
    raise ValueError(f"unknown scheduler {params.lr_scheduler!r}")


@dataclass(frozen=True)
class CurveShape:
    """What fixes a run's loss curve, saved in each checkpoint so a resumed run continues it."""

    start: float
    floor: float
    tau: float  # steps for the excess loss to fall by a factor e
    seed: int

    @classmethod
    def new(cls, total_steps: int, seed: int) -> CurveShape:
        """A fresh curve: the loss falls most of the way over `total_steps`."""
        rng = random.Random(seed)
        return cls(rng.uniform(0.13, 0.17), rng.uniform(0.05, 0.08), max(total_steps, 1) / 4.0, seed)

    def loss_at(self, step: int) -> float:
        """The noisy per-step loss: the same at a step whatever run reports it (so a resume continues)."""
        noise = random.Random(self.seed * 1_000_003 + step).gauss(0.0, 0.12)
        excess = (self.start - self.floor) * math.exp(-step / self.tau)
        return max(0.0, self.floor * (1.0 + noise * 0.25) + excess * (1.0 + noise))

    def metadata(self) -> dict[str, str]:
        """The shape as `myspinbot.loss_*` metadata of a checkpoint."""
        return {
            "myspinbot.loss_start": repr(self.start),
            "myspinbot.loss_floor": repr(self.floor),
            "myspinbot.loss_tau": repr(self.tau),
            "myspinbot.loss_seed": str(self.seed),
        }

    @classmethod
    def from_metadata(cls, metadata: dict[str, str]) -> CurveShape:
        """The shape a checkpoint recorded; KeyError or ValueError when it has none."""
        return cls(
            float(metadata["myspinbot.loss_start"]),
            float(metadata["myspinbot.loss_floor"]),
            float(metadata["myspinbot.loss_tau"]),
            int(metadata["myspinbot.loss_seed"]),
        )

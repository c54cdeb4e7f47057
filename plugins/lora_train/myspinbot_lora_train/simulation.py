"""What a mock training run reports: which steps it shows, the learning rate and a falling loss."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

from myspinbot_lora_train.params import TrainParams

RESTART_CYCLES = 3
WARMUP_SHARE = 0.1


def tick_steps(total_steps: int, max_ticks: int) -> list[int]:
    """At most `max_ticks` training steps, evenly spread, strictly increasing, ending at `total_steps`."""
    ticks = max(1, min(max_ticks, total_steps))
    return [(total_steps * index + ticks // 2) // ticks for index in range(1, ticks + 1)]


def warmup_steps(params: TrainParams, total_steps: int) -> int:
    """Warm-up steps of the schedule (only `constant_with_warmup` has any)."""
    return max(1, round(total_steps * WARMUP_SHARE)) if params.lr_scheduler == "constant_with_warmup" else 0


def learning_rate_at(params: TrainParams, step: int, total_steps: int) -> float:
    """The learning rate the scheduler gives at `step` (0-based) of `total_steps`."""
    peak = params.learning_rate
    done = min(max(step / total_steps, 0.0), 1.0)
    match params.lr_scheduler:
        case "constant":
            return peak
        case "constant_with_warmup":
            warmup = warmup_steps(params, total_steps)
            return peak * min(1.0, step / warmup)
        case "linear":
            return peak * (1.0 - done)
        case "cosine":
            return peak * 0.5 * (1.0 + math.cos(math.pi * done))
        case "cosine_with_restarts":
            cycle = (done * RESTART_CYCLES) % 1.0 if done < 1.0 else 1.0
            return peak * 0.5 * (1.0 + math.cos(math.pi * cycle))
    raise ValueError(f"unknown scheduler {params.lr_scheduler!r}")


@dataclass
class LossCurve:
    """A plausible running-average loss: fast early drop, a noisy plateau, never going up."""

    total_steps: int
    rng: random.Random
    start: float = 0.0
    floor: float = 0.0
    last: float = math.inf
    history: list[tuple[int, float]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.start = self.rng.uniform(0.13, 0.17)
        self.floor = self.rng.uniform(0.05, 0.08)

    def at(self, step: int) -> float:
        """The loss reported after `step` steps; recorded in `history`."""
        decay = math.exp(-4.0 * step / self.total_steps)
        value = self.floor + (self.start - self.floor) * decay * (1.0 + self.rng.gauss(0.0, 0.03))
        self.last = min(self.last, max(value, 0.0))
        self.history.append((step, self.last))
        return self.last

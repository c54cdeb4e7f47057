"""Queue control's shared vocabulary: priorities, what the broker tells about queues, start estimates.

The broker's key layout (kombu's priority sub-queues, held lists) is not here: it belongs to
`myspinbot.worker.wire`, the one module that knows Celery's wire. Everything here is pure (no I/O).
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from myspinbot_client.models import Priority

__all__ = ["BrokerView", "Priority", "RunningJob", "estimate_starts"]


class BrokerView(Protocol):
    """What the broker tells about its queues (worker/broker_queues.py on Redis); set on the
    kernel by the API as `Kernel.broker`, read by /metrics."""

    async def depths(self, queues: list[str]) -> dict[str, int]:
        """Messages waiting in each queue (every priority, held ones included)."""
        ...

    async def paused(self) -> set[str]:
        """Names of the queues paused now."""
        ...


@dataclass(frozen=True)
class RunningJob:
    """A running job as the estimate sees it: its type and how long it has left, if known."""

    job_type: str
    seconds_left: float | None


def mean_seconds(durations: Sequence[float]) -> float | None:
    """The mean of recent durations; None with none."""
    return sum(durations) / len(durations) if durations else None


def estimate_starts(
    waiting_types: Sequence[str],
    running: Sequence[RunningJob],
    concurrency: int,
    typical_seconds: dict[str, float],
) -> list[float | None]:
    """Seconds until each waiting job (in queue order) starts, by filling the workers' slots
    with the typical duration of each job type. None from the first job nobody can time (no
    worker serves the queue, or no duration is known for a type ahead)."""
    if concurrency <= 0:
        return [None] * len(waiting_types)
    fallback = mean_seconds(list(typical_seconds.values()))
    slots: list[float] = []
    for job in running:
        left = job.seconds_left if job.seconds_left is not None else typical_seconds.get(job.job_type, fallback)
        if left is None:
            return [None] * len(waiting_types)
        slots.append(max(0.0, left))
    slots.sort()
    # More running than the concurrency (a worker just left): count only the soonest to free (optimistic).
    slots = slots[:concurrency] + [0.0] * max(0, concurrency - len(slots))
    heapq.heapify(slots)
    starts: list[float | None] = []
    for job_type in waiting_types:
        duration = typical_seconds.get(job_type, fallback)
        start = heapq.heappop(slots)
        starts.append(round(start, 1))
        if duration is None:
            return starts + [None] * (len(waiting_types) - len(starts))
        heapq.heappush(slots, start + duration)
    return starts

"""Queue control's shared vocabulary: priorities, the broker's key layout, start estimates.

The publisher (worker/wire.py) writes these keys and the store plugin reads them for depths and
/metrics; both take the names from here, so neither hard-codes the other's layout. Everything
here is pure (no I/O).
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass

from myspinbot_client.models import Priority

__all__ = ["KOMBU_PRIORITY", "PAUSED_QUEUES_KEY", "PRIORITY_STEPS", "Priority", "RunningJob", "estimate_starts"]


# kombu's Redis transport emulates priorities with one list per step, BRPOPs them in this order
# (0 first) and files a message under the step at or below its `priority` property.
PRIORITY_STEPS: tuple[int, ...] = (0, 3, 6, 9)
SUB_QUEUE_SEPARATOR = "\x06\x16"
KOMBU_PRIORITY: dict[Priority, int] = {Priority.HIGH: 0, Priority.NORMAL: 3, Priority.LOW: 6}
# A Redis set of paused queue names; paused queues' messages wait in "held" lists no worker reads.
PAUSED_QUEUES_KEY = "myspinbot:queues:paused"


def sub_queue(queue: str, step: int) -> str:
    """The list kombu consumes for one priority step of a queue (step 0 is the queue itself)."""
    return f"{queue}{SUB_QUEUE_SEPARATOR}{step}" if step else queue


def held_queue(queue: str, step: int) -> str:
    """Where a paused queue's messages of one priority step wait; no consumer reads it."""
    return f"{queue}{SUB_QUEUE_SEPARATOR}held{SUB_QUEUE_SEPARATOR}{step}"


def broker_lists(queue: str) -> list[str]:
    """Every list holding a queue's waiting messages: live ones, then held ones, by step."""
    return [sub_queue(queue, step) for step in PRIORITY_STEPS] + [held_queue(queue, step) for step in PRIORITY_STEPS]


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

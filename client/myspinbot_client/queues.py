"""Queue control on the wire: queues, workers and their resources, batches, priority changes.

The API answers with these models and the client reads them (see models.py for why once).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from myspinbot_client.models import JSON, Job, JobState, Priority, Timestamp, WireModel


class GpuInfo(WireModel):
    """One NVIDIA GPU of a worker's machine, as NVML reports it."""

    index: int
    name: str
    memory_used_bytes: int
    memory_total_bytes: int
    utilization_percent: int | None = None


class MemoryInfo(WireModel):
    """A machine's memory in use and in all."""

    used_bytes: int
    total_bytes: int


class WorkerInfo(WireModel):
    """A worker as its last heartbeat describes it, with the jobs it runs now."""

    name: str
    host: str = ""
    queues: list[str] = Field(default_factory=list)
    concurrency: int = 1
    pid: int | None = None
    started_at: Timestamp | None = None
    seen_at: Timestamp | None = None
    cpu_count: int | None = None
    cpu_percent: float | None = None
    memory: MemoryInfo | None = None
    gpus: list[GpuInfo] = Field(default_factory=list, description="Empty when the machine has no NVML")
    running_jobs: list[str] = Field(default_factory=list)


class QueueWorker(WireModel):
    """A worker serving a queue, as the queues listing shows it."""

    name: str
    host: str = ""
    concurrency: int = 1


class QueueInfo(WireModel):
    """One queue: how much waits, how much runs, whether it is paused, who serves it."""

    name: str
    job_types: list[str] = Field(default_factory=list)
    paused: bool = False
    depth: int = Field(0, description="Jobs waiting (held ones included while paused)")
    running: int = 0
    concurrency: int = Field(0, description="Slots of the workers serving it")
    workers: list[QueueWorker] = Field(default_factory=list)


class QueuePlace(WireModel):
    """A waiting job's place in a live queue frame."""

    id: str
    position: int
    starts_in_seconds: float | None = None


class QueueFrame(WireModel):
    """`{"type": "queue"}` on /ws: a queue's picture when its order changed (live only, never replayed)."""

    type: Literal["queue"] = "queue"
    queue: str
    paused: bool = False
    depth: int = 0
    running: int = 0
    concurrency: int = 0
    jobs: list[QueuePlace] = Field(default_factory=list, description="The first waiting jobs, next first")


class PriorityChange(WireModel):
    """Body of `POST /api/jobs/{id}/priority`."""

    priority: Priority
    front: bool = Field(False, description="Also put it ahead of every job waiting on its queue (admin)")


class Batch(WireModel):
    """A batch: the jobs one request made, with their aggregated progress and counts by state."""

    id: str
    type: str
    owner: str = Field("", description="Name of the user who submitted the batch")
    created_at: Timestamp
    priority: Priority = Priority.NORMAL
    job_ids: list[str] = Field(default_factory=list)
    total: int = 0
    counts: dict[JobState, int] = Field(default_factory=dict, description="Jobs per state")
    progress: float = Field(0.0, ge=0.0, le=1.0, description="Mean progress of its jobs")
    finished: bool = False
    jobs: list[Job] = Field(default_factory=list)
    links: dict[str, str] = Field(default_factory=dict)


def sweep_sets(base: JSON, sweep: dict[str, list[Any]]) -> list[JSON]:
    """Every combination of the swept values over `base` (a cartesian product, first key slowest)."""
    sets: list[JSON] = [dict(base)]
    for name, values in sweep.items():
        sets = [{**current, name: value} for current in sets for value in values]
    return sets


__all__ = [
    "Batch",
    "GpuInfo",
    "MemoryInfo",
    "PriorityChange",
    "QueueFrame",
    "QueueInfo",
    "QueuePlace",
    "QueueWorker",
    "WorkerInfo",
    "sweep_sets",
]

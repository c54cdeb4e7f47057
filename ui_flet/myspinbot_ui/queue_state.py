"""What the queues panel shows: the queues, the workers, queued jobs' places and the batches.

Queues and places are read from the API every few seconds while the page is open (positions
are worked out on read; the job events do not carry them). Batches are summed up from the
jobs the board holds, so a batch row moves with every job event.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from myspinbot_client import ApiError, AsyncMySpinBotClient, Job, JobState
from myspinbot_client.queues import QueueInfo, WorkerInfo
from myspinbot_ui.state import JobBoard

PLACES_READ = 100  # queued jobs whose place is read per refresh


@dataclass(frozen=True)
class BatchSummary:
    """A batch as the board's jobs show it."""

    id: str
    job_type: str
    total: int
    counts: Counter[JobState]
    progress: float

    @property
    def finished(self) -> bool:
        return sum(count for state, count in self.counts.items() if state.finished) == self.total

    def counts_text(self) -> str:
        """ "6 succeeded · 2 running · 4 queued" """
        order = [JobState.SUCCEEDED, JobState.RUNNING, JobState.QUEUED, JobState.FAILED, JobState.CANCELLED]
        return " · ".join(f"{self.counts[state]} {state.value}" for state in order if self.counts[state])


def batch_summaries(jobs: list[Job]) -> list[BatchSummary]:
    """One summary per batch among `jobs`, newest batch first."""
    grouped: dict[str, list[Job]] = {}
    for job in jobs:
        if job.batch_id:
            grouped.setdefault(job.batch_id, []).append(job)
    summaries = []
    for batch_id, members in grouped.items():
        progress = sum(1.0 if job.finished else job.progress for job in members) / len(members)
        counts = Counter(job.state for job in members)
        summaries.append(BatchSummary(batch_id, members[0].type, len(members), counts, progress))
    return summaries


@dataclass
class QueueBoard:
    """The queues and workers as last read."""

    queues: list[QueueInfo] = field(default_factory=list)
    workers: list[WorkerInfo] = field(default_factory=list)
    error: str = ""

    async def refresh(self, client: AsyncMySpinBotClient, board: JobBoard) -> None:
        """Read the queues and the workers, and the queued jobs again for their places (a job read
        carries its `position`; the board takes it as the same version's newer look)."""
        try:
            self.queues = await client.queues()
            self.workers = await client.workers()
            page = await client.list_page(state=JobState.QUEUED, limit=PLACES_READ)
        except ApiError as error:
            self.error = error.message
            return
        self.error = ""
        board.apply_all(page.jobs)

    def queue(self, name: str) -> QueueInfo | None:
        return next((queue for queue in self.queues if queue.name == name), None)

"""Queue control as one service: queue views (order, position, start estimate), pause and
resume, and changing a queued job's priority. Routes and the live queue feed call it."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from myspinbot.api.errors import ApiError
from myspinbot.core.job_service import JobKeptChanging, JobService, Saved
from myspinbot.core.jobs import EventName, Job, JobState
from myspinbot.core.kernel import Kernel
from myspinbot.core.queueing import Priority, RunningJob, estimate_starts, mean_seconds
from myspinbot.worker.broker_queues import BrokerQueues
from myspinbot.worker.wire import BrokerUnavailable
from myspinbot_client.queues import QueueInfo, QueueWorker, WorkerInfo

VIEW_TTL_SECONDS = 0.25  # a burst of reads (a job list) shares one look at the broker
MAX_RUNNING_READ = 500


@dataclass(frozen=True)
class QueueView:
    """A queue at one moment: its waiting jobs in order with start estimates."""

    name: str
    paused: bool
    depth: int
    running: int
    concurrency: int
    order: list[str]
    starts: dict[str, float | None]
    complete: bool
    workers: list[WorkerInfo] = field(default_factory=list)

    def position(self, job_id: str) -> int | None:
        """1 for the next job to start; None when the job is not (or no longer) waiting here."""
        try:
            return self.order.index(job_id) + 1
        except ValueError:
            return None


class QueueService:
    """Reads and steers the queues; every answer about order comes from the broker itself."""

    def __init__(self, kernel: Kernel, broker: BrokerQueues) -> None:
        self.kernel = kernel
        self.broker = broker
        self._views: dict[str, tuple[float, QueueView]] = {}

    def queue_names(self) -> list[str]:
        return self.kernel.queues()

    def job_types_of(self, queue: str) -> list[str]:
        return sorted(name for name, job_type in self.kernel.job_types.items() if job_type.queue == queue)

    def queue_of(self, job: Job) -> str:
        """The queue a job waits on (records from before jobs named theirs: their type's)."""
        if job.queue:
            return job.queue
        job_type = self.kernel.job_types.get(job.type)
        return job_type.queue if job_type else job.type

    def queue_or_404(self, queue: str) -> str:
        """The queue's name, or a 404 that lists the known ones."""
        if queue not in self.queue_names():
            known = ", ".join(self.queue_names()) or "none"
            raise ApiError(404, f"unknown queue {queue!r}; known queues: {known}", code="unknown_queue")
        return queue

    def _require_broker(self) -> None:
        if not self.broker.supported:
            raise ApiError(409, "queue control needs the Redis broker (MYSPINBOT_REDIS_URL)", code="unsupported")

    async def workers(self) -> list[WorkerInfo]:
        """Every online worker with its details and the jobs it runs."""
        store = self.kernel.store
        found = [WorkerInfo.model_validate(data) for data in await store.workers()]
        running = (await store.list_jobs(state=JobState.RUNNING, limit=MAX_RUNNING_READ)).jobs
        return [
            worker.model_copy(
                update={
                    "running_jobs": [job.id for job in running if (job.worker or "").rpartition("/")[0] == worker.name]
                }
            )
            for worker in found
        ]

    async def view(self, queue: str, *, fresh: bool = False) -> QueueView:
        """The queue's order and estimates, shared for a moment between readers."""
        cached = self._views.get(queue)
        if not fresh and cached and time.monotonic() - cached[0] < VIEW_TTL_SECONDS:
            return cached[1]
        view = await self._compute(queue)
        self._views[queue] = (time.monotonic(), view)
        return view

    async def _compute(self, queue: str) -> QueueView:
        store = self.kernel.store
        types = self.job_types_of(queue)
        order, workers, running_page, durations = await asyncio.gather(
            self.broker.order(queue),
            self.workers(),
            store.list_jobs(state=JobState.RUNNING, limit=MAX_RUNNING_READ),
            store.recent_durations(types),
        )
        serving = [worker for worker in workers if queue in worker.queues]
        concurrency = sum(worker.concurrency for worker in serving)
        running = [job for job in running_page.jobs if self.queue_of(job) == queue]
        typical = {name: mean for name, values in durations.items() if (mean := mean_seconds(values)) is not None}
        task_types = {job_type.task_name: name for name, job_type in self.kernel.job_types.items()}
        ids = [job_id for job_id, _ in order.tasks]
        if order.paused:
            starts: list[float | None] = [None] * len(ids)
        else:
            starts = estimate_starts(
                [task_types.get(task, types[0] if types else "") for _, task in order.tasks],
                [RunningJob(job.type, job.eta_seconds) for job in running],
                concurrency,
                typical,
            )
        return QueueView(
            name=queue,
            paused=order.paused,
            depth=order.depth,
            running=len(running),
            concurrency=concurrency,
            order=ids,
            starts=dict(zip(ids, starts, strict=True)),
            complete=order.complete,
            workers=serving,
        )

    async def annotate(self, jobs: list[Job]) -> list[Job]:
        """The jobs with `position` and `starts_in_seconds` filled in for the queued ones."""
        if not self.broker.supported or not any(job.state == JobState.QUEUED for job in jobs):
            return jobs
        views: dict[str, QueueView] = {}
        annotated = []
        for job in jobs:
            if job.state != JobState.QUEUED:
                annotated.append(job)
                continue
            queue = self.queue_of(job)
            view = views.get(queue) or await self.view(queue)
            if view.position(job.id) is None and view is not views.get(queue):
                view = await self.view(queue, fresh=True)  # submitted since the shared look
            views[queue] = view
            position = view.position(job.id)
            annotated.append(
                job.model_copy(update={"position": position, "starts_in_seconds": view.starts.get(job.id)})
            )
        return annotated

    async def queues(self) -> list[QueueInfo]:
        """Every queue with its depth, running jobs, paused state and workers."""
        views = [await self.view(name, fresh=True) for name in self.queue_names()]
        return [
            QueueInfo(
                name=view.name,
                job_types=self.job_types_of(view.name),
                paused=view.paused,
                depth=view.depth,
                running=view.running,
                concurrency=view.concurrency,
                workers=[QueueWorker(name=w.name, host=w.host, concurrency=w.concurrency) for w in view.workers],
            )
            for view in views
        ]

    async def set_paused(self, queue: str, paused: bool) -> QueueInfo:
        """Pause or resume a queue (idempotent) and return it as it stands."""
        self._require_broker()
        self.queue_or_404(queue)
        try:
            await (self.broker.pause(queue) if paused else self.broker.resume(queue))
        except BrokerUnavailable as error:
            raise ApiError(503, f"the job queue is unreachable: {error}", code="broker_unavailable") from None
        self._views.pop(queue, None)
        return next(info for info in await self.queues() if info.name == queue)

    async def reprioritize(self, job: Job, priority: Priority, *, front: bool) -> Job:
        """Give a queued job another priority (and the front of the queue with `front`); its one
        message moves between sub-queues, so it still runs exactly once."""
        self._require_broker()
        if job.state != JobState.QUEUED:
            raise ApiError(
                409, f"job {job.id} is {job.state.value}; only a queued job's priority can change", code="not_queued"
            )
        queue = self.queue_of(job)
        try:
            moved = await self.broker.move(queue, job.id, priority, front=front)
        except BrokerUnavailable as error:
            raise ApiError(503, f"the job queue is unreachable: {error}", code="broker_unavailable") from None
        if not moved:
            raise ApiError(409, f"job {job.id} is being started by a worker; too late to reorder", code="not_queued")
        self._views.pop(queue, None)

        def reprioritized(current: Job) -> Job | None:
            return current.model_copy(update={"priority": priority}) if current.state == JobState.QUEUED else None

        try:
            change = await JobService.of(self.kernel).change(job, reprioritized, EventName.UPDATED)
        except JobKeptChanging:
            raise ApiError(409, f"job {job.id} kept changing; try again", code="conflict") from None
        if change.saved != Saved.SAVED:
            return change.job  # it left the queue meanwhile (taken by a worker, cancelled or expired)
        return (await self.annotate([change.job]))[0]

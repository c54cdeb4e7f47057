"""Queue routes: the queues and workers, pause and resume, a queued job's priority."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Depends, Path
from starlette.requests import HTTPConnection

from myspinbot.api.deps import ReadableJob, require_role
from myspinbot.api.errors import error_responses
from myspinbot.api.queue_service import QueueService
from myspinbot.core.identity import Role
from myspinbot.core.jobs import Job
from myspinbot_client.queues import PriorityChange, QueueInfo, WorkerInfo

log = logging.getLogger(__name__)
QueueName = Annotated[str, Path(description="A queue name (see GET /api/queues)", max_length=100)]


async def get_queue_service(connection: HTTPConnection) -> QueueService:
    """The app's queue service."""
    service: QueueService = connection.app.state.queues
    return service


QueuesDep = Annotated[QueueService, Depends(get_queue_service)]
# Who may pause, resume and reorder queues: admins (others get 403). Reading them is for everyone.
AdminOnly = [require_role(Role.ADMIN)]


def build_queue_router() -> APIRouter:
    """`/api/queues`, `/api/workers` and `/api/jobs/{id}/priority`."""
    router = APIRouter(prefix="/api", tags=["queues"], responses=error_responses(401, 403, 404, 409, 422, 503))

    @router.get("/queues", response_model=list[QueueInfo], summary="Every queue: depth, running, paused, workers")
    async def list_queues(queues: QueuesDep) -> list[QueueInfo]:
        return await queues.queues()

    @router.post("/queues/{queue}/pause", response_model=QueueInfo, summary="Pause a queue", dependencies=AdminOnly)
    async def pause_queue(queue: QueueName, queues: QueuesDep) -> QueueInfo:
        """No new job of the queue starts (running ones finish); queued jobs keep their order.
        Pausing a paused queue changes nothing."""
        info = await queues.set_paused(queue, True)
        log.info("queue %s paused (%d waiting)", queue, info.depth)
        return info

    @router.post("/queues/{queue}/resume", response_model=QueueInfo, summary="Resume a queue", dependencies=AdminOnly)
    async def resume_queue(queue: QueueName, queues: QueuesDep) -> QueueInfo:
        """Workers take the queue's jobs again, in their order."""
        info = await queues.set_paused(queue, False)
        log.info("queue %s resumed (%d waiting)", queue, info.depth)
        return info

    @router.get("/workers", response_model=list[WorkerInfo], summary="Workers online, their queues and resources")
    async def list_workers(queues: QueuesDep) -> list[WorkerInfo]:
        return await queues.workers()

    @router.post(
        "/jobs/{job_id}/priority",
        response_model=Job,
        summary="Change a queued job's priority",
        dependencies=AdminOnly,
    )
    async def change_priority(job: ReadableJob, change: PriorityChange, queues: QueuesDep) -> Job:
        """A queued job moves to the end of its new priority's line, or with `front` ahead of
        every waiting job ("run next"); 409 once a worker has it."""
        changed = await queues.reprioritize(job, change.priority, front=change.front)
        log.info("job %s: priority %s%s", job.id, change.priority.value, " (front)" if change.front else "")
        return changed

    return router

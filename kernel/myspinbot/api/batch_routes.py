"""Routes that make jobs from other jobs or in bulk: retry, clone, batches and sweeps."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response
from starlette.requests import HTTPConnection

from myspinbot.api.batches import BatchRequest, BatchService
from myspinbot.api.deps import ActionableJob, ActorDep, KernelDep, PrincipalDep, ReadableJob
from myspinbot.api.errors import ApiError, error_responses
from myspinbot.api.job_routes import accepted, cancel, json_or_form_body
from myspinbot.api.resubmission import Resubmitter
from myspinbot.api.submission import job_type_or_404
from myspinbot.core.identity import Principal
from myspinbot.core.jobs import Job
from myspinbot_client.queues import Batch

log = logging.getLogger(__name__)
BatchId = Annotated[str, Path(description="A batch id (32 hex characters)")]
CLONE_BODY = json_or_form_body(
    "Parameters to change (the rest are the old job's), as JSON or multipart form fields; "
    "files sent replace the old job's inputs"
)


async def get_batches(connection: HTTPConnection) -> BatchService:
    service: BatchService = connection.app.state.batches
    return service


async def get_resubmitter(connection: HTTPConnection) -> Resubmitter:
    service: Resubmitter = connection.app.state.resubmitter
    return service


BatchesDep = Annotated[BatchService, Depends(get_batches)]
ResubmitterDep = Annotated[Resubmitter, Depends(get_resubmitter)]


def batch_answer(batch: Batch) -> Response:
    """The 202 answer to a batch submission (the same for an idempotent repeat)."""
    return Response(
        batch.model_dump_json(),
        status_code=202,
        media_type="application/json",
        headers={"Location": batch.links["self"]},
    )


async def batch_or_404(batches: BatchService, batch_id: str, principal: Principal) -> Batch:
    """The batch, if the caller may see it (its owner, viewers, admins); else 404 as for none."""
    batch = await batches.get(batch_id)
    if batch is None or not principal.may_read_job(batch.owner):
        raise ApiError(404, f"no batch with id {batch_id!r} (it may have expired)", code="batch_not_found")
    return batch


def build_batch_router() -> APIRouter:
    """`/api/jobs/{id}/retry|clone` and `/api/batches`."""
    router = APIRouter(prefix="/api", tags=["batches"], responses=error_responses(401, 403, 404, 409, 422, 429, 503))

    @router.post("/jobs/{job_id}/retry", status_code=202, response_model=Job, summary="Retry a failed or cancelled job")
    async def retry_job(
        job: ActionableJob, request: Request, principal: ActorDep, resubmitter: ResubmitterDep
    ) -> Response:
        """A new job with the same parameters and the same input files (no new upload), linked by
        `retry_of`; `?priority=` overrides the old job's priority. 409 unless failed or cancelled."""
        return accepted(await resubmitter.retry(job, request, principal))

    @router.post(
        "/jobs/{job_id}/clone",
        status_code=202,
        response_model=Job,
        summary="Clone a job with edits",
        responses=error_responses(400, 413, 415),
        openapi_extra={"requestBody": CLONE_BODY},
    )
    async def clone_job(
        job: ReadableJob, request: Request, principal: ActorDep, resubmitter: ResubmitterDep
    ) -> Response:
        """A new job from any job: its parameters overlaid by the body's (validated like a
        submit), its input files unless the request uploads new ones; linked by `cloned_from`."""
        return accepted(await resubmitter.clone(job, request, principal))

    @router.post(
        "/batches/{job_type}",
        status_code=202,
        response_model=Batch,
        summary="Submit a batch or a sweep of one job type",
        openapi_extra={"requestBody": {"content": {"application/json": {"schema": BatchRequest.model_json_schema()}}}},
    )
    async def submit_batch(
        job_type: str, request: Request, kernel: KernelDep, batches: BatchesDep, principal: ActorDep
    ) -> Response:
        """`{"params": [{...}, ...]}` or `{"sweep": {"seed": [1, 2]}, "base": {...}}`: one job per set,
        all validated first (one bad set: 422 naming its index, no job). With an `Idempotency-Key`
        a repeat returns the first batch."""
        batch, _ = await batches.submit(job_type_or_404(kernel, job_type), request, principal)
        return batch_answer(batch)

    @router.get("/batches/{batch_id}", response_model=Batch, summary="A batch: its jobs, counts by state, progress")
    async def get_batch(batch_id: BatchId, batches: BatchesDep, principal: PrincipalDep) -> Batch:
        return await batch_or_404(batches, batch_id, principal)

    @router.post("/batches/{batch_id}/cancel", response_model=Batch, summary="Cancel every unfinished job of a batch")
    async def cancel_batch(batch_id: BatchId, batches: BatchesDep, kernel: KernelDep, principal: ActorDep) -> Batch:
        """Queued jobs are cancelled at once, running ones stop at their next step."""
        batch = await batch_or_404(batches, batch_id, principal)
        if not principal.may_act_on_job(batch.owner):
            raise ApiError(404, f"no batch with id {batch_id!r} (it may have expired)", code="batch_not_found")
        for job in batch.jobs:
            if not job.state.finished:
                try:
                    await cancel(kernel, job.id)
                except ApiError as error:
                    if error.status != 409:  # finished meanwhile: nothing to cancel
                        raise
        log.info("batch %s cancelled", batch_id)
        return await batch_or_404(batches, batch_id, principal)

    return router

"""Job routes: submit (a router of its own), read, list, cancel, artifacts."""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import FileResponse, Response

from myspinbot.api.deps import (
    ActionableJob,
    KernelDep,
    PrincipalDep,
    ReadableJob,
    StoreDep,
    current_actor,
    job_not_found,
    owner_filter,
)
from myspinbot.api.errors import ApiError, error_responses
from myspinbot.api.queue_service import QueueService
from myspinbot.api.submission import Submitter, job_type_or_404
from myspinbot.core.job_service import (
    BrokerUnavailable,
    JobAlreadyFinished,
    JobKeptChanging,
    JobNotFound,
    JobService,
)
from myspinbot.core.jobfiles import JOB_ID, JobFolders
from myspinbot.core.jobs import Artifact, Job, JobState
from myspinbot.core.jobtypes import JobType
from myspinbot.core.kernel import Kernel
from myspinbot.core.store import JobPage

JobId = Annotated[str, Path(description="A job id (32 hex characters)")]
ERRORS = error_responses(401, 404, 422, 429, 503)
SUBMIT_ERRORS = error_responses(400, 403, 413, 415)

log = logging.getLogger(__name__)


def json_or_form_body(description: str) -> dict[str, Any]:
    """The OpenAPI request body of a route that reads its parameters as JSON or as multipart form fields."""
    return {
        "description": description,
        "content": {
            "application/json": {"schema": {"type": "object"}},
            "multipart/form-data": {"schema": {"type": "object"}},
        },
    }


GENERIC_BODY = json_or_form_body(
    "The job type's parameters (see GET /api/job-types), as JSON or as multipart form fields "
    "with files under the job type's file fields"
)


def request_body_for(job_type: JobType) -> dict[str, Any]:
    """OpenAPI request body of a job type's alias route, from its parameter model."""
    schema = job_type.params.model_json_schema()
    if "$defs" in schema:  # nested models would need components; describe generically instead
        return {"requestBody": GENERIC_BODY}
    form = {**schema, "properties": dict(schema.get("properties", {}))}
    needs_files = [spec.field for spec in job_type.files if spec.min_count > 0]
    for spec in job_type.files:
        form["properties"][spec.field] = {"type": "array", "items": {"type": "string", "format": "binary"}}
    if needs_files:
        form["required"] = sorted({*form.get("required", []), *needs_files})
    content: dict[str, Any] = {"multipart/form-data": {"schema": form}}
    if not needs_files:  # a JSON body cannot carry files
        content["application/json"] = {"schema": schema}
    return {
        "requestBody": {
            "description": f"{job_type.title} parameters as JSON, or as multipart form fields with files",
            "required": bool(schema.get("required")) or bool(needs_files),
            "content": content,
        }
    }


async def with_queue_places(request: Request, jobs: list[Job]) -> list[Job]:
    """Queued jobs with their `position` and `starts_in_seconds` (see api/queue_service.py).

    The places are extras read from the broker: while it cannot be reached the jobs are still
    served, with both left null ("not known"), rather than the whole answer failing."""
    service: QueueService | None = getattr(request.app.state, "queues", None)
    if service is None:
        return jobs
    try:
        return await service.annotate(jobs)
    except BrokerUnavailable as error:
        log.warning("queue places left out, the broker is unreachable: %s", error)
        return jobs


def submitter(request: Request) -> Submitter:
    instance: Submitter = request.app.state.submitter
    return instance


def accepted(job: Job, body: str | None = None) -> Response:
    """The 202 answer to a submission (`body`: the job's JSON, when the submit path made it already)."""
    # model_dump_json serialises in one pass (pydantic-core), no dict then json.dumps.
    return Response(
        body if body is not None else job.model_dump_json(),
        status_code=202,
        media_type="application/json",
        headers={"Location": job.links.get("self", "")},
    )


def submit_route(job_type: JobType) -> Any:
    """An endpoint that submits jobs of one type (used for route aliases such as /api/train)."""

    async def submit_alias(request: Request) -> Response:
        principal = await current_actor(request)
        job, _, body = await submitter(request).submit(job_type, request, principal)
        return accepted(job, body)

    submit_alias.__doc__ = f"Submit a {job_type.title} job (alias of POST /api/jobs/{job_type.name})."
    return submit_alias


def build_submit_router(kernel: Kernel) -> APIRouter:
    """`POST /api/jobs/{type}` and one alias per job type that declares a `route`.

    The hottest routes of the API, so they are cheap to reach and to call: the app includes this
    router before the others (FastAPI tries included routers in order) and without the
    router-level auth dependency; each endpoint authenticates in its first line instead
    (`current_actor`: the same 401/403/429 answers as `ActorDep`). tests/identity/test_route_table.py
    walks these routes with every role like every other.
    """
    router = APIRouter(prefix="/api", tags=["jobs"], responses=ERRORS)

    @router.post(
        "/jobs/{job_type}",
        status_code=202,
        response_model=Job,
        summary="Submit a job of any type",
        responses=SUBMIT_ERRORS,
        openapi_extra={"requestBody": GENERIC_BODY},
    )
    async def submit_job(job_type: str, request: Request) -> Response:
        """Submit a job: a JSON object of parameters, or multipart with parameters as form fields
        and files under the job type's file fields. With an `Idempotency-Key` header, a repeat
        within the window returns the first job instead of making another."""
        principal = await current_actor(request)
        job, _, body = await submitter(request).submit(job_type_or_404(kernel, job_type), request, principal)
        return accepted(job, body)

    for job_type in kernel.job_types.values():
        if job_type.route:
            router.add_api_route(
                job_type.route.removeprefix("/api"),
                submit_route(job_type),
                methods=["POST"],
                status_code=202,
                response_model=Job,
                summary=f"Submit a {job_type.title} job",
                name=f"submit_{job_type.name}",
                responses=SUBMIT_ERRORS,
                openapi_extra=request_body_for(job_type),
            )
    return router


def build_job_router() -> APIRouter:
    """The job routes but submitting (see build_submit_router): read, list, cancel, artifacts."""
    router = APIRouter(prefix="/api", tags=["jobs"], responses=ERRORS)

    @router.get("/jobs", summary="List jobs, newest first", response_model=JobPage)
    async def list_jobs(
        request: Request,
        store: StoreDep,
        principal: PrincipalDep,
        state: Annotated[JobState | None, Query(description="Only jobs in this state")] = None,
        type: Annotated[str | None, Query(description="Only jobs of this type", max_length=40)] = None,
        limit: Annotated[int, Query(ge=1, le=200, description="Jobs per page")] = 50,
        cursor: Annotated[
            str | None, Query(pattern=r"^\d{1,19}$", description="next_cursor of the previous page")
        ] = None,
    ) -> JobPage:
        """A page of jobs and the cursor of the next page (null on the last); a member sees only its own."""
        owner = owner_filter(principal)
        page = await store.list_jobs(state=state, job_type=type, limit=limit, cursor=cursor, owner=owner)
        return page.model_copy(update={"jobs": await with_queue_places(request, page.jobs)})

    @router.get("/jobs/{job_id}", response_model=Job, summary="A job's state")
    async def get_job(job: ReadableJob, request: Request) -> Job:
        """The job; while queued, with its place in its queue and an estimated start."""
        return (await with_queue_places(request, [job]))[0]

    @router.get("/status/{job_id}", response_model=Job, summary="A job's state (same as /api/jobs/{id})")
    async def get_status(job: ReadableJob, request: Request) -> Job:
        return (await with_queue_places(request, [job]))[0]

    @router.post(
        "/jobs/{job_id}/cancel", response_model=Job, summary="Cancel a job", responses=error_responses(403, 409)
    )
    async def cancel_job(job: ActionableJob, kernel: KernelDep) -> Job:
        """A queued job is cancelled at once; a running one stops at its next step; 409 once finished."""
        return await cancel(kernel, job.id)

    @router.get("/jobs/{job_id}/artifacts", response_model=list[Artifact], summary="A job's output files")
    async def list_artifacts(job: ReadableJob) -> list[Artifact]:
        return job.artifacts

    @router.get("/jobs/{job_id}/artifacts/{name}", summary="Download one output file", response_class=FileResponse)
    async def download_artifact(job: ReadableJob, name: str, kernel: KernelDep) -> FileResponse:
        artifact = next((item for item in job.artifacts if item.name == name), None)
        path = JobFolders.of(kernel.settings.jobs_dir, job.id).artifact(name) if artifact else None
        if artifact is None or path is None:
            raise ApiError(404, f"job {job.id} has no artifact {name!r}", code="artifact_not_found")
        return FileResponse(path, media_type=artifact.content_type, filename=artifact.name)

    return router


async def cancel(kernel: Kernel, job_id: str) -> Job:
    """Cancel through the job service, its refusals as the API's errors."""
    if not JOB_ID.match(job_id):
        raise job_not_found(job_id)
    try:
        return await JobService.of(kernel).cancel(job_id)
    except JobNotFound:
        raise job_not_found(job_id) from None
    except JobAlreadyFinished as finished:
        raise ApiError(
            409,
            f"job {job_id} is already {finished.job.state.value}; only queued or running jobs can be cancelled",
            code="job_finished",
        ) from None
    except JobKeptChanging:
        raise ApiError(409, f"job {job_id} kept changing; try again", code="conflict") from None

"""Accepting a job: parse, validate, store the files, write the record, enqueue — or nothing."""

from __future__ import annotations

import json
import re
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from pydantic import BaseModel, ValidationError
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request

from myspinbot.api.errors import ApiError, field_errors, human_bytes, invalid_params
from myspinbot.api.uploads import UploadLimits, discard_folder, group_uploads, store_uploads
from myspinbot.core import lifecycle
from myspinbot.core.identity import Principal
from myspinbot.core.job_service import BrokerUnavailable, JobQueue, JobService
from myspinbot.core.jobfiles import JobFolders
from myspinbot.core.jobs import Job
from myspinbot.core.jobtypes import FileSpec, JobType, ParamError
from myspinbot.core.kernel import Kernel
from myspinbot.core.params import params_from_form, params_from_json
from myspinbot.core.queueing import Priority

IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9._:-]{1,200}$")


def job_type_or_404(kernel: Kernel, name: str) -> JobType:
    """The job type by name, or a 404 that lists the known ones."""
    job_type = kernel.job_types.get(name)
    if job_type is None:
        known = ", ".join(sorted(kernel.job_types)) or "none"
        raise ApiError(404, f"unknown job type {name!r}; known job types: {known}", code="unknown_job_type")
    return job_type


def idempotency_key_of(request: Request) -> str | None:
    """The request's Idempotency-Key, checked for a sane shape."""
    key = request.headers.get("idempotency-key")
    if key is None:
        return None
    if not IDEMPOTENCY_KEY.match(key):
        raise ApiError(
            422,
            "Idempotency-Key must be 1–200 characters of letters, digits, '.', '_', ':' or '-'",
            details=[{"field": "Idempotency-Key", "message": "invalid header value"}],
        )
    return key


@dataclass(frozen=True)
class RawSubmission:
    """What a submission request carried: a JSON body or text form fields, and uploads."""

    json_body: bytes | None = None
    form_fields: dict[str, str] = field(default_factory=dict)
    uploads: list[tuple[str, UploadFile]] = field(default_factory=list)

    def validate(self, job_type: JobType) -> BaseModel:
        """The job type's parameters: JSON validated strictly, form fields typed by the schema first."""
        try:
            if self.json_body is not None:
                return params_from_json(job_type.params, self.json_body)
            return params_from_form(job_type.params, self.form_fields)
        except ValidationError as error:
            raise invalid_params(field_errors(error, schema=job_type.params.model_json_schema())) from None


UNKNOWN_BODY = "send Content-Type: application/json or multipart/form-data"


def too_large(size: str, limit: int) -> ApiError:
    """413 for a request body over MYSPINBOT_MAX_REQUEST_BYTES, in human units and naming the setting."""
    return ApiError(
        413,
        f"request body is {size}; the limit is {human_bytes(limit)} ({limit} bytes, MYSPINBOT_MAX_REQUEST_BYTES)",
    )


async def read_request(request: Request, kernel: Kernel) -> RawSubmission:
    """The parameters and uploads of a submission, from a JSON body or a multipart form."""
    settings = kernel.settings
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > settings.max_request_bytes:
        raise too_large(human_bytes(int(declared)), settings.max_request_bytes)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "multipart/form-data" or (
        content_type == "application/x-www-form-urlencoded" and not await looks_like_json(request)
    ):
        try:
            form = await request.form(max_files=settings.max_files, max_fields=1000)
        except HTTPException as error:
            if error.status_code != 400:
                raise  # e.g. 413 from the request body limit
            if "Too many" in str(error.detail):  # Starlette's limits on files and fields
                limit = f"at most {settings.max_files} files, MYSPINBOT_MAX_FILES"
                message = f"too many files or fields in one request ({limit})"
                raise ApiError(413, f"{message}: {error.detail}") from None
            raise ApiError(400, f"malformed form body: {error.detail}") from None
        fields: dict[str, str] = {}
        uploads: list[tuple[str, UploadFile]] = []
        for key, value in form.multi_items():
            if isinstance(value, UploadFile):
                uploads.append((key, value))
            else:
                fields[key] = value
        return RawSubmission(form_fields=fields, uploads=uploads)
    body = await request.body()
    if len(body) > settings.max_request_bytes:
        raise too_large(f"larger than {human_bytes(settings.max_request_bytes)}", settings.max_request_bytes)
    if content_type == "" and not body.strip():
        return RawSubmission(json_body=b"{}")  # a bare POST: every parameter at its default
    if content_type == "application/json" or content_type.endswith("+json"):
        if not body.strip():
            return RawSubmission(json_body=b"{}")
        try:
            data = json.loads(body)
        except ValueError as error:
            raise ApiError(400, f"the body is not valid JSON: {error}", code="invalid_json") from None
        if not isinstance(data, dict):
            raise invalid_params([{"field": "body", "message": "must be a JSON object of parameters"}])
        return RawSubmission(json_body=body)
    if content_type in ("", "application/x-www-form-urlencoded"):
        # curl -d sends JSON as a urlencoded form, and a bare body has no type: guessing would turn
        # `{"prompt": ...}` into an empty form and answer "prompt: Field required", which misleads.
        sent = f"a body sent as {content_type}" if content_type else "a body without a Content-Type"
        raise ApiError(415, f"{sent} cannot be read as parameters; {UNKNOWN_BODY}")
    raise ApiError(415, f"unsupported content type {content_type!r}; {UNKNOWN_BODY}")


async def looks_like_json(request: Request) -> bool:
    """Whether a urlencoded body is really a JSON object (what `curl -d '{...}'` sends)."""
    body = await request.body()  # Starlette keeps it, so request.form() can still parse it
    return body.lstrip()[:1] == b"{"


def priority_of(request: Request) -> Priority:
    """The `?priority=` of a submission (low, normal or high; normal when absent)."""
    value = request.query_params.get("priority")
    if value is None or value == "":
        return Priority.NORMAL
    try:
        return Priority(value.lower())
    except ValueError:
        choices = ", ".join(priority.value for priority in Priority)
        raise invalid_params([{"field": "priority", "message": f"must be one of {choices}, not {value!r}"}]) from None


def rejected_param(error: ParamError) -> ApiError:
    """A job type's own check refused a parameter or the files: 422 naming the field."""
    return invalid_params([{"field": error.field, "message": error.message}])


class Submitted(NamedTuple):
    """An accepted submission: the job, whether it is new, and its JSON (the 202's body)."""

    job: Job
    created: bool
    body: str


class Submitter:
    """The submit path, shared by `POST /api/jobs/{type}` and the job types' route aliases."""

    def __init__(self, kernel: Kernel, publisher: JobQueue) -> None:
        self.kernel = kernel
        self.publisher = publisher
        self.service = JobService.of(kernel)
        settings = kernel.settings
        self.limits = UploadLimits(
            max_file_bytes=settings.max_upload_bytes,
            max_files=settings.max_files,
            max_unpacked_bytes=settings.max_request_bytes * 4,
        )

    async def submit(self, job_type: JobType, request: Request, principal: Principal) -> Submitted:
        """Accept a job for `principal`: the job, whether it is new (False: an idempotent repeat), its JSON."""
        idempotency_key = idempotency_key_of(request)
        if idempotency_key is not None:
            # Scoped to the user: another user's key must never hand back (or block) their job.
            idempotency_key = f"{principal.name}/{idempotency_key}"
        await self.check_cap(principal)
        priority = priority_of(request)
        raw = await read_request(request, self.kernel)
        params = raw.validate(job_type)
        matched = group_uploads(job_type, raw.uploads, self.limits)
        store = self.kernel.store
        if job_type.check is not None:
            try:
                await job_type.check(params, store)
            except ParamError as error:
                raise rejected_param(error) from None

        job_id = uuid.uuid4().hex
        jobs_dir = self.kernel.settings.jobs_dir
        staging = self.kernel.settings.data_dir / "staging" / job_id
        folders = JobFolders.of(jobs_dir, job_id)
        stored = await stage_inputs(job_type, matched, staging, folders, self.limits)

        job = lifecycle.new_job(
            job_id,
            job_type.name,
            params.model_dump(mode="json"),
            [path.name for path in stored],
            queue=job_type.queue,
            priority=priority,
            owner=principal.name,
        )
        # One serialisation serves the store, the worker's start hint and the 202's body.
        record = job.model_dump_json()
        saved, created = await self.publish(job, job_type, folders, idempotency_key, record=record)
        if not created:
            folders.remove()
            return Submitted(saved, False, saved.model_dump_json())
        return Submitted(saved, True, record)

    async def publish(
        self,
        job: Job,
        job_type: JobType,
        folders: JobFolders,
        idempotency_key: str | None = None,
        *,
        record: str | None = None,
    ) -> tuple[Job, bool]:
        """Write a new job's record (`record`: its JSON, if made already) and publish it; on any
        failure remove its folders (broker down: 503).

        Whether the job was created: False when `idempotency_key` names an earlier job (returned instead).
        """
        try:
            return await self.service.submit(job, job_type, self.publisher, idempotency_key, record=record)
        except BrokerUnavailable as error:
            folders.remove()
            raise ApiError(
                503, f"the job queue is unreachable, nothing was queued: {error}", code="broker_unavailable"
            ) from None
        except Exception:
            folders.remove()
            raise

    async def check_cap(self, principal: Principal, adding: int = 1) -> None:
        """429 when the user already has MYSPINBOT_MAX_ACTIVE_JOBS_PER_USER jobs queued or running.

        Checked before the body is read, so a refused upload costs nothing; two submits racing
        at the cap may both pass (the cap is a guard against runaway scripts, not a quota).
        """
        cap = self.kernel.settings.max_active_jobs_per_user
        if cap <= 0:
            return
        active = await self.kernel.store.active_count(principal.name)
        if active + adding > cap:
            self.kernel.authenticator.count_capped()
            raise ApiError(
                429,
                f"{principal.name} has {active} queued or running jobs and asks for {adding} more; the cap is {cap} "
                "(MYSPINBOT_MAX_ACTIVE_JOBS_PER_USER): wait for one to finish or cancel one",
                code="too_many_active_jobs",
                headers={"Retry-After": "30"},
            )


async def stage_inputs(
    job_type: JobType,
    matched: list[tuple[FileSpec, UploadFile]],
    staging: Path,
    folders: JobFolders,
    limits: UploadLimits,
) -> list[Path]:
    """Write the uploads to a private staging folder, run the job type's `inputs_check`, and only
    then move them under the job's folder: a rejected request leaves no file behind."""
    try:
        stored = await store_uploads(matched, staging, limits) if matched else []
        if job_type.inputs_check is not None:
            try:
                job_type.inputs_check(stored)
            except ParamError as error:
                raise rejected_param(error) from None
        if stored:
            folders.root.mkdir(parents=True, exist_ok=True)
            shutil.move(staging, folders.inputs)
    finally:
        if matched:  # no uploads made no folder (and an rmtree per submit is not free)
            discard_folder(staging)
    return stored

"""New jobs made from old ones: retry (same parameters, same inputs) and clone with edits.

Both validate like a submit (the job type's model and its `check`), keep the old job's input
files unless a clone uploads new ones (hard links, so a dataset is never uploaded or stored
twice), and link the new job to the old one (`retry_of`, `cloned_from`).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from starlette.requests import Request

from myspinbot.api.errors import ApiError, field_errors, invalid_params
from myspinbot.api.submission import (
    RawSubmission,
    Submitter,
    priority_of,
    read_request,
    rejected_param,
    stage_inputs,
)
from myspinbot.api.uploads import group_uploads
from myspinbot.core import lifecycle
from myspinbot.core.identity import Principal
from myspinbot.core.jobfiles import JobFolders
from myspinbot.core.jobs import Job, JobState
from myspinbot.core.jobtypes import JobType, ParamError
from myspinbot.core.params import params_from_json, typed_form_value

log = logging.getLogger(__name__)
RETRYABLE = (JobState.FAILED, JobState.CANCELLED)


def link_inputs(source: JobFolders, target: JobFolders, names: list[str]) -> None:
    """Give `target` the named input files of `source`: hard links where the disk allows, copies
    elsewhere. Raises ApiError 409 when a file is no longer kept."""
    missing = [name for name in names if not (source.inputs / name).is_file()]
    if missing:
        raise ApiError(
            409,
            f"the input files of job {source.root.name} are no longer kept ({', '.join(missing[:3])}); "
            "submit the job again with its files",
            code="inputs_expired",
        )
    target.inputs.mkdir(parents=True, exist_ok=True)
    for name in names:
        try:
            os.link(source.inputs / name, target.inputs / name)
        except OSError:  # another file system, or links not allowed
            shutil.copy2(source.inputs / name, target.inputs / name)


def edits_of(raw: RawSubmission, job_type: JobType) -> dict[str, Any]:
    """A clone's parameter edits: the JSON object, or the form fields typed by the job type's schema."""
    if raw.json_body is not None:
        edits = json.loads(raw.json_body)
        return edits if isinstance(edits, dict) else {}
    schema = job_type.params.model_json_schema()
    properties = schema.get("properties") or {}
    return {
        name: typed_form_value(text, properties[name], schema) if name in properties else text
        for name, text in raw.form_fields.items()
        if text.strip()
    }


async def validated(job_type: JobType, raw: dict[str, Any], submitter: Submitter, field_prefix: str = "") -> BaseModel:
    """The parameters checked as a submit checks them; 422 naming each bad field."""
    try:
        params = params_from_json(job_type.params, json.dumps(raw))  # as strict as a JSON submit
    except ValidationError as error:
        details = field_errors(error, schema=job_type.params.model_json_schema())
        if field_prefix:
            details = [{**item, "field": f"{field_prefix}{item.get('field') or ''}"} for item in details]
        raise invalid_params(details) from None
    if job_type.check is not None:
        try:
            await job_type.check(params, submitter.kernel.store)
        except ParamError as error:
            if field_prefix:
                raise rejected_param(ParamError(f"{field_prefix}{error.field}", error.message)) from None
            raise rejected_param(error) from None
    return params


class Resubmitter:
    """Retry and clone, on the submit path's limits and publisher."""

    def __init__(self, submitter: Submitter) -> None:
        self.submitter = submitter
        self.kernel = submitter.kernel

    def job_type_of(self, job: Job) -> JobType:
        job_type = self.kernel.job_types.get(job.type)
        if job_type is None:
            raise ApiError(409, f"job type {job.type!r} is no longer installed", code="unknown_job_type")
        return job_type

    async def retry(self, job: Job, request: Request, principal: Principal) -> Job:
        """A new job with the old one's parameters and input files; only failed or cancelled jobs."""
        if job.state not in RETRYABLE:
            raise ApiError(
                409,
                f"job {job.id} is {job.state.value}; only failed or cancelled jobs can be retried "
                "(clone it to run it again with edits)",
                code="not_retryable",
            )
        job_type = self.job_type_of(job)
        params = await validated(job_type, job.params, self.submitter)
        priority = priority_of(request) if request.query_params.get("priority") else job.priority
        new_id = uuid.uuid4().hex
        folders = JobFolders.of(self.kernel.settings.jobs_dir, new_id)
        link_inputs(JobFolders.of(self.kernel.settings.jobs_dir, job.id), folders, job.inputs)
        new = lifecycle.new_job(
            new_id,
            job_type.name,
            params.model_dump(mode="json"),
            list(job.inputs),
            queue=job_type.queue,
            priority=priority,
            retry_of=job.id,
            batch_id=None,
            owner=principal.name,
        )
        new, _ = await self.submitter.publish(new, job_type, folders)
        log.info("job %s retries %s", new.id, job.id)
        return new

    async def clone(self, job: Job, request: Request, principal: Principal) -> Job:
        """A new job with the old one's parameters overlaid by the request's, validated like a
        submit; its input files are the request's if it sends any, else the old job's."""
        job_type = self.job_type_of(job)
        raw = await read_request(request, self.kernel)
        edits, uploads = edits_of(raw, job_type), raw.uploads
        params = await validated(job_type, {**job.params, **edits}, self.submitter)
        priority = priority_of(request) if request.query_params.get("priority") else job.priority
        new_id = uuid.uuid4().hex
        folders = JobFolders.of(self.kernel.settings.jobs_dir, new_id)
        if uploads:
            names = await self._store_new_inputs(job_type, uploads, new_id, folders)
        else:
            names = list(job.inputs)
            link_inputs(JobFolders.of(self.kernel.settings.jobs_dir, job.id), folders, names)
        new = lifecycle.new_job(
            new_id,
            job_type.name,
            params.model_dump(mode="json"),
            names,
            queue=job_type.queue,
            priority=priority,
            cloned_from=job.id,
            owner=principal.name,
        )
        new, _ = await self.submitter.publish(new, job_type, folders)
        log.info("job %s is a clone of %s", new.id, job.id)
        return new

    async def _store_new_inputs(
        self, job_type: JobType, uploads: list[Any], job_id: str, folders: JobFolders
    ) -> list[str]:
        limits = self.submitter.limits
        matched = group_uploads(job_type, uploads, limits)
        staging: Path = self.kernel.settings.data_dir / "staging" / job_id
        stored = await stage_inputs(job_type, matched, staging, folders, limits)
        return [path.name for path in stored]

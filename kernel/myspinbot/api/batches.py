"""Batches and sweeps: one request, many jobs of one type, validated all or nothing.

A batch is a list of parameter sets, or a sweep (the cartesian product of some parameters'
values over common ones). Every set is validated before anything is written, so one bad set
rejects the batch with its index named and leaves no job. The jobs share one `batch_id`; the
store keeps the batch and tells, on the save that finishes its last job, that the batch is done
(the `batch_finished` hook).
"""

from __future__ import annotations

import contextlib
import logging
import math
import uuid
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.requests import Request

from myspinbot.api.errors import ApiError, invalid_params
from myspinbot.api.resubmission import link_inputs, validated
from myspinbot.api.submission import Submitter, idempotency_key_of
from myspinbot.core import lifecycle
from myspinbot.core.identity import Principal
from myspinbot.core.job_service import BrokerUnavailable, JobAlreadyFinished, JobNotFound, JobService
from myspinbot.core.jobfiles import JOB_ID, JobFolders
from myspinbot.core.jobs import Job, JobState, format_time, utc_now
from myspinbot.core.jobtypes import JobType
from myspinbot.core.queueing import Priority
from myspinbot_client.queues import Batch, sweep_sets

log = logging.getLogger(__name__)


class BatchRequest(BaseModel):
    """Body of `POST /api/batches/{type}`: `params` (a list of sets) or `sweep` (+ `base`)."""

    model_config = ConfigDict(extra="forbid")

    params: list[dict[str, Any]] | None = Field(None, description="One parameter set per job")
    sweep: dict[str, list[Any]] | None = Field(
        None, description='Values to combine, e.g. {"seed": [1, 2, 3], "guidance": [5, 7]}: one job per combination'
    )
    base: dict[str, Any] = Field(default_factory=dict, description="Parameters every set of a sweep shares")
    priority: Priority = Priority.NORMAL
    inputs_from: str | None = Field(None, description="A job whose input files every job of the batch uses")


def batch_links(batch_id: str) -> dict[str, str]:
    return {"self": f"/api/batches/{batch_id}", "cancel": f"/api/batches/{batch_id}/cancel"}


def summarize(record: dict[str, Any], jobs: Sequence[Job | None]) -> Batch:
    """The batch with counts by state and mean progress (finished jobs count as done)."""
    present = [job for job in jobs if job is not None]
    counts: dict[JobState, int] = {}
    for job in present:
        counts[job.state] = counts.get(job.state, 0) + 1
    progress = sum(1.0 if job.state.finished else job.progress for job in present) / len(present) if present else 0.0
    return Batch.model_validate(
        {
            **record,
            "total": len(record["job_ids"]),
            "counts": counts,
            "progress": round(min(1.0, progress), 6),
            "finished": all(job.state.finished for job in present),
            "jobs": present,
            "links": batch_links(record["id"]),
        }
    )


class BatchService:
    """Submit, read and cancel batches."""

    def __init__(self, submitter: Submitter) -> None:
        self.submitter = submitter
        self.kernel = submitter.kernel

    def parameter_sets(self, body: BatchRequest) -> list[dict[str, Any]]:
        """The batch's sets, checked for shape and size before any is expanded."""
        limit = self.kernel.settings.max_batch_jobs
        if (body.params is None) == (body.sweep is None):
            raise invalid_params([{"field": "body", "message": "give either `params` (a list of sets) or `sweep`"}])
        if body.params is not None:
            if body.base:
                raise invalid_params([{"field": "base", "message": "`base` goes with `sweep`"}])
            count = len(body.params)
        else:
            assert body.sweep is not None
            empty = [name for name, values in body.sweep.items() if not values]
            if empty or not body.sweep:
                raise invalid_params(
                    [{"field": f"sweep.{name}", "message": "needs at least one value"} for name in empty or ["*"]]
                )
            count = math.prod(len(values) for values in body.sweep.values())
        if count == 0 or count > limit:
            raise invalid_params(
                [
                    {
                        "field": "params" if body.params is not None else "sweep",
                        "message": f"a batch makes 1 to {limit} jobs (MYSPINBOT_MAX_BATCH_JOBS), this one {count}",
                    }
                ]
            )
        return body.params if body.params is not None else sweep_sets(body.base, body.sweep or {})

    async def submit(self, job_type: JobType, request: Request, principal: Principal) -> tuple[Batch, bool]:
        """Validate every set, then make the jobs and the batch; (the batch, False) for a repeat
        of an Idempotency-Key."""
        key = idempotency_key_of(request)
        if key is not None:
            key = f"{principal.name}/{key}"  # scoped to the user, like a single submit's
        try:
            body = BatchRequest.model_validate_json(await request.body() or b"{}")
        except ValidationError as error:
            raise invalid_params(
                [
                    {"field": ".".join(str(p) for p in item["loc"]) or "body", "message": item["msg"]}
                    for item in error.errors()
                ]
            ) from None
        sets = self.parameter_sets(body)
        await self.submitter.check_cap(principal, adding=len(sets))
        validated_sets = []
        for index, raw in enumerate(sets):
            try:
                validated_sets.append(await validated(job_type, raw, self.submitter, field_prefix=f"params[{index}]."))
            except ApiError as error:
                raise ApiError(
                    422,
                    f"parameter set {index} is invalid ({error.message}); no job was made",
                    code="invalid_params",
                    details=error.details,
                ) from None
        inputs = await self._inputs_of(body.inputs_from, job_type, principal)
        if not inputs and any(spec.min_count > 0 for spec in job_type.files):
            raise invalid_params(
                [
                    {
                        "field": "inputs_from",
                        "message": f"{job_type.name} jobs need files: name a job whose inputs to use",
                    }
                ]
            )
        store = self.kernel.store
        batch_id = uuid.uuid4().hex
        claim = f"batch:{job_type.name}:{key}" if key else ""
        if claim:
            first = await store.claim_key(claim, batch_id, self.kernel.settings.idempotency_seconds)
            if first is not None:
                found = await self.get(first)
                if found is None:
                    raise ApiError(
                        409, "a batch with this Idempotency-Key is still being made; retry shortly", code="conflict"
                    )
                return found, False
        try:
            batch = await self._make(job_type, batch_id, body, validated_sets, inputs, principal.name)
        except BaseException:
            if claim:
                await store.release_key(claim)
            raise
        return batch, True

    async def _inputs_of(
        self, job_id: str | None, job_type: JobType, principal: Principal
    ) -> tuple[JobFolders, list[str]] | None:
        if job_id is None:
            return None
        job = await self.kernel.store.get(job_id) if JOB_ID.match(job_id) else None
        if job is None or not principal.may_read_job(job.owner):  # another member's job: as if none
            raise invalid_params([{"field": "inputs_from", "message": f"no job with id {job_id!r}"}])
        if job.type != job_type.name:
            raise invalid_params(
                [{"field": "inputs_from", "message": f"job {job_id} is a {job.type} job, not {job_type.name}"}]
            )
        return JobFolders.of(self.kernel.settings.jobs_dir, job.id), list(job.inputs)

    async def _make(
        self,
        job_type: JobType,
        batch_id: str,
        body: BatchRequest,
        sets: list[BaseModel],
        inputs: tuple[JobFolders, list[str]] | None,
        owner: str,
    ) -> Batch:
        store = self.kernel.store
        service = JobService.of(self.kernel)
        jobs_dir = self.kernel.settings.jobs_dir
        made: list[tuple[Job, JobFolders]] = []
        for params in sets:
            job_id = uuid.uuid4().hex
            job = lifecycle.new_job(
                job_id,
                job_type.name,
                params.model_dump(mode="json"),
                inputs[1] if inputs else [],
                queue=job_type.queue,
                priority=body.priority,
                batch_id=batch_id,
                owner=owner,
            )
            made.append((job, JobFolders.of(jobs_dir, job_id)))
        job_ids = [job.id for job, _ in made]
        record: dict[str, Any] = {
            "id": batch_id,
            "type": job_type.name,
            "owner": owner,
            "created_at": format_time(utc_now()),
            "priority": body.priority.value,
            "job_ids": job_ids,
        }
        # The batch (with its set of unfinished jobs) first: a job may finish before the last is queued.
        await store.create_batch(batch_id, record, job_ids)
        published: list[Job] = []
        try:
            for job, folders in made:
                if inputs:
                    link_inputs(inputs[0], folders, job.inputs)
                stored, _ = await service.submit(job, job_type, self.submitter.publisher)
                published.append(stored)
        except BrokerUnavailable as error:
            await self._undo(batch_id, made, published)
            raise ApiError(
                503, f"the job queue is unreachable, no job was queued: {error}", code="broker_unavailable"
            ) from None
        except BaseException:
            await self._undo(batch_id, made, published)
            raise
        log.info("batch %s: %d %s jobs", batch_id, len(made), job_type.name)
        return summarize(record, published)

    async def _undo(self, batch_id: str, made: list[tuple[Job, JobFolders]], published: list[Job]) -> None:
        """Leave nothing of a batch that could not be queued whole: published jobs are cancelled
        (their messages are then dropped by the worker), the others' files removed (the service
        already removed a record whose publish failed)."""
        service = JobService.of(self.kernel)
        sent = {job.id for job in published}
        for job, folders in made:
            if job.id in sent:
                with contextlib.suppress(JobAlreadyFinished, JobNotFound):
                    await service.cancel(job.id)
                continue
            folders.remove()
        if not sent:
            await self.kernel.store.discard_batch(batch_id)

    async def get(self, batch_id: str) -> Batch | None:
        """The batch with its jobs' states, or None."""
        store = self.kernel.store
        record = await store.get_batch(batch_id) if JOB_ID.match(batch_id) else None
        if record is None:
            return None
        return summarize(record, await store.get_many(record["job_ids"]))

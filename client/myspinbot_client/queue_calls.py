"""Queue control in the client: queues, workers, priority, retry, clone and batches.

The routes as `Call`s, and the methods the sync and async clients share through a mixin each.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from myspinbot_client.calls import Call, Files, _list_of, _segment, normalize_uploads
from myspinbot_client.models import Job, Priority
from myspinbot_client.queues import Batch, QueueInfo, WorkerInfo

T = TypeVar("T")


def queues() -> Call[list[QueueInfo]]:
    """`GET /api/queues`."""
    return Call("GET", "/api/queues", _list_of(QueueInfo.model_validate))


def set_paused(queue: str, paused: bool) -> Call[QueueInfo]:
    """`POST /api/queues/{queue}/pause` or `/resume`."""
    return Call("POST", f"/api/queues/{_segment(queue)}/{'pause' if paused else 'resume'}", QueueInfo.model_validate)


def workers() -> Call[list[WorkerInfo]]:
    """`GET /api/workers`."""
    return Call("GET", "/api/workers", _list_of(WorkerInfo.model_validate))


def set_priority(job_id: str, priority: Priority | str, front: bool) -> Call[Job]:
    """`POST /api/jobs/{id}/priority`."""
    body = {"priority": Priority(priority).value, "front": front}
    return Call("POST", f"/api/jobs/{_segment(job_id)}/priority", Job.model_validate, json_body=body)


def priority_query(priority: Priority | str | None) -> dict[str, str]:
    return {"priority": Priority(priority).value} if priority else {}


def retry(job_id: str, priority: Priority | str | None) -> Call[Job]:
    """`POST /api/jobs/{id}/retry`."""
    return Call("POST", f"/api/jobs/{_segment(job_id)}/retry", Job.model_validate, query=priority_query(priority))


def clone(
    job_id: str, edits: Mapping[str, Any] | None, files: Files | None, priority: Priority | str | None
) -> Call[Job]:
    """`POST /api/jobs/{id}/clone`: JSON edits, or multipart when files replace the inputs."""
    path = f"/api/jobs/{_segment(job_id)}/clone"
    query = priority_query(priority)
    uploads = normalize_uploads(files)
    if not uploads:
        return Call("POST", path, Job.model_validate, query=query, json_body=dict(edits or {}))
    form = {name: value if isinstance(value, str) else json.dumps(value) for name, value in (edits or {}).items()}
    return Call("POST", path, Job.model_validate, query=query, form=form, uploads=uploads)


def submit_batch(
    job_type: str,
    params: Sequence[Mapping[str, Any]] | None,
    sweep: Mapping[str, Sequence[Any]] | None,
    base: Mapping[str, Any] | None,
    priority: Priority | str | None,
    inputs_from: str | None,
    idempotency_key: str | None,
) -> Call[Batch]:
    """`POST /api/batches/{type}` with a list of parameter sets or a sweep."""
    body: dict[str, Any] = {}
    if params is not None:
        body["params"] = [dict(item) for item in params]
    if sweep is not None:
        body["sweep"] = {name: list(values) for name, values in sweep.items()}
        body["base"] = dict(base or {})
    if priority:
        body["priority"] = Priority(priority).value
    if inputs_from:
        body["inputs_from"] = inputs_from
    headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
    return Call("POST", f"/api/batches/{_segment(job_type)}", Batch.model_validate, json_body=body, headers=headers)


def get_batch(batch_id: str) -> Call[Batch]:
    """`GET /api/batches/{id}`."""
    return Call("GET", f"/api/batches/{_segment(batch_id)}", Batch.model_validate)


def cancel_batch(batch_id: str) -> Call[Batch]:
    """`POST /api/batches/{id}/cancel`."""
    return Call("POST", f"/api/batches/{_segment(batch_id)}/cancel", Batch.model_validate)


class QueueMethods:
    """Queue control for `MySpinBotClient` (which provides `_send`)."""

    def _send(self, call: Call[T]) -> T:
        raise NotImplementedError

    def queues(self) -> list[QueueInfo]:
        """Every queue: depth, running, paused, concurrency and the workers serving it."""
        return self._send(queues())

    def pause(self, queue: str) -> QueueInfo:
        """Pause a queue: no new job of it starts; running ones finish (admin)."""
        return self._send(set_paused(queue, True))

    def resume(self, queue: str) -> QueueInfo:
        """Resume a paused queue (admin)."""
        return self._send(set_paused(queue, False))

    def workers(self) -> list[WorkerInfo]:
        """The workers online, their queues, concurrency, resources and running jobs."""
        return self._send(workers())

    def set_priority(self, job_id: str, priority: Priority | str, front: bool = False) -> Job:
        """Change a queued job's priority; `front` also makes it next (admin)."""
        return self._send(set_priority(job_id, priority, front))

    def retry(self, job_id: str, priority: Priority | str | None = None) -> Job:
        """A new job with a failed or cancelled job's parameters and input files."""
        return self._send(retry(job_id, priority))

    def clone(
        self,
        job_id: str,
        edits: Mapping[str, Any] | None = None,
        files: Files | None = None,
        priority: Priority | str | None = None,
    ) -> Job:
        """A new job from any job, with parameter edits; `files` replace its inputs."""
        return self._send(clone(job_id, edits, files, priority))

    def submit_batch(
        self,
        job_type: str,
        params: Sequence[Mapping[str, Any]] | None = None,
        *,
        sweep: Mapping[str, Sequence[Any]] | None = None,
        base: Mapping[str, Any] | None = None,
        priority: Priority | str | None = None,
        inputs_from: str | None = None,
        idempotency_key: str | None = None,
    ) -> Batch:
        """Submit many jobs of one type: a list of parameter sets, or a sweep over `base`."""
        return self._send(submit_batch(job_type, params, sweep, base, priority, inputs_from, idempotency_key))

    def batch(self, batch_id: str) -> Batch:
        """A batch with its jobs, counts by state and progress."""
        return self._send(get_batch(batch_id))

    def cancel_batch(self, batch_id: str) -> Batch:
        """Cancel every unfinished job of a batch."""
        return self._send(cancel_batch(batch_id))


class AsyncQueueMethods:
    """Queue control for `AsyncMySpinBotClient` (which provides `_send`)."""

    async def _send(self, call: Call[T]) -> T:
        raise NotImplementedError

    async def queues(self) -> list[QueueInfo]:
        """Every queue: depth, running, paused, concurrency and the workers serving it."""
        return await self._send(queues())

    async def pause(self, queue: str) -> QueueInfo:
        """Pause a queue (admin)."""
        return await self._send(set_paused(queue, True))

    async def resume(self, queue: str) -> QueueInfo:
        """Resume a paused queue (admin)."""
        return await self._send(set_paused(queue, False))

    async def workers(self) -> list[WorkerInfo]:
        """The workers online."""
        return await self._send(workers())

    async def set_priority(self, job_id: str, priority: Priority | str, front: bool = False) -> Job:
        """Change a queued job's priority; `front` also makes it next (admin)."""
        return await self._send(set_priority(job_id, priority, front))

    async def retry(self, job_id: str, priority: Priority | str | None = None) -> Job:
        """A new job with a failed or cancelled job's parameters and input files."""
        return await self._send(retry(job_id, priority))

    async def clone(
        self,
        job_id: str,
        edits: Mapping[str, Any] | None = None,
        files: Files | None = None,
        priority: Priority | str | None = None,
    ) -> Job:
        """A new job from any job, with parameter edits; `files` replace its inputs."""
        return await self._send(clone(job_id, edits, files, priority))

    async def submit_batch(
        self,
        job_type: str,
        params: Sequence[Mapping[str, Any]] | None = None,
        *,
        sweep: Mapping[str, Sequence[Any]] | None = None,
        base: Mapping[str, Any] | None = None,
        priority: Priority | str | None = None,
        inputs_from: str | None = None,
        idempotency_key: str | None = None,
    ) -> Batch:
        """Submit many jobs of one type: a list of parameter sets, or a sweep over `base`."""
        return await self._send(submit_batch(job_type, params, sweep, base, priority, inputs_from, idempotency_key))

    async def batch(self, batch_id: str) -> Batch:
        """A batch with its jobs, counts by state and progress."""
        return await self._send(get_batch(batch_id))

    async def cancel_batch(self, batch_id: str) -> Batch:
        """Cancel every unfinished job of a batch."""
        return await self._send(cancel_batch(batch_id))

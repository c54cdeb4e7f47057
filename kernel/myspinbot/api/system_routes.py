"""System routes: health, loaded plugins, job types."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from myspinbot.api.deps import KernelDep
from myspinbot.api.errors import error_responses
from myspinbot.core.jobtypes import JobType
from myspinbot.core.store import StoreUnavailable

HEALTH_TIMEOUT_SECONDS = 2.0

health_router = APIRouter(tags=["system"])
catalog_router = APIRouter(prefix="/api", tags=["system"], responses=error_responses(401, 503))


class Health(BaseModel):
    """`status` is "ok" when Redis answers, "degraded" (with 503) when it does not."""

    status: str
    checks: dict[str, Any]


class PluginEntry(BaseModel):
    name: str
    distribution: str | None
    version: str | None
    hooks: list[str]


class FileFieldEntry(BaseModel):
    field: str
    extensions: list[str]
    archive_extensions: list[str]
    min_count: int
    max_count: int
    max_bytes: int
    description: str


class JobTypeEntry(BaseModel):
    name: str
    title: str
    description: str
    queue: str
    route: str | None
    params_schema: dict[str, Any]
    files: list[FileFieldEntry]


@health_router.get(
    "/health",
    summary="Can the API reach Redis; how many workers are online",
    response_model=Health,
    responses={503: {"model": Health, "description": "Redis is unreachable"}},
)
async def health(kernel: KernelDep) -> JSONResponse:
    """200 `{"status": "ok"}` when Redis answers; 503 `{"status": "degraded"}` when it does not.
    No worker online is reported in `checks.workers`, not as an outage of the API."""
    store = kernel.store
    checks: dict[str, Any] = {"api": {"status": "ok"}}
    started = time.perf_counter()
    try:
        await asyncio.wait_for(store.ping(), HEALTH_TIMEOUT_SECONDS)
        checks["redis"] = {"status": "ok", "latency_ms": round((time.perf_counter() - started) * 1000, 2)}
        online = await asyncio.wait_for(store.workers_online(), HEALTH_TIMEOUT_SECONDS)
        checks["workers"] = {"status": "ok" if online else "none", "online": online}
    except (StoreUnavailable, TimeoutError) as error:
        checks["redis"] = {"status": "unreachable", "error": str(error) or "timed out"}
        checks["workers"] = {"status": "unknown", "online": None}
        return JSONResponse({"status": "degraded", "checks": checks}, status_code=503)
    return JSONResponse({"status": "ok", "checks": checks})


@catalog_router.get(
    "/plugins", summary="Loaded plugins with their distribution, version and hooks", response_model=list[PluginEntry]
)
async def plugins(kernel: KernelDep) -> list[dict[str, Any]]:
    return [
        {"name": info.name, "distribution": info.distribution, "version": info.version, "hooks": info.hooks}
        for info in kernel.plugins()
    ]


def describe_job_type(job_type: JobType, default_max_bytes: int) -> dict[str, Any]:
    """A job type as `GET /api/job-types` lists it; the schema drives forms and API docs."""
    return {
        "name": job_type.name,
        "title": job_type.title,
        "description": job_type.description,
        "queue": job_type.queue,
        "route": job_type.route,
        "params_schema": job_type.params.model_json_schema(),
        "files": [
            {
                "field": spec.field,
                "extensions": list(spec.extensions),
                "archive_extensions": list(spec.archive_extensions),
                "min_count": spec.min_count,
                "max_count": spec.max_count,
                "max_bytes": min(spec.max_bytes or default_max_bytes, default_max_bytes),
                "description": spec.description,
            }
            for spec in job_type.files
        ],
    }


@catalog_router.get(
    "/job-types",
    summary="Every job type: parameters (JSON schema), accepted files, queue",
    response_model=list[JobTypeEntry],
)
async def job_types(kernel: KernelDep) -> list[dict[str, Any]]:
    limit = kernel.settings.max_upload_bytes
    return [describe_job_type(job_type, limit) for job_type in sorted(kernel.job_types.values(), key=lambda j: j.name)]

"""System routes: health, loaded plugins, job types."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from myspinbot.api.deps import KernelDep
from myspinbot.api.errors import error_responses
from myspinbot.core.jobtypes import JobType
from myspinbot.core.store import StoreUnavailable
from myspinbot_client import models as wire

HEALTH_TIMEOUT_SECONDS = 2.0

health_router = APIRouter(tags=["system"])
catalog_router = APIRouter(prefix="/api", tags=["system"], responses=error_responses(401, 503))


@health_router.get(
    "/health",
    summary="Can the API reach Redis; how many workers are online",
    response_model=wire.Health,
    responses={503: {"model": wire.Health, "description": "Redis is unreachable"}},
)
async def health(kernel: KernelDep) -> JSONResponse:
    """200 `{"status": "ok"}` when Redis answers; 503 `{"status": "degraded"}` when it does not.
    No worker online is reported in `checks.workers`, not as an outage of the API."""
    store = kernel.store
    checks: dict[str, Any] = {"api": {"status": "ok"}}
    started = time.perf_counter()
    try:
        # One round trip answers both questions: the workers query is Redis answering. On a busy
        # API every await waits its turn on the event loop, and /health is what load balancers
        # time (docs/performance.md, case 2).
        online = await asyncio.wait_for(store.workers_online(), HEALTH_TIMEOUT_SECONDS)
        checks["redis"] = {"status": "ok", "latency_ms": round((time.perf_counter() - started) * 1000, 2)}
        checks["workers"] = {"status": "ok" if online else "none", "online": online}
    except (StoreUnavailable, TimeoutError) as error:
        checks["redis"] = {"status": "unreachable", "error": str(error) or "timed out"}
        checks["workers"] = {"status": "unknown", "online": None}
        return JSONResponse(wire.Health(status="degraded", checks=checks).to_json(), status_code=503)
    return JSONResponse(wire.Health(status="ok", checks=checks).to_json())


@catalog_router.get(
    "/plugins", summary="Loaded plugins with their distribution, version and hooks", response_model=list[wire.Plugin]
)
async def plugins(kernel: KernelDep) -> list[wire.Plugin]:
    return [
        wire.Plugin(name=info.name, distribution=info.distribution, version=info.version, hooks=tuple(info.hooks))
        for info in kernel.plugins()
    ]


def describe_job_type(job_type: JobType, default_max_bytes: int) -> wire.JobType:
    """A job type as `GET /api/job-types` lists it; the schema drives forms and API docs."""
    return wire.JobType(
        name=job_type.name,
        title=job_type.title,
        description=job_type.description,
        queue=job_type.queue,
        route=job_type.route,
        params_schema=job_type.params.model_json_schema(),
        # The effective limit, so a client can refuse an oversized file before sending it.
        files=tuple(
            spec.model_copy(update={"max_bytes": min(spec.max_bytes or default_max_bytes, default_max_bytes)})
            for spec in job_type.files
        ),
    )


@catalog_router.get(
    "/job-types",
    summary="Every job type: parameters (JSON schema), accepted files, queue",
    response_model=list[wire.JobType],
)
async def job_types(kernel: KernelDep) -> list[wire.JobType]:
    limit = kernel.settings.max_upload_bytes
    return [describe_job_type(job_type, limit) for job_type in sorted(kernel.job_types.values(), key=lambda j: j.name)]

"""Telemetry routes: a job's metric series, its log lines and its live preview image."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from myspinbot.api.deps import ReadableJob, StoreDep
from myspinbot.api.errors import ApiError, error_responses
from myspinbot.core.telemetry import MAX_LOG_LINES, MAX_POINTS_PER_JOB, Logs, Metrics, build_series

METRIC_NAMES = re.compile(r"^[A-Za-z0-9_./-]{1,64}(,[A-Za-z0-9_./-]{1,64}){0,49}$")

telemetry_router = APIRouter(prefix="/api", tags=["telemetry"], responses=error_responses(401, 404, 422, 503))


@telemetry_router.get("/jobs/{job_id}/metrics", response_model=Metrics, summary="A job's metric series")
async def job_metrics(
    job: ReadableJob,
    store: StoreDep,
    names: Annotated[
        str | None,
        Query(
            description="Comma-separated metric names (default: every metric)",
            examples=["loss,lr"],
            pattern=METRIC_NAMES.pattern,  # in the schema too, so clients know the form before sending
        ),
    ] = None,
    since_step: Annotated[int | None, Query(ge=-1, description="Only points after this step")] = None,
    max_points: Annotated[
        int | None,
        Query(
            ge=2,
            le=MAX_POINTS_PER_JOB,
            description="Downsample each series to at most this many points, "
            "keeping each bucket's minimum and maximum (so peaks and the lowest loss survive)",
        ),
    ] = None,
) -> Metrics:
    """Every metric the job reported, one series per name (`steps` and `values` side by side)."""
    if names is not None and not METRIC_NAMES.match(names):
        raise ApiError(
            422,
            "names must be comma-separated metric names (letters, digits, '_', '.', '/', '-'), e.g. loss,lr",
            code="invalid_params",
            details=[{"field": "names", "message": "not a list of metric names"}],
        )
    points = await store.telemetry.points(job.id)
    stored, dropped = await store.telemetry.point_counts(job.id)
    wanted = names.split(",") if names else None
    return Metrics(
        job_id=job.id,
        series=build_series(points, wanted, since_step, max_points),
        points=stored,
        dropped=dropped,
        last_step=points[-1].step if points else None,
    )


@telemetry_router.get("/jobs/{job_id}/logs", response_model=Logs, summary="A job's log lines")
async def job_logs(
    job: ReadableJob,
    store: StoreDep,
    tail: Annotated[int, Query(ge=1, le=MAX_LOG_LINES, description="At most this many of the latest lines")] = 200,
    since: Annotated[int, Query(ge=0, description="Only lines with a seq above this (the last_seq you saw)")] = 0,
) -> Logs:
    """The job's latest log lines, oldest first; follow with `since=<last_seq>`."""
    lines, last_seq = await store.telemetry.logs(job.id, tail, since)
    return Logs(job_id=job.id, lines=lines, last_seq=last_seq)


@telemetry_router.get(
    "/jobs/{job_id}/preview",
    summary="A job's latest live preview image",
    response_class=Response,
    responses={
        200: {"content": {"image/png": {}, "image/jpeg": {}, "image/webp": {}}, "description": "The image"},
        304: {"description": "Not modified since the ETag given in If-None-Match"},
    },
)
async def job_preview(job: ReadableJob, store: StoreDep, request: Request) -> Response:
    """The newest preview a running job sent; its `ETag` is the preview's version."""
    preview = await store.telemetry.preview(job.id)
    if preview is None:
        raise ApiError(404, f"job {job.id} has sent no preview", code="preview_not_found")
    etag = f'"{preview.version}"'
    headers = {"ETag": etag, "Cache-Control": "no-cache", "X-Preview-Version": str(preview.version)}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(preview.data, media_type=preview.content_type, headers=headers)

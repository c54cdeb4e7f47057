"""One error shape for every HTTP error and WebSocket error frame.

`{"error": {"status": int, "code": str, "message": str, "details": [...]}}`; `details` is left
out when empty. For 422, each detail is `{"field": <parameter or file field>, "message": ...}`.
The shape is the client's wire model `myspinbot_client.models.ErrorBody`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from myspinbot.core.job_service import BrokerUnavailable
from myspinbot.core.params import allowed_form
from myspinbot.core.store import StoreUnavailable
from myspinbot_client.models import ErrorBody

log = logging.getLogger(__name__)

STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_params",
    429: "too_many_requests",
    500: "internal_error",
    503: "unavailable",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries documenting the common error body for these statuses."""
    descriptions = {
        400: "Malformed request",
        401: "Missing, wrong, revoked or expired API key",
        403: "Your role may not do this (viewers only read; users and other keys are for admins)",
        404: "No such job, job type or artifact",
        409: "The job is already finished",
        413: "Upload or request too large",
        415: "Unsupported content or file type",
        422: "Invalid parameters or files; `details` names each field",
        429: "Too many failed attempts, or the per-user cap on active jobs; see Retry-After",
        503: "Redis or the broker is unreachable; retry",
    }
    return {status: {"model": ErrorBody, "description": descriptions.get(status, "Error")} for status in statuses}


class ApiError(Exception):
    """An error the API answers with its status and the common error body."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        details: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code or STATUS_CODES.get(status, "error")
        self.message = message
        self.details = details or []
        self.headers = headers


def error_body(status: int, code: str, message: str, details: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The common error body."""
    error: dict[str, Any] = {"status": status, "code": code, "message": message}
    if details:
        error["details"] = details
    return {"error": error}


# Errors where the allowed form adds nothing: the field is missing or not a field at all.
NO_FORM_NEEDED = frozenset({"missing", "extra_forbidden"})


def field_errors(
    error: ValidationError, prefix: tuple[str, ...] = (), schema: Mapping[str, Any] | None = None
) -> list[dict[str, Any]]:
    """Pydantic errors as `{"field", "message"}` details, the field named by its dotted path.

    With the model's JSON `schema`, each message about a parameter's value also says what the
    parameter takes ("allowed: an integer from 128 to 1920, a multiple of 16"), so one answer is
    enough to fix it.
    """
    properties: Mapping[str, Any] = (schema or {}).get("properties") or {}
    details = []
    for item in error.errors(include_url=False):
        loc = [str(part) for part in item["loc"] if str(part) not in prefix]
        message = str(item["msg"]).removeprefix("Value error, ")
        if schema is not None and loc and loc[0] in properties and item["type"] not in NO_FORM_NEEDED:
            form = allowed_form(properties[loc[0]], schema)
            if form:
                message = f"{message}; allowed: {form}"
        details.append({"field": ".".join(loc) or "params", "message": message})
    return details


def human_bytes(size: int) -> str:
    """A byte count as people read limits: "200 MiB", "64 KiB", "512 bytes"."""
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= scale:
            return f"{size / scale:.1f}".removesuffix(".0") + f" {unit}"
    return f"{size} bytes"


def invalid_params(details: list[dict[str, Any]]) -> ApiError:
    """A 422 whose message already names the fields to fix."""
    names = ", ".join(sorted({detail["field"] for detail in details}))
    return ApiError(422, f"invalid parameters: {names}", details=details)


def api_route_not_found(request: Request) -> JSONResponse:
    """404 for a path under /api that no route serves, pointing at the submit routes that exist.

    `POST /api/upscale` is most often a job type's alias that is not installed or mistyped, so the
    answer lists the known job types and their routes instead of a bare "Not Found".
    """
    method, path = request.method, request.url.path
    kernel = getattr(request.app.state, "kernel", None)
    job_types = kernel.job_types.values() if kernel is not None else []
    known = ", ".join(
        f"{job_type.name} (POST /api/jobs/{job_type.name}" + (f" or {job_type.route})" if job_type.route else ")")
        for job_type in sorted(job_types, key=lambda job_type: job_type.name)
    )
    segments = path.strip("/").split("/")
    if method == "POST" and len(segments) == 2:
        message = f"no job type route {path}; known job types: {known or 'none'}"
        return JSONResponse(error_body(404, "unknown_job_type", message), 404)
    message = f"no route {method} {path}; see /docs for the API's routes; job types: {known or 'none'}"
    return JSONResponse(error_body(404, "not_found", message), 404)


def install_error_handlers(app: FastAPI) -> None:
    """Make every error, ours or the framework's, answer in the common shape."""

    @app.exception_handler(ApiError)
    async def api_error(_: Request, error: ApiError) -> JSONResponse:
        return JSONResponse(
            error_body(error.status, error.code, error.message, error.details), error.status, headers=error.headers
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        if error.status_code == 404 and error.detail == "Not Found" and request.url.path.startswith("/api/"):
            return api_route_not_found(request)
        code = STATUS_CODES.get(error.status_code, "error")
        message = error.detail if isinstance(error.detail, str) else code.replace("_", " ")
        return JSONResponse(error_body(error.status_code, code, message), error.status_code, headers=error.headers)

    @app.exception_handler(RequestValidationError)
    async def request_invalid(_: Request, error: RequestValidationError) -> JSONResponse:
        details = []
        for item in error.errors():
            loc = [str(part) for part in item.get("loc", ()) if part not in ("body", "query", "path", "header")]
            details.append({"field": ".".join(loc) or "request", "message": str(item.get("msg", "invalid"))})
        body = invalid_params(details)
        return JSONResponse(error_body(422, body.code, body.message, details), 422)

    @app.exception_handler(StoreUnavailable)
    async def store_down(_: Request, error: StoreUnavailable) -> JSONResponse:
        log.warning("store unavailable: %s", error)
        message = "the job store (Redis) is unreachable; retry shortly"
        return JSONResponse(error_body(503, "store_unavailable", message), 503, headers={"Retry-After": "2"})

    @app.exception_handler(BrokerUnavailable)
    async def broker_down(_: Request, error: BrokerUnavailable) -> JSONResponse:
        # Routes that steer queues answer this themselves; this is for any that does not.
        log.warning("broker unavailable: %s", error)
        message = "the job queue (Redis) is unreachable; retry shortly"
        return JSONResponse(error_body(503, "broker_unavailable", message), 503, headers={"Retry-After": "2"})

    @app.exception_handler(Exception)
    async def unexpected(_: Request, error: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=error)
        return JSONResponse(error_body(500, "internal_error", "internal error; see the API's log"), 500)

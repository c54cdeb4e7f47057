"""The client's exceptions: every API error becomes an `ApiError`, a lost connection `ApiUnavailable`."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from myspinbot_client.models import FieldError


class ApiError(Exception):
    """An error answered by the API, in its common shape `{"error": {status, code, message, details}}`.

    `status` is the HTTP status (0 when no response came, see `ApiUnavailable`); `code` is the
    API's stable machine-readable code; `details` lists field errors (for a 422, one per bad
    parameter or upload field); `retry_after` is the seconds a 429 or 503 asks to wait (its
    `Retry-After` header), None when it named none.
    """

    def __init__(self, status: int, code: str, message: str, details: list[FieldError] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or []
        self.retry_after: int | None = None

    def __str__(self) -> str:
        text = f"{self.message} ({self.code}, HTTP {self.status})" if self.status else self.message
        if self.details:
            text += "".join(f"\n  {detail}" for detail in self.details)
        return text

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status}, code={self.code!r}, message={self.message!r})"

    def to_json(self) -> dict[str, Any]:
        """The error in the API's common shape, for machine-readable output."""
        body: dict[str, Any] = {"status": self.status, "code": self.code, "message": self.message}
        if self.details:
            body["details"] = [{"field": detail.field, "message": detail.message} for detail in self.details]
        return {"error": body}


class ApiUnavailable(ApiError):
    """The API could not be reached (refused, timed out, connection dropped); status is 0."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(0, "unavailable", f"cannot reach the MySpinBot API at {url}: {reason}")
        self.url = url
        self.reason = reason


def error_from_body(status: int, body: object, reason: str = "") -> ApiError:
    """The `ApiError` for a decoded error body; tolerant of bodies not in the common shape."""
    if isinstance(body, Mapping):
        error = body.get("error")
        if isinstance(error, Mapping) and "message" in error:
            return ApiError(
                status=_int(error.get("status"), status),
                code=str(error.get("code") or f"http_{status}"),
                message=str(error["message"]),
                details=_field_errors(error.get("details")),
            )
        if "detail" in body:  # a framework default, e.g. before the API's handlers run
            detail = body["detail"]
            message = detail if isinstance(detail, str) else json.dumps(detail)
            return ApiError(status, f"http_{status}", message)
    text = body.strip() if isinstance(body, str) else ""
    message = reason or "unexpected response"
    if text:
        message += f": {text[:200]}"
    return ApiError(status, f"http_{status}", message)


def error_from_response(status: int, content: bytes, reason: str = "") -> ApiError:
    """The `ApiError` for an HTTP error response's raw body (JSON or not)."""
    text = content.decode("utf-8", errors="replace")
    try:
        body: object = json.loads(text)
    except ValueError:
        body = text
    return error_from_body(status, body, reason)


def _field_errors(details: object) -> list[FieldError]:
    if not isinstance(details, list):
        return []
    errors = []
    for item in details:
        if isinstance(item, Mapping):
            field = item.get("field")
            errors.append(
                FieldError(field=str(field) if field is not None else None, message=str(item.get("message", "")))
            )
        else:
            errors.append(FieldError(message=str(item)))
    return errors


def _int(value: object, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default

"""The API's routes as request descriptions and decoders, shared by the sync and async clients."""

from __future__ import annotations

import json
import mimetypes
import os
from collections.abc import Callable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Generic, TypeVar
from urllib.parse import quote

import httpx
from pydantic import ValidationError

from myspinbot_client.errors import ApiError, ApiUnavailable, error_from_response
from myspinbot_client.models import (
    Artifact,
    ArtifactStream,
    Chunks,
    Health,
    Job,
    JobPage,
    JobState,
    JobType,
    Plugin,
    Priority,
)
from myspinbot_client.telemetry import Logs, Metrics

T = TypeVar("T")
PathLike = str | os.PathLike[str]
# Uploads: {multipart field: path or paths}, or paths alone, which go under the field "files".
Files = Mapping[str, PathLike | Sequence[PathLike]] | Sequence[PathLike]
DEFAULT_FILE_FIELD = "files"


@dataclass(frozen=True)
class Call(Generic[T]):
    """One HTTP request to the API and how to decode its successful response."""

    method: str
    path: str
    decode: Callable[[Any], T]
    query: dict[str, str] = field(default_factory=dict)
    json_body: Any = None
    form: dict[str, str] | None = None
    uploads: tuple[tuple[str, Path], ...] = ()
    headers: dict[str, str] = field(default_factory=dict)
    also_ok: tuple[int, ...] = ()  # error statuses whose body is still a result (health's 503)

    def request_args(self, stack: ExitStack) -> dict[str, Any]:
        """Keyword arguments for `httpx.Client.request`; upload files are opened on `stack`."""
        args: dict[str, Any] = {"params": self.query or None, "headers": self.headers or None}
        if self.uploads or self.form is not None:
            args["data"] = self.form or {}
            args["files"] = [
                (name, (path.name, stack.enter_context(path.open("rb")), _content_type(path)))
                for name, path in self.uploads
            ]
        elif self.json_body is not None:
            args["json"] = self.json_body
        return args

    def result(self, response: httpx.Response) -> T:
        """The decoded result, or the `ApiError` the response stands for."""
        if response.status_code == 204:
            return self.decode(None)
        if response.is_success or response.status_code in self.also_ok:
            try:
                return self.decode(response.json())
            except ValidationError as error:
                message = f"{self.path} answered a body this client cannot read: {error}"
                raise ApiError(response.status_code, "bad_response", message) from None
            except ValueError:
                raise ApiError(response.status_code, "bad_response", f"{self.path} answered non-JSON") from None
        refusal = error_from_response(response.status_code, response.content, response.reason_phrase)
        refusal.retry_after = retry_after(response.headers.get("retry-after"))
        raise refusal


def submit(
    job_type: str,
    params: Mapping[str, Any] | None,
    files: Files | None,
    idempotency_key: str | None,
    priority: Priority | str | None = None,
) -> Call[Job]:
    """`POST /api/jobs/{type}`: JSON when there are no files, else multipart with params as fields."""
    headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
    query = {"priority": Priority(priority).value} if priority else {}
    uploads = normalize_uploads(files)
    path = f"/api/jobs/{_segment(job_type)}"
    params = dict(params or {})
    if not uploads:
        return Call("POST", path, Job.model_validate, query=query, json_body=params, headers=headers)
    form = {name: value if isinstance(value, str) else json.dumps(value) for name, value in params.items()}
    return Call("POST", path, Job.model_validate, query=query, form=form, uploads=uploads, headers=headers)


def get_job(job_id: str) -> Call[Job]:
    """`GET /api/jobs/{id}`."""
    return Call("GET", f"/api/jobs/{_segment(job_id)}", Job.model_validate)


def list_jobs(
    state: JobState | str | None, job_type: str | None, limit: int | None, cursor: str | None
) -> Call[JobPage]:
    """`GET /api/jobs` with its filters; `limit` is the page size."""
    query = {"state": state, "type": job_type, "limit": str(limit) if limit else None, "cursor": cursor}
    return Call("GET", "/api/jobs", JobPage.model_validate, query={k: str(v) for k, v in query.items() if v})


def cancel(job_id: str) -> Call[Job]:
    """`POST /api/jobs/{id}/cancel`."""
    return Call("POST", f"/api/jobs/{_segment(job_id)}/cancel", Job.model_validate)


def artifacts(job_id: str) -> Call[list[Artifact]]:
    """`GET /api/jobs/{id}/artifacts`."""
    return Call("GET", f"/api/jobs/{_segment(job_id)}/artifacts", _list_of(Artifact.model_validate))


def metrics(job_id: str, names: Sequence[str] | None, since_step: int | None, max_points: int | None) -> Call[Metrics]:
    """`GET /api/jobs/{id}/metrics`: every series, or those named, optionally downsampled."""
    query = {
        "names": ",".join(names) if names else None,
        "since_step": str(since_step) if since_step is not None else None,
        "max_points": str(max_points) if max_points is not None else None,
    }
    path = f"/api/jobs/{_segment(job_id)}/metrics"
    return Call("GET", path, Metrics.model_validate, query={k: v for k, v in query.items() if v is not None})


def logs(job_id: str, tail: int | None, since: int | None) -> Call[Logs]:
    """`GET /api/jobs/{id}/logs`: the latest lines, or those after seq `since`."""
    query = {"tail": str(tail) if tail else None, "since": str(since) if since else None}
    path = f"/api/jobs/{_segment(job_id)}/logs"
    return Call("GET", path, Logs.model_validate, query={k: v for k, v in query.items() if v is not None})


def preview_path(job_id: str) -> str:
    """Where a job's live preview image is."""
    return f"/api/jobs/{_segment(job_id)}/preview"


def job_types() -> Call[list[JobType]]:
    """`GET /api/job-types`."""
    return Call("GET", "/api/job-types", _list_of(JobType.model_validate))


def plugins() -> Call[list[Plugin]]:
    """`GET /api/plugins`."""
    return Call("GET", "/api/plugins", _list_of(Plugin.model_validate, key="plugins"))


def health() -> Call[Health]:
    """`GET /health`; a 503 "degraded" answer is a result, not an error."""
    return Call("GET", "/health", Health.model_validate, also_ok=(503,))


def artifact_url(job_id: str, artifact: Artifact | str) -> str:
    """Where to download an artifact: an `Artifact`'s `url`, else the route built from its name."""
    if isinstance(artifact, Artifact) and artifact.url:
        return artifact.url
    return f"/api/jobs/{_segment(job_id)}/artifacts/{_segment(artifact_name(artifact))}"


def artifact_name(artifact: Artifact | str) -> str:
    """The name of an artifact given as an `Artifact` or by its name."""
    return artifact.name if isinstance(artifact, Artifact) else artifact


def artifact_stream(artifact: Artifact | str, response: httpx.Response, chunks: Chunks) -> ArtifactStream[Chunks]:
    """An artifact being downloaded: type and size from the response's headers, and its chunks."""
    length = response.headers.get("content-length", "")
    # httpx decodes a compressed body, so a compressed length would not be the size of the chunks.
    known = length.isdigit() and "content-encoding" not in response.headers
    return ArtifactStream(
        name=artifact_name(artifact),
        content_type=response.headers.get("content-type") or "application/octet-stream",
        size=int(length) if known else None,
        chunks=chunks,
    )


def artifact_path(out_dir: Path, name: str) -> Path:
    """Where an artifact is saved: its base name under `out_dir`, never outside it."""
    base = PurePosixPath(name.replace("\\", "/")).name
    if base in ("", ".", ".."):
        raise ValueError(f"refusing to save an artifact named {name!r}")
    return out_dir / base


def normalize_uploads(files: Files | None) -> tuple[tuple[str, Path], ...]:
    """Uploads as (multipart field, path) pairs, each path checked to be a readable file."""
    if not files:
        return ()
    items = files.items() if isinstance(files, Mapping) else [(DEFAULT_FILE_FIELD, files)]
    uploads = []
    for name, value in items:
        paths = [value] if isinstance(value, str | os.PathLike) else list(value)
        for path in map(Path, paths):
            if not path.is_file():
                raise FileNotFoundError(f"{path}: no such file (for upload field {name!r})")
            uploads.append((name, path))
    return tuple(uploads)


def retry_after(header: str | None) -> int | None:
    """A `Retry-After` header's whole seconds (the API sends seconds, never a date), or None."""
    if header is None or not header.strip().isdigit():
        return None
    return int(header.strip())


def unavailable(url: str, error: Exception) -> ApiUnavailable:
    """The `ApiUnavailable` for a transport failure."""
    return ApiUnavailable(url, str(error) or type(error).__name__)


def _list_of(decode: Callable[[Mapping[str, Any]], T], key: str | None = None) -> Callable[[Any], list[T]]:
    def decode_list(body: Any) -> list[T]:
        items = body.get(key, []) if key and isinstance(body, Mapping) else body
        if not isinstance(items, list):
            raise ApiError(200, "bad_response", f"expected a list, got {type(items).__name__}")
        return [decode(item) for item in items]

    return decode_list


def _segment(value: str) -> str:
    return quote(value, safe="")


def _content_type(path: Path) -> str:
    return mimetypes.guess_type(path.name)[0] or "application/octet-stream"

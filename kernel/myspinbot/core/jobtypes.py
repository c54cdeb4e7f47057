"""What a plugin declares to add a job type: `JobType`, `FileSpec`, `ParamError`."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import BaseModel

from myspinbot_client.models import FileField

if TYPE_CHECKING:
    from myspinbot.core.context import JobContext
    from myspinbot.core.jobs import Job

JOB_TYPE_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")


class ParamError(ValueError):
    """Raised by a job type's `check` when a parameter is valid alone but not in context.

    The API answers 422 with `field` named in the error's details.
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class FileSpec(FileField):
    """The uploads a job type accepts under one multipart field: the client's wire `FileField`.

    One rule everywhere: no extensions means any file, and names compare case-insensitively
    (`accepts`, `is_archive`, `accepts_member`). `max_bytes` of None means the server's
    `MYSPINBOT_MAX_UPLOAD_BYTES`. `archive_extensions` are archives (".zip") whose members must
    themselves have one of `extensions`; they are checked before the job is accepted.
    """


class JobReader(Protocol):
    """Read access to other jobs, for a job type's submission check."""

    async def get(self, job_id: str) -> Job | None: ...


JobHandler = Callable[["JobContext", Any], Mapping[str, Any] | None]
SubmissionCheck = Callable[[Any, JobReader], Awaitable[None]]
InputsCheck = Callable[[list[Path]], None]


@dataclass(frozen=True)
class JobType:
    """A kind of job: its parameters, accepted files, queue and the handler that runs it.

    `run(ctx, params)` runs in a worker process with the validated parameters and returns a
    small JSON-able dict (the job's `result`) or None. `check(params, jobs)`, if given, runs in
    the API before the job is accepted and raises `ParamError` to reject it (e.g. a parameter
    that must name another job). `inputs_check(paths)`, if given, runs in the API on the
    uploaded files (already checked against `files`) and raises `ParamError` to reject them.
    `route` is an optional alias such as "/api/train".
    """

    name: str
    title: str
    params: type[BaseModel]
    run: JobHandler
    queue: str = ""
    files: tuple[FileSpec, ...] = ()
    route: str | None = None
    description: str = ""
    check: SubmissionCheck | None = None
    inputs_check: InputsCheck | None = None

    def __post_init__(self) -> None:
        if not JOB_TYPE_NAME.match(self.name):
            raise ValueError(
                f"job type name {self.name!r} must be lowercase letters, digits, '-' or '_', "
                "starting with a letter, at most 40 characters"
            )
        if not self.queue:
            object.__setattr__(self, "queue", self.name)
        fields = [spec.field for spec in self.files]
        if len(fields) != len(set(fields)):
            raise ValueError(f"job type {self.name!r} declares the same file field twice")

    @property
    def task_name(self) -> str:
        """The Celery task name the kernel registers for this job type."""
        return f"myspinbot.job.{self.name}"

    def file_spec(self, field_name: str) -> FileSpec | None:
        """The spec for one multipart field, or None if the job type takes no such files."""
        return next((spec for spec in self.files if spec.field == field_name), None)

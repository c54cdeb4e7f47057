"""`JobContext`: what a job handler gets to report progress, honour cancels and save files."""

from __future__ import annotations

import logging
import mimetypes
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from myspinbot.core.settings import Settings


class JobCancelled(Exception):
    """Raised inside a handler when its job was cancelled; the kernel records `cancelled`."""


class ProgressReporter(Protocol):
    """The kernel side of a `JobContext`: writes progress and reads the cancel flag."""

    def report_progress(self, step: int, total: int, message: str) -> bool:
        """Record one step; return True when a cancel was requested."""
        ...

    def cancel_requested(self) -> bool: ...

    def record_artifact(self, name: str, content_type: str, size: int) -> None: ...


ARTIFACT_TYPES = {
    ".safetensors": "application/octet-stream",
    ".webp": "image/webp",
    ".gif": "image/gif",
    ".mp4": "video/mp4",
    ".json": "application/json",
    ".txt": "text/plain",
}


def guess_content_type(name: str) -> str:
    """The content type the API serves an artifact with."""
    suffix = Path(name).suffix.lower()
    return ARTIFACT_TYPES.get(suffix) or mimetypes.guess_type(name)[0] or "application/octet-stream"


@dataclass
class JobContext:
    """Handed to a job handler in the worker.

    - `progress(step, total, message)` records progress over the whole job (it never goes
      back) and raises `JobCancelled` if the job was cancelled;
    - `workdir` is the job's private scratch folder; `inputs` are the uploaded files;
    - `add_artifact(path)` publishes a file as a downloadable result;
    - `log` is a logger named after the job.
    """

    job_id: str
    job_type: str
    workdir: Path
    artifacts_dir: Path
    inputs: list[Path]
    settings: Settings
    reporter: ProgressReporter
    log: logging.Logger = field(default_factory=lambda: logging.getLogger("myspinbot.job"))

    def progress(self, step: int, total: int, message: str = "") -> None:
        """Record that `step` of `total` steps are done; raise `JobCancelled` if cancelled."""
        if total <= 0 or step < 0:
            raise ValueError(f"progress needs 0 <= step and total > 0, got {step}/{total}")
        if self.reporter.report_progress(min(step, total), total, message):
            raise JobCancelled(self.job_id)

    def check_cancelled(self) -> None:
        """Raise `JobCancelled` if a cancel was requested, without recording progress."""
        if self.reporter.cancel_requested():
            raise JobCancelled(self.job_id)

    def sleep(self, seconds: float) -> None:
        """Wait, as a mock step does; a cancel is noticed at the next `progress` call."""
        if seconds > 0:
            time.sleep(seconds)

    @property
    def step_seconds(self) -> float:
        """How long one mock step takes (`MYSPINBOT_MOCK_STEP_SECONDS`)."""
        return self.settings.mock_step_seconds

    def add_artifact(self, path: Path | str, name: str | None = None, content_type: str | None = None) -> Path:
        """Publish a file as one of the job's artifacts; returns where it now lives."""
        source = Path(path)
        final_name = safe_artifact_name(name or source.name)
        target = self.artifacts_dir / final_name
        self.artifacts_dir.mkdir(parents=True, exist_ok=True)
        if source.resolve() != target.resolve():
            # Move when possible so large outputs are not copied twice.
            try:
                source.replace(target)
            except OSError:
                shutil.copyfile(source, target)
        self.reporter.record_artifact(
            final_name,
            content_type or guess_content_type(final_name),
            target.stat().st_size,
        )
        return target


def safe_artifact_name(name: str) -> str:
    """A file name with no path parts, safe to serve; raises ValueError when nothing is left."""
    base = Path(name.replace("\\", "/")).name
    cleaned = "".join(c for c in base if c.isalnum() or c in "._-")
    cleaned = cleaned.lstrip(".")
    if not cleaned:
        raise ValueError(f"{name!r} is not a usable file name")
    return cleaned[:200]

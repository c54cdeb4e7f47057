"""`JobContext`: what a job handler gets to report progress, honour cancels and save files."""

from __future__ import annotations

import logging
import mimetypes
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from myspinbot.core.jobfiles import JobFolders
from myspinbot.core.jobs import ArtifactKind
from myspinbot.core.telemetry import MAX_PREVIEW_BYTES, clean_values, sniff_image_type
from myspinbot.core.telemetry_sink import JobLog, MemoryTelemetry, TelemetrySink

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

    def record_artifact(self, name: str, content_type: str, size: int, **details: Any) -> None:
        """Keep an artifact on the job; `details` are its kind, step, caption and seed."""
        ...


ARTIFACT_TYPES = {
    ".safetensors": "application/octet-stream",
    ".webp": "image/webp",
    ".gif": "image/gif",
    ".mp4": "video/mp4",
    ".json": "application/json",
    ".txt": "text/plain",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
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
    - `workdir` is the job's private scratch folder (made on first use); `inputs` are the uploaded files;
    - `add_artifact(path)` publishes a file as a downloadable result;
    - `metric(step, loss=..., lr=...)` records named scalars at a step (served as series);
    - `sample(path, step, caption=, seed=)` and `checkpoint(path, step)` publish an image or a
      model file made at a step, at once (they appear live, before the job ends);
    - `preview(image)` replaces the job's live preview image (PNG, JPEG, WebP or GIF bytes);
    - `log` is a logger (`ctx.log.info(...)`, or `ctx.log("...")`) whose lines the job keeps.
    """

    job_id: str
    job_type: str
    scratch_dir: Path  # `workdir`, before it is made
    artifacts_dir: Path
    inputs: list[Path]
    settings: Settings
    reporter: ProgressReporter
    telemetry: TelemetrySink = field(default_factory=MemoryTelemetry)
    logger: logging.Logger = field(default_factory=lambda: logging.getLogger("myspinbot.job"))
    log: JobLog = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.log = JobLog(self.logger, self.telemetry)

    @property
    def workdir(self) -> Path:
        """The job's scratch folder, made the first time a handler asks for it: a job that needs
        none (a zero-step job) costs no folder, and making one was 15% of such a job's time in the
        worker (docs/performance.md)."""
        self.scratch_dir.mkdir(parents=True, exist_ok=True)
        return self.scratch_dir

    def progress(self, step: int, total: int, message: str = "") -> None:
        """Record that `step` of `total` steps are done; raise `JobCancelled` if cancelled."""
        if total <= 0 or step < 0:
            raise ValueError(f"progress needs 0 <= step and total > 0, got {step}/{total}")
        self.telemetry.flush()
        if self.reporter.report_progress(min(step, total), total, message):
            raise JobCancelled(self.job_id)

    def check_cancelled(self) -> None:
        """Raise `JobCancelled` if a cancel was requested, without recording progress."""
        if self.reporter.cancel_requested():
            raise JobCancelled(self.job_id)

    def sleep(self, seconds: float) -> None:
        """Wait, as a mock step does; a cancel is noticed at the next `progress` call."""
        self.telemetry.flush()  # what was reported before a pause is visible during it
        if seconds > 0:
            time.sleep(seconds)

    def metric(self, step: int, **values: float) -> None:
        """Record named scalars at a step, e.g. `ctx.metric(120, loss=0.071, lr=1e-4)`."""
        if step < 0:
            raise ValueError(f"metric step must be >= 0, got {step}")
        cleaned = clean_values(values)
        if cleaned:
            self.telemetry.metric(int(step), cleaned)

    def sample(self, path: Path | str, step: int, caption: str | None = None, seed: int | None = None) -> Path:
        """Publish an image made at `step` (e.g. a sample prompt's render) as a `sample` artifact."""
        return self._publish(path, ArtifactKind.SAMPLE, step, caption=caption, seed=seed)

    def checkpoint(self, path: Path | str, step: int, caption: str | None = None) -> Path:
        """Publish a model file saved at `step` as a `checkpoint` artifact (a later job may resume from it)."""
        return self._publish(path, ArtifactKind.CHECKPOINT, step, caption=caption)

    def remove_artifact(self, name: str) -> None:
        """Withdraw an artifact and delete its file (e.g. a checkpoint beyond `save_last_n`)."""
        target = self.artifacts_dir / safe_artifact_name(name)
        target.unlink(missing_ok=True)
        self.telemetry.artifact_removed(target.name)

    def preview(self, image: bytes | Path | str) -> None:
        """Replace the job's live preview with this image (PNG, JPEG, WebP or GIF; at most 2 MB)."""
        data = Path(image).read_bytes() if isinstance(image, Path | str) else bytes(image)
        content_type = sniff_image_type(data)
        if content_type is None:
            raise ValueError("a preview must be a PNG, JPEG, WebP or GIF image")
        if len(data) > MAX_PREVIEW_BYTES:
            raise ValueError(f"a preview may be at most {MAX_PREVIEW_BYTES} bytes, got {len(data)}")
        self.telemetry.preview(data, content_type)

    def artifact_of(self, job_id: str, name: str) -> Path:
        """The file of another job's artifact (e.g. a checkpoint to resume from); FileNotFoundError if gone."""
        path = JobFolders.of(self.settings.jobs_dir, job_id).artifact(name)
        if path is None:
            raise FileNotFoundError(f"job {job_id} has no artifact file {name!r}")
        return path

    @property
    def step_seconds(self) -> float:
        """How long one mock step takes (`MYSPINBOT_MOCK_STEP_SECONDS`)."""
        return self.settings.mock_step_seconds

    def add_artifact(self, path: Path | str, name: str | None = None, content_type: str | None = None) -> Path:
        """Publish a file as one of the job's artifacts; returns where it now lives."""
        return self._store_file(path, name, content_type)

    def _publish(self, path: Path | str, kind: ArtifactKind, step: int, **details: Any) -> Path:
        target = self._store_file(path, None, None, kind=kind, step=int(step), **details)
        self.telemetry.artifact_published(target.name)
        return target

    def _store_file(self, path: Path | str, name: str | None, content_type: str | None, **details: Any) -> Path:
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
            **details,
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

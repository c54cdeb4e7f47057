"""Running a job handler by hand in a unit test: a recording reporter and a JobContext."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from myspinbot import JobContext, Settings


@dataclass
class FakeReporter:
    """Records what a handler reports; asks to cancel once `cancel_after` steps were reported."""

    cancel_after: int | None = None
    steps: list[tuple[int, int, str]] = field(default_factory=list)
    artifacts: list[tuple[str, str, int]] = field(default_factory=list)
    details: dict[str, dict[str, Any]] = field(default_factory=dict)  # kind, step, caption, seed by name

    def report_progress(self, step: int, total: int, message: str) -> bool:
        self.steps.append((step, total, message))
        return self.cancel_requested()

    def cancel_requested(self) -> bool:
        return self.cancel_after is not None and len(self.steps) > self.cancel_after

    def record_artifact(self, name: str, content_type: str, size: int, **details: Any) -> None:
        self.artifacts.append((name, content_type, size))
        self.details[name] = details


def handler_context(
    tmp_path: Path, job_type: str, reporter: FakeReporter, inputs: list[Path] | None = None, step_seconds: float = 0.0
) -> JobContext:
    """A JobContext over folders in `tmp_path`, as the worker's wrapper would build it."""
    return JobContext(
        job_id=f"job-{job_type}-1",
        job_type=job_type,
        scratch_dir=tmp_path / "work",
        artifacts_dir=tmp_path / "artifacts",
        inputs=inputs or [],
        settings=Settings(mock_step_seconds=step_seconds),
        reporter=reporter,
    )

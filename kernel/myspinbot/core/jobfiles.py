"""Where a job's files live: one folder per job under MYSPINBOT_DATA_DIR/jobs."""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

JOB_ID = re.compile(r"^[0-9a-f]{32}$")


@dataclass(frozen=True)
class JobFolders:
    """The folders of one job: uploads (`inputs`), scratch (`work`) and results (`artifacts`)."""

    root: Path

    @classmethod
    def of(cls, jobs_dir: Path, job_id: str) -> JobFolders:
        """The folders of `job_id`; refuses ids that are not ours, so no path can escape."""
        if not JOB_ID.match(job_id):
            raise ValueError(f"not a job id: {job_id!r}")
        return cls(jobs_dir / job_id)

    @property
    def inputs(self) -> Path:
        return self.root / "inputs"

    @property
    def work(self) -> Path:
        return self.root / "work"

    @property
    def artifacts(self) -> Path:
        return self.root / "artifacts"

    def input_files(self) -> list[Path]:
        """The uploaded files, sorted by name."""
        if not self.inputs.is_dir():
            return []
        return sorted(path for path in self.inputs.iterdir() if path.is_file())

    def artifact(self, name: str) -> Path | None:
        """An artifact by name, or None if there is no such file (or the name tries to escape)."""
        if "/" in name or "\\" in name or name.startswith("."):
            return None
        path = self.artifacts / name
        return path if path.is_file() else None

    def remove(self) -> None:
        """Delete every file of the job."""
        shutil.rmtree(self.root, ignore_errors=True)

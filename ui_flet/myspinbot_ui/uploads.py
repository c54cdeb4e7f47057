"""Where a submission's files wait between the browser's upload and the API call.

The browser PUTs each picked file to the dashboard's own signed upload URL (Flet's upload
endpoint, over plain HTTP, so large datasets do not travel through the page's websocket);
`UploadBatch` knows which files one submission waits for, under a folder of its own, and is
removed once the API has the files.
"""

from __future__ import annotations

import asyncio
import shutil
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

UPLOAD_URL_SECONDS = 3600


class UploadError(Exception):
    """A file did not reach the dashboard's server."""


def safe_name(name: str) -> str:
    """A picked file's base name, refused when it could leave its folder."""
    base = PurePosixPath(name.replace("\\", "/")).name
    if base in ("", ".", ".."):
        raise UploadError(f"cannot upload a file named {name!r}")
    return base


@dataclass
class UploadBatch:
    """The files of one submission: expected by upload field, and which have arrived."""

    root: Path
    expected: Mapping[str, Sequence[str]]
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    _pending: dict[str, set[str]] = field(init=False)
    _errors: list[str] = field(init=False, default_factory=list)
    _changed: asyncio.Event = field(init=False, default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self._pending = {name: {safe_name(item) for item in files} for name, files in self.expected.items() if files}

    @property
    def folder(self) -> Path:
        """Where this batch's files land."""
        return self.root / self.id

    def upload_name(self, upload_field: str, file_name: str) -> str:
        """The name to ask an upload URL for (relative to the upload root)."""
        return f"{self.id}/{upload_field}/{safe_name(file_name)}"

    def progress(self, upload_field: str, file_name: str, progress: float | None, error: str | None) -> None:
        """Record an upload event of the browser's file picker."""
        if error:
            self._errors.append(f"{file_name}: {error}")
        elif progress is not None and progress >= 1.0:
            self._pending.get(upload_field, set()).discard(safe_name(file_name))
        self._changed.set()

    @property
    def done(self) -> bool:
        """Whether every expected file has arrived."""
        return not any(self._pending.values())

    async def wait(self) -> dict[str, list[Path]]:
        """The uploaded files by field once all arrived; `UploadError` if one failed (bound it with a timeout)."""
        while not self.done and not self._errors:
            self._changed.clear()
            await self._changed.wait()
        if self._errors:
            raise UploadError("; ".join(self._errors))
        return {
            name: [self.folder / name / safe_name(item) for item in files]
            for name, files in self.expected.items()
            if files
        }

    def remove(self) -> None:
        """Delete the batch's files."""
        shutil.rmtree(self.folder, ignore_errors=True)

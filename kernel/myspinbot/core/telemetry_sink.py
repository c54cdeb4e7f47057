"""Where a `JobContext` sends telemetry: the worker's buffered sink, or memory in unit tests."""

from __future__ import annotations

import logging
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from myspinbot.core.telemetry import MAX_LOG_LINE_CHARS


class TelemetrySink(Protocol):
    """The kernel side of a job's telemetry (implemented by the worker; `MemoryTelemetry` in tests)."""

    def metric(self, step: int, values: dict[str, float]) -> None:
        """Take one metric point (buffered; written in batches)."""
        ...

    def log_line(self, level: str, message: str) -> None:
        """Take one log line of the job."""
        ...

    def preview(self, data: bytes, content_type: str) -> None:
        """Replace the live preview image."""
        ...

    def artifact_published(self, name: str) -> None:
        """A sample or checkpoint was just recorded: make it visible now."""
        ...

    def artifact_removed(self, name: str) -> None:
        """An artifact was withdrawn (its file is gone)."""
        ...

    def flush(self) -> None:
        """Write whatever is buffered."""
        ...


@dataclass
class MemoryTelemetry:
    """Keeps what a handler reports in lists: the sink of a `JobContext` built outside a worker."""

    points: list[tuple[int, dict[str, float]]] = field(default_factory=list)
    lines: list[tuple[str, str]] = field(default_factory=list)
    previews: list[tuple[bytes, str]] = field(default_factory=list)
    published: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    def metric(self, step: int, values: dict[str, float]) -> None:
        self.points.append((step, values))

    def log_line(self, level: str, message: str) -> None:
        self.lines.append((level, message))

    def preview(self, data: bytes, content_type: str) -> None:
        self.previews.append((data, content_type))

    def artifact_published(self, name: str) -> None:
        self.published.append(name)

    def artifact_removed(self, name: str) -> None:
        self.removed.append(name)

    def flush(self) -> None:
        pass


class JobLog(logging.LoggerAdapter[logging.Logger]):
    """`ctx.log`: a logger whose INFO-and-above lines are also kept with the job (and tailed live).

    Use it as a logger (`ctx.log.info("step %d", n)`) or call it (`ctx.log("saved")`).
    """

    def __init__(self, logger: logging.Logger, sink: TelemetrySink) -> None:
        super().__init__(logger, {})
        self.sink = sink

    def __call__(self, message: str, level: int = logging.INFO) -> None:
        """Log one line at `level` (INFO by default)."""
        self.log(level, "%s", message)

    def log(self, level: int, msg: object, *args: object, **kwargs: Any) -> None:
        """Keep the line with the job, then log it as a logger would."""
        if level >= logging.INFO:
            try:
                text = str(msg) % args if args else str(msg)
            except (TypeError, ValueError):
                text = f"{msg} {args}"
            self.sink.log_line(logging.getLevelName(level).lower(), text[:MAX_LOG_LINE_CHARS])
        super().log(level, msg, *args, **kwargs)

    def process(self, msg: Any, kwargs: MutableMapping[str, Any]) -> tuple[Any, MutableMapping[str, Any]]:
        return msg, kwargs

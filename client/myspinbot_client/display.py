"""Showing job progress: text formatting, and views for a pipe or a JSON consumer.

Live bars on a terminal are in `myspinbot_client.live_bars`, which needs the `rich` extra;
without it a terminal gets plain lines.
"""

from __future__ import annotations

import json
import sys
from typing import Protocol, TextIO

from myspinbot_client.models import Job, JobEvent, JobState


def format_eta(seconds: float | None) -> str:
    """A short remaining time: "42s", "3m05s", "1h02m"; empty when unknown."""
    if seconds is None or seconds < 0:
        return ""
    total = round(seconds)
    if total < 60:
        return f"{total}s"
    if total < 3600:
        return f"{total // 60}m{total % 60:02d}s"
    return f"{total // 3600}h{total % 3600 // 60:02d}m"


def format_size(size: int) -> str:
    """A byte count for people: "812 B", "1.2 kB", "3.4 MB"."""
    value = float(size)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{size} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{size} B"


def progress_text(job: Job) -> str:
    """Where a job stands, e.g. "running 3/17 18% sampling frames ETA 4s"."""
    parts = [job.state.value]
    if job.total:
        parts.append(f"{job.step}/{job.total}")
    parts.append(f"{job.progress * 100:.0f}%")
    if job.error:
        parts.append(f"error: {job.error}")
    elif job.message:
        parts.append(job.message)
    if job.state is JobState.RUNNING and (eta := format_eta(job.eta_seconds)):
        parts.append(f"ETA {eta}")
    return " ".join(parts)


def plain_line(job: Job, metrics: str = "") -> str:
    """One line per state for logs and pipes: "<id> <type> <progress text>[ · <latest metrics>]"."""
    line = f"{job.id} {job.type} {progress_text(job)}"
    return f"{line} · {metrics}" if metrics else line


def metrics_text(values: dict[str, float], limit: int = 4) -> str:
    """The latest metric values for a progress line, e.g. "loss 0.0712 lr 0.0001"."""
    return " ".join(f"{name} {value:.4g}" for name, value in sorted(values.items())[:limit])


def outcome_text(job: Job) -> str:
    """How a finished job ended, e.g. "succeeded in 3.2s" or "failed: mock failure"."""
    if job.state is JobState.FAILED:
        return f"failed: {job.error or job.message or 'no reason given'}"
    took = job.duration_seconds
    return f"{job.state.value} in {took:.1f}s" if took is not None else job.state.value


class ProgressView(Protocol):
    """Something that shows job events as they come."""

    def show(self, event: JobEvent) -> None:
        """Show one event."""

    def set_metrics(self, job_id: str, values: dict[str, float]) -> None:
        """Show these latest metric values with the job's progress."""

    def close(self) -> None:
        """Stop showing (leave what is shown on screen)."""


class JsonLinesView:
    """Every event as one JSON line (`{"id", "event", "job"}`), for machines."""

    def __init__(self, out: TextIO | None = None) -> None:
        self._out = out

    def show(self, event: JobEvent) -> None:
        """Print the event as a JSON line."""
        print(json.dumps(event.to_json()), file=self._out or sys.stdout, flush=True)

    def set_metrics(self, job_id: str, values: dict[str, float]) -> None:
        """Metrics are not events: `myspinbot metrics --json` gives them."""

    def close(self) -> None:
        """Nothing to stop."""


class PlainLinesView:
    """A line whenever a job's shown state changes: for pipes, logs and watching every job."""

    def __init__(self, out: TextIO | None = None) -> None:
        self._out = out
        self._last: dict[str, str] = {}
        self._metrics: dict[str, str] = {}

    def set_metrics(self, job_id: str, values: dict[str, float]) -> None:
        """Keep the latest values; they go on the job's next line."""
        self._metrics[job_id] = metrics_text(values)

    def show(self, event: JobEvent) -> None:
        """Print the job's line unless it is the same as the last one printed for it."""
        line = plain_line(event.job, self._metrics.get(event.job.id, ""))
        if self._last.get(event.job.id) != line:
            self._last[event.job.id] = line
            print(line, file=self._out or sys.stdout, flush=True)

    def close(self) -> None:
        """Nothing to stop."""


def choose_view(json_lines: bool, terminal: bool, every_job: bool = False) -> ProgressView:
    """JSON lines when asked, live bars on a terminal for given jobs (with rich), plain lines otherwise."""
    if json_lines:
        return JsonLinesView()
    if terminal and not every_job:
        try:
            from myspinbot_client.live_bars import LiveBarView
        except ImportError:  # rich is an extra: `pip install myspinbot-client[rich]`
            return PlainLinesView()
        return LiveBarView()
    return PlainLinesView()

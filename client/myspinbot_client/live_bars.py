"""Live progress bars on a terminal, drawn with rich (the client's optional `rich` extra)."""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TaskProgressColumn, TextColumn

from myspinbot_client.display import format_eta, metrics_text
from myspinbot_client.models import JobEvent, JobState

# Named ANSI colours, not rich's default RGB ones: on a 16-colour terminal (TERM=xterm) the default
# finished green, rgb(114,156,31), is downgraded to the same grey as the empty part of the bar, so a
# finished job looked as if it had not started. Named colours render as themselves everywhere.
BAR_BACK, BAR_COMPLETE, BAR_FINISHED = "bright_black", "magenta", "green"


class LiveBarView:
    """A live progress bar per job on a terminal: bar, percent, step/total, ETA and message."""

    def __init__(self, console: Console | None = None) -> None:
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(
                style=BAR_BACK, complete_style=BAR_COMPLETE, finished_style=BAR_FINISHED, pulse_style=BAR_COMPLETE
            ),
            TaskProgressColumn(),
            TextColumn("{task.fields[steps]}"),
            TextColumn("[cyan]{task.fields[eta]}"),
            TextColumn("{task.fields[message]}"),
            TextColumn("[yellow]{task.fields[metrics]}"),
            console=console,
            refresh_per_second=8,
        )
        self._tasks: dict[str, TaskID] = {}
        self._metrics: dict[str, str] = {}
        self._progress.start()

    def set_metrics(self, job_id: str, values: dict[str, float]) -> None:
        """Show the latest metric values after the job's message."""
        self._metrics[job_id] = metrics_text(values)
        if job_id in self._tasks:
            self._progress.update(self._tasks[job_id], metrics=self._metrics[job_id])

    def show(self, event: JobEvent) -> None:
        """Move the job's bar to the event's state."""
        job = event.job
        steps = f"{job.step}/{job.total}" if job.total else ""
        eta = f"ETA {format_eta(job.eta_seconds)}" if job.state is JobState.RUNNING and job.eta_seconds else ""
        message = job.error if job.state is JobState.FAILED and job.error else job.message or job.state.value
        if job.id not in self._tasks:
            self._tasks[job.id] = self._progress.add_task(
                f"{job.type} {job.id}", total=100, steps=steps, eta=eta, message=message, metrics=""
            )
        done = 100 if job.state is JobState.SUCCEEDED else job.progress * 100
        metrics = self._metrics.get(job.id, "")
        self._progress.update(
            self._tasks[job.id], completed=done, steps=steps, eta=eta, message=message, metrics=metrics
        )

    def close(self) -> None:
        """Stop refreshing, leaving the last bars on screen."""
        self._progress.stop()

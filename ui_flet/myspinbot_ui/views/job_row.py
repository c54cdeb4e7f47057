"""`JobRow`: one job in the list, with its progress, timings and what can be done with it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import flet as ft

from myspinbot_client import Artifact, Job, JobState
from myspinbot_client.display import format_eta, format_size
from myspinbot_client.models import ArtifactKind
from myspinbot_client.queue_cli import place_text
from myspinbot_ui.artifacts import artifact_href
from myspinbot_ui.views.theme import RADIUS, STATE_COLORS, STATE_LABELS, pill

SUMMARY_CHARS = 90


@dataclass(frozen=True)
class RowActions:
    """What a row's buttons do (the dashboard provides them)."""

    cancel: Callable[[Job], None]
    preview: Callable[[Job, Artifact], None]
    open: Callable[[Job], None] | None = None  # the job's own page
    run_next: Callable[[Job], None] | None = None  # a queued job: high priority, at the front
    retry: Callable[[Job], None] | None = None  # a failed or cancelled job: same parameters and files
    edit: Callable[[Job], None] | None = None  # prefill the form from the job, submit as a clone


def short_id(job_id: str) -> str:
    """The first characters of a job id, enough to tell jobs apart on screen."""
    return job_id[:8]


def summary(job: Job) -> str:
    """A line that says what the job is about: its first text parameter (a prompt, a base model)."""
    for value in job.params.values():
        if isinstance(value, str) and value.strip():
            text = " ".join(value.split())
            return text if len(text) <= SUMMARY_CHARS else text[: SUMMARY_CHARS - 1] + "…"
    return ""


def timing(job: Job, now: datetime) -> str:
    """How long the job has waited, run, or took."""
    if job.state is JobState.QUEUED and job.created_at is not None:
        return f"waiting {format_eta(max(0.0, (now - job.created_at).total_seconds())) or '0s'}"
    if job.started_at is None:
        return ""
    end = job.finished_at or now
    took = format_eta(max(0.0, (end - job.started_at).total_seconds())) or "0s"
    return f"took {took}" if job.finished else f"{took} elapsed"


def progress_line(job: Job, now: datetime) -> str:
    """Step, stage message, ETA and time, e.g. "step 4/9 · sampling frames · ETA 3s · 2s elapsed"."""
    parts = []
    if job.total:
        parts.append(f"step {job.step}/{job.total}")
    if job.message and job.state is not JobState.FAILED:
        parts.append(job.message)
    if job.state is JobState.RUNNING and (eta := format_eta(job.eta_seconds)):
        parts.append(f"ETA {eta}")
    if when := timing(job, now):
        parts.append(when)
    return " · ".join(parts)


def is_image(artifact: Artifact) -> bool:
    """Whether the browser can show an artifact as a picture."""
    content_type = artifact.content_type or ""
    return content_type.startswith("image/") or artifact.name.lower().endswith(
        (".png", ".jpg", ".jpeg", ".gif", ".webp")
    )


class JobRow:
    """One job: type, state, a progress bar, step/total, message, ETA, time, and its actions."""

    def __init__(self, job: Job, title: str, actions: RowActions) -> None:
        self.actions = actions
        self.job = job
        self._actions_key: tuple[object, ...] | None = None
        self.cancelling = False
        self.title = ft.Text(title, size=15, weight=ft.FontWeight.W_600)
        self.ident = ft.Text(
            short_id(job.id),
            size=12,
            color=ft.Colors.ON_SURFACE_VARIANT,
            selectable=True,
            tooltip=job.id,
            font_family="monospace",
        )
        self.state = ft.Container()
        self.summary = ft.Text("", size=13, max_lines=2, overflow=ft.TextOverflow.ELLIPSIS)
        self.bar = ft.ProgressBar(
            value=0, bar_height=6, border_radius=3, semantics_label=f"Progress of job {short_id(job.id)}"
        )
        self.percent = ft.Text("", size=12, width=40, text_align=ft.TextAlign.RIGHT)
        self.detail = ft.Text("", size=12, color=ft.Colors.ON_SURFACE_VARIANT)
        self.place = ft.Semantics(
            identifier=f"place-{job.id}", content=ft.Text("", size=13, weight=ft.FontWeight.W_500), visible=False
        )
        self.error = ft.Text("", size=12, color=ft.Colors.ERROR, visible=False, selectable=True)
        self.buttons = ft.Row(spacing=4, wrap=True, run_spacing=4)
        self.control = ft.Semantics(
            identifier=f"job-{job.id}",
            container=True,
            content=ft.Container(
                ft.Column(
                    [
                        ft.Row(
                            [
                                ft.Row(
                                    [self.title, self.ident],
                                    spacing=8,
                                    wrap=True,
                                    expand=True,
                                    vertical_alignment=ft.CrossAxisAlignment.CENTER,
                                ),
                                self.state,
                            ],
                            vertical_alignment=ft.CrossAxisAlignment.CENTER,
                        ),
                        self.summary,
                        ft.Row(
                            [ft.Container(self.bar, expand=True), self.percent],
                            vertical_alignment=ft.CrossAxisAlignment.CENTER,
                        ),
                        self.place,
                        self.detail,
                        self.error,
                        self.buttons,
                    ],
                    spacing=6,
                ),
                padding=ft.Padding.symmetric(horizontal=14, vertical=12),
                border_radius=RADIUS,
                bgcolor=ft.Colors.SURFACE,
                border=ft.Border.all(1, ft.Colors.OUTLINE_VARIANT),
            ),
        )
        self.update(job, datetime.now(job.created_at.tzinfo if job.created_at else None))

    def update(self, job: Job, now: datetime) -> None:
        """Show `job`'s current state (`now` ticks the elapsed time)."""
        self.job = job
        color = STATE_COLORS[job.state]
        if self.state.data is not job.state:
            self.state.content = pill(STATE_LABELS[job.state], color)
            self.state.data = job.state
        self.summary.value = summary(job)
        self.summary.visible = bool(self.summary.value)
        self.bar.value = job.progress
        self.bar.color = color
        self.percent.value = f"{job.progress * 100:.0f}%"
        self.detail.value = progress_line(job, now)
        place = place_text(job) if job.state is JobState.QUEUED else ""
        if isinstance(self.place.content, ft.Text):
            self.place.content.value = place
        self.place.visible = bool(place)
        self.error.value = job.error or ""
        self.error.visible = bool(job.error)
        self._render_buttons()

    def cancel_failed(self) -> None:
        """Offer Cancel again: the request did not go through."""
        self.cancelling = False
        self._render_buttons()

    def _cancel(self, _: ft.Event[ft.TextButton]) -> None:
        self.cancelling = True
        self._render_buttons()
        self.actions.cancel(self.job)

    def _render_buttons(self) -> None:
        job = self.job
        key = (job.state, self.cancelling, job.priority, tuple(artifact.name for artifact in job.artifacts))
        if key != self._actions_key:
            self._actions_key = key
            self.buttons.controls = self._buttons(job)
            self.buttons.visible = bool(self.buttons.controls)

    def _action(self, name: str, label: str, icon: ft.IconData, act: Callable[[Job], None] | None) -> list[ft.Control]:
        if act is None:
            return []
        button = ft.TextButton(label, icon=icon, on_click=lambda _: act(self.job))
        return [ft.Semantics(identifier=f"{name}-{self.job.id}", content=button)]

    def _buttons(self, job: Job) -> list[ft.Control]:
        actions = self.actions
        opener: list[ft.Control] = []
        if actions.open is not None:
            open_page = actions.open
            button = ft.TextButton("Open", icon=ft.Icons.OPEN_IN_NEW, on_click=lambda _: open_page(self.job))
            opener.append(ft.Semantics(identifier=f"open-{job.id}", content=button))
        if job.state in (JobState.QUEUED, JobState.RUNNING):
            label = "Cancelling…" if self.cancelling else "Cancel"
            button = ft.TextButton(label, icon=ft.Icons.CANCEL, on_click=self._cancel, disabled=self.cancelling)
            moves = self._action("run-next", "Run next", ft.Icons.VERTICAL_ALIGN_TOP, actions.run_next)
            return [
                *opener,
                ft.Semantics(identifier=f"cancel-{job.id}", content=button),
                *(moves if job.state is JobState.QUEUED else []),
            ]
        edit = self._action("edit", "Edit and resubmit", ft.Icons.EDIT, actions.edit)
        if job.state is not JobState.SUCCEEDED:
            return [*opener, *self._action("retry", "Retry", ft.Icons.REPLAY, actions.retry), *edit]
        buttons: list[ft.Control] = [*opener, *edit]
        # Samples and checkpoints are on the job's page; the row offers the final outputs.
        outputs = [artifact for artifact in job.artifacts if artifact.kind is ArtifactKind.OUTPUT]
        for artifact in outputs:
            if is_image(artifact):
                buttons.append(
                    ft.Semantics(
                        identifier=f"preview-{job.id}",
                        content=ft.FilledTonalButton(
                            "Preview",
                            icon=ft.Icons.IMAGE,
                            on_click=lambda _, chosen=artifact: self.actions.preview(self.job, chosen),
                        ),
                    )
                )
        for artifact in outputs:
            buttons.append(
                ft.TextButton(
                    f"{artifact.name} ({format_size(artifact.size)})",
                    icon=ft.Icons.DOWNLOAD,
                    url=ft.Url(artifact_href(job.id, artifact.name, download=True), target=ft.UrlTarget.SELF),
                    tooltip=f"Download {artifact.name}",
                )
            )
        return buttons

"""The "Jobs" card: filters, the live list of job rows (newest first), and loading older jobs."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime

import flet as ft

from myspinbot.client import JobState
from myspinbot_ui.state import JobBoard, JobFilter
from myspinbot_ui.views.job_row import JobRow, RowActions
from myspinbot_ui.views.theme import STATE_LABELS, card, muted, section_title

ALL = "all"


class JobList:
    """Renders the board through a filter; rows are kept and updated in place between renders."""

    def __init__(
        self,
        actions: RowActions,
        on_filter: Callable[[JobFilter], None],
        on_load_older: Callable[[JobFilter], None],
    ) -> None:
        self.actions = actions
        self.on_filter = on_filter
        self.on_load_older = on_load_older
        self.filter = JobFilter()
        self.titles: Mapping[str, str] = {}
        self.rows: dict[str, JobRow] = {}
        self.state_filter = ft.Dropdown(
            label="State",
            value=ALL,
            options=[ft.DropdownOption(key=ALL, text="All states")]
            + [ft.DropdownOption(key=state.value, text=STATE_LABELS[state]) for state in JobState],
            on_select=self._filter_changed,
            width=170,
            dense=True,
        )
        self.type_filter = ft.Dropdown(
            label="Type",
            value=ALL,
            options=[ft.DropdownOption(key=ALL, text="All types")],
            on_select=self._filter_changed,
            width=200,
            dense=True,
        )
        self.counts = muted("")
        self.list = ft.Column(spacing=10)
        self.empty = ft.Container(
            ft.Column(
                [
                    ft.Icon(ft.Icons.INBOX, size=40, color=ft.Colors.OUTLINE),
                    muted("No jobs yet. Submit one to see it here.", size=14),
                ],
                horizontal_alignment=ft.CrossAxisAlignment.CENTER,
                spacing=8,
            ),
            padding=32,
            alignment=ft.Alignment.CENTER,
            visible=False,
        )
        self.older = ft.Semantics(
            identifier="load-older",
            content=ft.OutlinedButton("Load older jobs", icon=ft.Icons.HISTORY, on_click=self._load_older),
        )
        self.loading = ft.ProgressRing(width=18, height=18, stroke_width=2, visible=False)
        self.control = card(
            ft.Column(
                [
                    ft.Row(
                        [section_title("Jobs"), self.counts],
                        alignment=ft.MainAxisAlignment.SPACE_BETWEEN,
                        vertical_alignment=ft.CrossAxisAlignment.CENTER,
                        wrap=True,
                    ),
                    ft.Row([self.state_filter, self.type_filter], wrap=True, spacing=12, run_spacing=12),
                    self.list,
                    self.empty,
                    ft.Row([self.older, self.loading], alignment=ft.MainAxisAlignment.CENTER),
                ],
                spacing=14,
            )
        )

    def set_titles(self, titles: Mapping[str, str]) -> None:
        """Job type titles by name (from the API), also offered as type filters."""
        self.titles = dict(titles)
        self.type_filter.options = [ft.DropdownOption(key=ALL, text="All types")] + [
            ft.DropdownOption(key=name, text=title) for name, title in self.titles.items()
        ]

    def set_loading(self, loading: bool) -> None:
        """Show that a page of older jobs is on its way."""
        self.loading.visible = loading

    def render(self, board: JobBoard, now: datetime | None = None) -> None:
        """Show the board's jobs that pass the filter, newest first."""
        now = now or datetime.now(UTC)
        jobs = board.jobs(self.filter)
        rows: list[ft.Control] = []
        seen = set()
        for job in jobs:
            row = self.rows.get(job.id)
            if row is None:
                row = self.rows[job.id] = JobRow(job, self.titles.get(job.type, job.type), self.actions)
            elif row.job is not job or not job.finished:  # active rows tick their elapsed time
                row.update(job, now)
            rows.append(row.control)
            seen.add(job.id)
        for job_id in [job_id for job_id in self.rows if job_id not in seen]:
            del self.rows[job_id]
        if [id(control) for control in self.list.controls] != [id(control) for control in rows]:
            self.list.controls = rows
        self.empty.visible = not rows
        cursor = board.page_cursor(self.filter)
        self.older.visible = cursor.has_more and (cursor.loaded or bool(rows))
        counts = board.counts()
        active = counts[JobState.RUNNING] + counts[JobState.QUEUED]
        self.counts.value = f"{counts[JobState.RUNNING]} running · {counts[JobState.QUEUED]} queued" if active else ""

    def _filter_changed(self, _: ft.Event[ft.Dropdown]) -> None:
        state = self.state_filter.value
        job_type = self.type_filter.value
        self.filter = JobFilter(
            state=JobState(state) if state and state != ALL else None,
            job_type=job_type if job_type and job_type != ALL else None,
        )
        self.on_filter(self.filter)

    def _load_older(self, _: ft.Event[ft.OutlinedButton]) -> None:
        self.on_load_older(self.filter)

"""The "Jobs" card: filters, the live list of job rows (newest first), and loading older jobs."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime

import flet as ft

from myspinbot_client import JobState
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
        self.state_chips = ft.Row(wrap=True, spacing=6, run_spacing=6)
        self.type_chips = ft.Row(wrap=True, spacing=6, run_spacing=6)
        self.counts = muted("")
        self.list = ft.Column(spacing=10)
        self.empty_text = muted("No jobs yet. Submit one to see it here.", size=14)
        self.empty = ft.Container(
            ft.Column(
                [ft.Icon(ft.Icons.INBOX, size=40, color=ft.Colors.OUTLINE), self.empty_text],
                horizontal_alignment=ft.CrossAxisAlignment.CENTER,
                spacing=8,
            ),
            padding=32,
            alignment=ft.Alignment.CENTER,
            visible=False,
        )
        self.older_button = ft.OutlinedButton("Load older jobs", icon=ft.Icons.HISTORY, on_click=self._load_older)
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
                    self.state_chips,
                    self.type_chips,
                    self.list,
                    self.empty,
                    ft.Row([self.older_button, self.loading], alignment=ft.MainAxisAlignment.CENTER),
                ],
                spacing=12,
            )
        )
        self._render_filters()

    def set_titles(self, titles: Mapping[str, str]) -> None:
        """Job type titles by name (from the API), also offered as type filters."""
        self.titles = dict(titles)
        self.rows.clear()  # rows drawn before the titles were known are drawn again with them
        self._render_filters()

    def cancel_failed(self, job_id: str) -> None:
        """Let a row offer Cancel again after its request failed."""
        row = self.rows.get(job_id)
        if row is not None:
            row.cancel_failed()

    def set_loading(self, loading: bool) -> None:
        """Show that a page of older jobs is on its way."""
        self.loading.visible = loading
        self.older_button.disabled = loading

    def render(self, board: JobBoard, now: datetime | None = None) -> None:
        """Show the board's jobs that pass the filter, newest first."""
        now = now or datetime.now(UTC)
        rows: list[ft.Control] = []
        seen = set()
        for job in board.jobs(self.filter):
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
        self.empty_text.value = (
            "No jobs yet. Submit one to see it here." if self.filter == JobFilter() else "No jobs match these filters."
        )
        cursor = board.page_cursor(self.filter)
        self.older_button.visible = cursor.loaded and cursor.has_more
        counts = board.counts()
        running, queued = counts[JobState.RUNNING], counts[JobState.QUEUED]
        self.counts.value = f"{running} running · {queued} queued" if running or queued else ""

    def _render_filters(self) -> None:
        states = [(ALL, "All")] + [(state.value, STATE_LABELS[state]) for state in JobState]
        chosen_state = self.filter.state.value if self.filter.state else ALL
        self.state_chips.controls = [
            self._chip(f"filter-state-{key}", label, key == chosen_state, self._choose_state(key))
            for key, label in states
        ]
        types = [(ALL, "All types"), *self.titles.items()]
        chosen_type = self.filter.job_type or ALL
        self.type_chips.controls = [
            self._chip(f"filter-type-{key}", label, key == chosen_type, self._choose_type(key)) for key, label in types
        ]

    @staticmethod
    def _chip(
        identifier: str, label: str, selected: bool, on_select: Callable[[ft.Event[ft.Chip]], None]
    ) -> ft.Control:
        return ft.Semantics(
            identifier=identifier,
            content=ft.Chip(
                label=ft.Text(label, size=12),
                selected=selected,
                show_checkmark=False,
                on_select=on_select,
                visual_density=ft.VisualDensity.COMPACT,
            ),
        )

    def _choose_state(self, key: str) -> Callable[[ft.Event[ft.Chip]], None]:
        def choose(_: ft.Event[ft.Chip]) -> None:
            self._set_filter(JobFilter(None if key == ALL else JobState(key), self.filter.job_type))

        return choose

    def _choose_type(self, key: str) -> Callable[[ft.Event[ft.Chip]], None]:
        def choose(_: ft.Event[ft.Chip]) -> None:
            self._set_filter(JobFilter(self.filter.state, None if key == ALL else key))

        return choose

    def _set_filter(self, job_filter: JobFilter) -> None:
        self.filter = job_filter
        self._render_filters()
        self.on_filter(job_filter)

    def _load_older(self, _: ft.Event[ft.OutlinedButton]) -> None:
        self.on_load_older(self.filter)

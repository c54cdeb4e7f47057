"""The "New job" card: one chip per job type the API offers, and that type's form."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

import flet as ft

from myspinbot_client import JobType
from myspinbot_ui.forms import form_of
from myspinbot_ui.state import JobBoard
from myspinbot_ui.views.form import JobForm
from myspinbot_ui.views.theme import card, muted, section_title

PREFERRED_FIRST = "generate"


class SubmitPanel:
    """Chooses a job type and shows its form; forms keep what was typed when switching types."""

    def __init__(
        self,
        on_submit: Callable[[JobForm], Awaitable[None]],
        on_change: Callable[[], None],
        add_service: Callable[[ft.FilePicker], None],
    ) -> None:
        self.on_submit = on_submit
        self.on_change = on_change
        self.add_service = add_service
        self.forms: dict[str, JobForm] = {}
        self.shown: dict[str, JobType] = {}  # the job type each form was built from
        self.selected: str | None = None
        self.chips = ft.Row(wrap=True, spacing=8, run_spacing=8)
        self.body = ft.Container(content=muted("Loading job types from the API…", size=14))
        self.control = card(
            ft.Column([section_title("New job"), self.chips, ft.Divider(height=1), self.body], spacing=14)
        )

    @property
    def form(self) -> JobForm | None:
        """The form shown now."""
        return self.forms.get(self.selected) if self.selected else None

    def set_job_types(self, job_types: Sequence[JobType]) -> None:
        """Offer these job types; a form whose schema did not change keeps its values."""
        forms: dict[str, JobForm] = {}
        for job_type in job_types:
            old = self.forms.get(job_type.name)
            if old is not None and self.shown.get(job_type.name) == job_type:
                forms[job_type.name] = old
                continue
            form = JobForm(form_of(job_type), self.on_submit, self.on_change)
            for picker in form.pickers:
                self.add_service(picker)
            forms[job_type.name] = form
            self.shown[job_type.name] = job_type
        self.forms = forms
        if self.selected not in forms:
            self.selected = PREFERRED_FIRST if PREFERRED_FIRST in forms else next(iter(forms), None)
        self._render()

    def render(self, board: JobBoard) -> None:
        """Bring each form's line about its last submitted job up to date with the board."""
        for form in self.forms.values():
            if form.submitted_id is not None:
                form.follow(board.get(form.submitted_id))

    def select(self, name: str) -> None:
        """Show the form of job type `name`."""
        if name in self.forms:
            self.selected = name
            self._render()

    def prefill(self, job_type: str, values: dict[str, object]) -> bool:
        """Show job type `job_type`'s form holding `values`; False when there is no such form."""
        form = self.forms.get(job_type)
        if form is None:
            return False
        self.select(job_type)
        form.prefill(values)
        return True

    def _render(self) -> None:
        self.chips.controls = [
            ft.Semantics(
                identifier=f"job-type-{name}",
                content=ft.Chip(
                    label=ft.Text(form.spec.title),
                    selected=name == self.selected,
                    show_checkmark=False,
                    on_select=self._chooser(name),
                ),
            )
            for name, form in self.forms.items()
        ]
        form = self.form
        if form is None:
            self.body.content = muted("The API offers no job types.", size=14)
        else:
            self.body.content = form.control

    def _chooser(self, name: str) -> Callable[[ft.Event[ft.Chip]], None]:
        def choose(_: ft.Event[ft.Chip]) -> None:
            self.select(name)
            self.on_change()

        return choose

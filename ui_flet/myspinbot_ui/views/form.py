"""`JobForm`: the form of one job type, generated from its schema, with messages next to its fields."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

import flet as ft

from myspinbot_client import Job, JobState
from myspinbot_ui.forms import FORM_ERROR, FormSpec
from myspinbot_ui.views.fields import FilesInput, ParamInput
from myspinbot_ui.views.job_row import short_id

# Forms this small show every field; larger ones fold the optional ones under "More settings".
ALWAYS_SHOWN = 4


def submission_status(job_id: str, job: Job | None) -> str:
    """The line beside Submit about the job submitted last, following it until it ends."""
    name = f"Job {short_id(job_id)}"
    if job is None or job.state is JobState.QUEUED:
        return f"{name} queued."
    if job.state is JobState.RUNNING:
        return f"{name} running, {job.progress * 100:.0f}%."
    if job.state is JobState.FAILED:
        return f"{name} failed" + (f": {job.error}" if job.error else ".")
    return f"{name} {job.state.value}."


class JobForm:
    """Inputs for every parameter and upload of one job type, and its submit button."""

    def __init__(
        self,
        spec: FormSpec,
        on_submit: Callable[[JobForm], Awaitable[None]],
        on_change: Callable[[], None],
    ) -> None:
        self.spec = spec
        self.on_submit = on_submit
        self.inputs = [ParamInput(field) for field in spec.fields]
        self.uploads = [FilesInput(upload, on_change) for upload in spec.files]
        self.submit_button = ft.Button(
            "Submit job",
            icon=ft.Icons.SEND,
            on_click=self._submit,
            style=ft.ButtonStyle(padding=ft.Padding.symmetric(horizontal=24, vertical=16)),
        )
        self.busy = ft.ProgressRing(width=18, height=18, stroke_width=2, visible=False)
        # Hidden while empty: Flutter's web semantics fixes a node's kind when it is first built, so
        # a Text built empty never gets its later words into the accessibility tree (screen
        # readers and the browser tests would not see "Job … succeeded.").
        self.status = ft.Text("", size=13, expand=True, visible=False)
        self.submitted_id: str | None = None  # the job whose state the status line follows
        self.clone_of: str | None = None  # set by "Edit and resubmit": the submit becomes a clone
        self.clone_note = ft.Text("", size=13, color=ft.Colors.PRIMARY)
        self.clone_box = ft.Semantics(identifier="clone-note", content=self.clone_note, visible=False)
        self.form_error = ft.Text("", color=ft.Colors.ERROR, visible=False)
        description = ft.Text(
            spec.description, size=13, color=ft.Colors.ON_SURFACE_VARIANT, visible=bool(spec.description)
        )
        primary = [item for item in self.inputs if item.spec.required or len(self.inputs) <= ALWAYS_SHOWN]
        more = [item for item in self.inputs if item not in primary]
        fields = ft.ResponsiveRow(
            [item.control for item in primary] + [item.control for item in self.uploads], spacing=12, run_spacing=16
        )
        self.more = ft.ExpansionTile(
            title=ft.Text(f"More settings ({len(more)})", weight=ft.FontWeight.W_500),
            subtitle=ft.Text("Defaults filled in", size=12, color=ft.Colors.ON_SURFACE_VARIANT),
            controls=[ft.ResponsiveRow([item.control for item in more], spacing=12, run_spacing=16)],
            controls_padding=ft.Padding.only(top=8, bottom=8),
            tile_padding=ft.Padding.symmetric(horizontal=4),
            maintain_state=True,
            visible=bool(more),
            shape=ft.RoundedRectangleBorder(radius=8),
            collapsed_shape=ft.RoundedRectangleBorder(radius=8),
        )
        self._more_names = {item.spec.name for item in more}
        self.control = ft.Column(
            [
                description,
                self.clone_box,
                fields,
                self.more,
                self.form_error,
                ft.Row(
                    [ft.Semantics(identifier="submit-job", content=self.submit_button), self.busy, self.status],
                    spacing=12,
                    vertical_alignment=ft.CrossAxisAlignment.CENTER,
                ),
            ],
            spacing=16,
        )

    @property
    def pickers(self) -> list[ft.FilePicker]:
        """The file pickers, to register as page services."""
        return [upload.picker for upload in self.uploads]

    def prefill(self, values: dict[str, object]) -> None:
        """Put these parameter values in the form (e.g. "train more from here"); unknown names are ignored."""
        for item in self.inputs:
            if item.spec.name not in values:
                continue
            value = values[item.spec.name]
            if isinstance(item.input, ft.Switch):
                item.input.value = bool(value)
            elif isinstance(item.input, ft.TextField | ft.Dropdown):
                text = value if isinstance(value, str) else json.dumps(value)
                item.input.value = "" if value is None else text

    def values(self) -> dict[str, str | bool | None]:
        """Every parameter's current value, by name."""
        return {item.spec.name: item.value() for item in self.inputs}

    def show_errors(self, errors: dict[str, str]) -> None:
        """Put each message next to its field; clear the others."""
        for item in self.inputs:
            item.show_error(errors.get(item.spec.name))
        for upload in self.uploads:
            upload.show_error(errors.get(upload.upload.field))
        if self._more_names & errors.keys():
            self.more.expanded = True  # a message on a hidden field must be seen
        general = errors.get(FORM_ERROR)
        unplaced = [message for name, message in errors.items() if name and name not in self.spec.names()]
        if not general and not unplaced and errors:
            general = "Some settings need a change: see the marked fields."
        text = " ".join(filter(None, [general, *unplaced]))
        self.form_error.value = text
        self.form_error.visible = bool(text)
        if errors:
            self.show_status("")
            self.submitted_id = None

    def edit_copy(self, job: Job) -> None:
        """Fill every field from `job`'s parameters; the next submit clones it (its files kept
        unless new ones are chosen)."""
        self.prefill(dict(job.params))
        self.clone_of = job.id
        self.clone_note.value = f"Editing a copy of job {job.id[:8]}: its files are kept unless you choose new ones."
        self.clone_box.visible = True
        self.show_errors({})
        self.show_status("")

    def clone_done(self) -> None:
        """The clone was submitted: the form submits new jobs again."""
        self.clone_of = None
        self.clone_box.visible = False

    def set_busy(self, busy: bool, message: str = "") -> None:
        """Disable the button and show what is happening while a submission is under way."""
        self.submit_button.disabled = busy
        self.busy.visible = busy
        self.show_status(message)
        if busy:
            self.submitted_id = None

    def show_submitted(self, job: Job) -> None:
        """Confirm a submission, follow that job's state beside Submit, and forget the uploaded files."""
        self.set_busy(False)
        self.submitted_id = job.id
        self.follow(job)
        for upload in self.uploads:
            upload.clear()

    def follow(self, job: Job | None) -> None:
        """Show where the job submitted last stands ("queued" must not stay once it has finished)."""
        if self.submitted_id is None:
            return
        failed = job is not None and job.state is JobState.FAILED
        self.show_status(submission_status(self.submitted_id, job), ft.Colors.ERROR if failed else ft.Colors.PRIMARY)

    def show_status(self, text: str, color: ft.ColorValue | None = None) -> None:
        """Set the line beside Submit; an empty line is hidden (see `self.status`)."""
        self.status.value = text
        self.status.color = color
        self.status.visible = bool(text)

    async def _submit(self, _: ft.Event[ft.Button]) -> None:
        await self.on_submit(self)

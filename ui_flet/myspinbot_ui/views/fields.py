"""One form control per field kind, and the file picker of an upload field."""

from __future__ import annotations

from collections.abc import Callable

import flet as ft

from myspinbot_client import FileField
from myspinbot_client.display import format_size
from myspinbot_ui.forms import FieldKind, FieldSpec, PickedFile, accepted_text, check_files, choice_key
from myspinbot_ui.uploads import UPLOAD_URL_SECONDS, UploadBatch

NONE_KEY = "__none__"  # the "not set" entry of an optional choice


class ParamInput:
    """The control for one parameter: a text or number box, a dropdown, or a switch."""

    def __init__(self, spec: FieldSpec) -> None:
        self.spec = spec
        self.error = ft.Text("", color=ft.Colors.ERROR, size=12, visible=False)
        self.input: ft.Control
        if spec.kind is FieldKind.SWITCH:
            self.input = ft.Switch(label=spec.label, value=bool(spec.initial))
            help_text = ft.Text(spec.help, size=12, color=ft.Colors.ON_SURFACE_VARIANT, visible=bool(spec.help))
            body: ft.Control = ft.Column([self.input, help_text, self.error], spacing=2)
        elif spec.kind is FieldKind.CHOICE:
            options = [ft.DropdownOption(key=choice_key(choice), text=choice_key(choice)) for choice in spec.choices]
            if spec.nullable:
                options.insert(0, ft.DropdownOption(key=NONE_KEY, text="(not set)"))
            initial = spec.initial
            self.input = ft.Dropdown(
                label=self._label(),
                options=options,
                value=str(initial) if initial != "" else (NONE_KEY if spec.nullable else None),
                helper_text=spec.help or None,
                expand=True,
                menu_height=320,
            )
            body = self.input
        else:
            numeric = spec.kind in (FieldKind.INTEGER, FieldKind.NUMBER)
            self.input = ft.TextField(
                label=self._label(),
                value=str(spec.initial),
                helper=spec.help or None,
                helper_max_lines=3,
                hint_text=spec.example or None,
                keyboard_type=ft.KeyboardType.NUMBER if numeric else ft.KeyboardType.TEXT,
                multiline=spec.multiline,
                min_lines=2 if spec.multiline else None,
                max_lines=5 if spec.multiline else None,
                error_max_lines=3,
            )
            body = self.input
        wide = spec.kind is FieldKind.TEXT
        self.control = ft.Container(body, col={"xs": 12, "md": 12 if wide else 6})

    def _label(self) -> str:
        return f"{self.spec.label} *" if self.spec.required else self.spec.label

    def value(self) -> str | bool | None:
        """What the control holds now (text, a choice's key, or a switch's bool)."""
        value = getattr(self.input, "value", None)
        if self.spec.kind is FieldKind.SWITCH:
            return bool(value)
        if value == NONE_KEY:
            return ""
        return None if value is None else str(value)

    def show_error(self, message: str | None) -> None:
        """Show (or clear) the message next to the field."""
        if isinstance(self.input, ft.TextField):
            self.input.error = message or None
        elif isinstance(self.input, ft.Dropdown):
            self.input.error_text = message or None
        else:
            self.error.value = message or ""
            self.error.visible = bool(message)


class FilesInput:
    """An upload field: a button that opens the browser's file dialog, and the files picked."""

    def __init__(self, upload: FileField, on_change: Callable[[], None]) -> None:
        self.upload = upload
        self.on_change = on_change
        self.picker = ft.FilePicker(on_upload=self._uploaded)
        self.picked: list[ft.FilePickerFile] = []
        self._batch: UploadBatch | None = None
        title = upload.field.replace("_", " ").capitalize()
        several = upload.max_count > 1
        self.button = ft.OutlinedButton(
            f"Choose {'files' if several else 'a file'}", icon=ft.Icons.ATTACH_FILE, on_click=self._pick
        )
        self.clear_button = ft.TextButton("Clear", on_click=self._clear, visible=False)
        self.summary = ft.Text("", size=13)
        self.names = ft.Text(
            "", size=12, color=ft.Colors.ON_SURFACE_VARIANT, max_lines=3, overflow=ft.TextOverflow.ELLIPSIS
        )
        self.error = ft.Text("", color=ft.Colors.ERROR, size=12, visible=False)
        required = " *" if upload.min_count > 0 else ""
        hint = upload.description or f"Accepts {accepted_text(upload)}"
        self.control = ft.Container(
            ft.Column(
                [
                    ft.Text(f"{title}{required}", weight=ft.FontWeight.W_500),
                    ft.Text(hint, size=12, color=ft.Colors.ON_SURFACE_VARIANT),
                    ft.Row(
                        [self.button, self.clear_button, self.summary],
                        wrap=True,
                        spacing=8,
                        vertical_alignment=ft.CrossAxisAlignment.CENTER,
                    ),
                    self.names,
                    self.error,
                ],
                spacing=6,
            ),
            padding=12,
            border=ft.Border.all(1, ft.Colors.OUTLINE_VARIANT),
            border_radius=8,
            col=12,
        )
        self._render()

    @property
    def files(self) -> list[PickedFile]:
        """The picked files' names and sizes."""
        return [PickedFile(item.name, item.size) for item in self.picked]

    def problem(self) -> str | None:
        """What is wrong with the current selection, if anything."""
        return check_files(self.upload, self.files)

    def show_error(self, message: str | None) -> None:
        """Show (or clear) the message under the picker."""
        self.error.value = message or ""
        self.error.visible = bool(message)

    def clear(self) -> None:
        """Forget the picked files (after a successful submission)."""
        self.picked = []
        self._render()

    async def send(self, batch: UploadBatch, page: ft.Page) -> None:
        """Start uploading the picked files into `batch` (progress arrives through the picker's events)."""
        if not self.picked:
            return
        self._batch = batch
        await self.picker.upload(
            [
                ft.FilePickerUploadFile(
                    upload_url=page.get_upload_url(batch.upload_name(self.upload.field, item.name), UPLOAD_URL_SECONDS),
                    id=item.id,
                    name=item.name,
                )
                for item in self.picked
            ]
        )

    async def _pick(self, _: ft.Event[ft.OutlinedButton]) -> None:
        extensions = [ext.lstrip(".") for ext in self.upload.accepted]
        picked = await self.picker.pick_files(
            dialog_title=f"Choose {self.upload.field}",
            file_type=ft.FilePickerFileType.CUSTOM if extensions else ft.FilePickerFileType.ANY,
            allowed_extensions=extensions or None,
            allow_multiple=self.upload.max_count > 1,
            cancel_upload_on_window_blur=False,
        )
        if picked:  # an empty answer is a cancelled dialog: keep what was there
            self.picked = list(picked)
            self.show_error(self.problem())
            self._render()
            self.on_change()

    def _clear(self, _: ft.Event[ft.TextButton]) -> None:
        self.clear()
        self.show_error(None)
        self.on_change()

    def _uploaded(self, event: ft.FilePickerUploadEvent) -> None:
        if self._batch is not None:
            self._batch.progress(self.upload.field, event.file_name, event.progress, event.error)

    def _render(self) -> None:
        count = len(self.picked)
        self.clear_button.visible = count > 0
        if not count:
            self.summary.value = "No file chosen"
            self.names.value = ""
            self.names.visible = False
            return
        total = sum(item.size for item in self.picked)
        self.summary.value = f"{count} file{'s' if count != 1 else ''} · {format_size(total)}"
        self.names.value = ", ".join(item.name for item in self.picked)
        self.names.visible = True

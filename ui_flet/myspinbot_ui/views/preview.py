"""The preview dialog: a job's image artifact, shown through the dashboard's artifact route."""

from __future__ import annotations

import flet as ft

from myspinbot_client import Artifact, Job
from myspinbot_ui.artifacts import artifact_href
from myspinbot_ui.views.job_row import short_id, summary


def preview_dialog(job: Job, artifact: Artifact, title: str) -> ft.AlertDialog:
    """A dialog with the preview image, what the job was about, and a download link."""
    about = summary(job)
    return ft.AlertDialog(
        title=ft.Text(f"{title} · {short_id(job.id)}"),
        content=ft.Column(
            [
                ft.Semantics(
                    identifier="preview-image",
                    image=True,
                    label=f"Preview of job {short_id(job.id)}",
                    content=ft.Image(
                        src=artifact_href(job.id, artifact.name),
                        fit=ft.BoxFit.CONTAIN,
                        width=560,
                        height=360,
                        border_radius=8,
                        error_content=ft.Text("The preview could not be loaded.", color=ft.Colors.ERROR),
                    ),
                ),
                ft.Text(about, size=13, color=ft.Colors.ON_SURFACE_VARIANT, visible=bool(about)),
            ],
            tight=True,
            spacing=12,
            horizontal_alignment=ft.CrossAxisAlignment.CENTER,
        ),
        actions=[
            ft.TextButton(
                "Download",
                icon=ft.Icons.DOWNLOAD,
                url=ft.Url(artifact_href(job.id, artifact.name, download=True), target=ft.UrlTarget.SELF),
            ),
            ft.TextButton("Close", on_click=lambda event: event.page.pop_dialog()),
        ],
    )

"""The page's arrangement: side by side with their own scrolling when wide, stacked when narrow."""

from __future__ import annotations

import flet as ft

from myspinbot_ui.views.header import Header

# Below this width (logical pixels) the form and the list are stacked and the page scrolls.
WIDE_FROM = 1000
FORM_WIDTH = 480


class PageLayout:
    """Places the header, banner, form and job list; switches arrangement as the window is resized."""

    def __init__(self, page: ft.Page, header: Header, banner: ft.Control, form: ft.Control, jobs: ft.Control) -> None:
        self.page = page
        self.header = header
        self.banner = banner
        self.form = form
        self.jobs = jobs
        self.wide: bool | None = None

    def arrange(self, width: float | None) -> bool:
        """Arrange for a window `width` wide (unknown: wide); True when the arrangement changed."""
        wide = width is None or width >= WIDE_FROM
        if wide is self.wide:
            return False
        self.wide = wide
        self.header.set_compact(not wide)
        self.page.controls = [self._wide() if wide else self._narrow()]
        self.page.scroll = None if wide else ft.ScrollMode.AUTO
        return True

    def _wide(self) -> ft.Control:
        body = ft.Row(
            [
                ft.Column([self.form, ft.Container(height=8)], scroll=ft.ScrollMode.AUTO, width=FORM_WIDTH),
                ft.Column([self.jobs, ft.Container(height=8)], scroll=ft.ScrollMode.AUTO, expand=True),
            ],
            spacing=20,
            expand=True,
            vertical_alignment=ft.CrossAxisAlignment.START,
        )
        return ft.Column(
            [
                self.header.control,
                self.banner,
                ft.Container(body, padding=ft.Padding.only(left=20, right=20, top=20), expand=True),
            ],
            spacing=0,
            expand=True,
        )

    def _narrow(self) -> ft.Control:
        return ft.Column(
            [
                self.header.control,
                self.banner,
                ft.Container(ft.Column([self.form, self.jobs], spacing=16), padding=ft.Padding.all(12)),
            ],
            spacing=0,
            horizontal_alignment=ft.CrossAxisAlignment.STRETCH,
        )

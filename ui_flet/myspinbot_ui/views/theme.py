"""Colours, spacing and small building blocks shared by the views; light and dark follow the system."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import flet as ft

from myspinbot_client import JobState

T = TypeVar("T")

SEED = ft.Colors.INDIGO
GAP = 12
RADIUS = 12

STATE_COLORS: dict[JobState, str] = {
    JobState.QUEUED: ft.Colors.BLUE_GREY_400,
    JobState.RUNNING: ft.Colors.BLUE_500,
    JobState.SUCCEEDED: ft.Colors.GREEN_600,
    JobState.FAILED: ft.Colors.RED_400,
    JobState.CANCELLED: ft.Colors.AMBER_700,
}
STATE_LABELS: dict[JobState, str] = {
    JobState.QUEUED: "Queued",
    JobState.RUNNING: "Running",
    JobState.SUCCEEDED: "Done",
    JobState.FAILED: "Failed",
    JobState.CANCELLED: "Cancelled",
}
OK_COLOR = ft.Colors.GREEN_600
WARN_COLOR = ft.Colors.AMBER_700
BAD_COLOR = ft.Colors.RED_400
IDLE_COLOR = ft.Colors.BLUE_GREY_400


def apply_theme(page: ft.Page) -> None:
    """Material 3 from one seed colour, light or dark as the browser's system setting says."""
    page.theme = ft.Theme(color_scheme_seed=SEED)
    page.dark_theme = ft.Theme(color_scheme_seed=SEED)
    page.theme_mode = ft.ThemeMode.SYSTEM
    page.bgcolor = ft.Colors.SURFACE_CONTAINER_LOWEST
    page.padding = 0
    page.spacing = 0
    page.horizontal_alignment = ft.CrossAxisAlignment.STRETCH


def pill(text: str, color: str, *, icon: ft.IconData | None = None, tooltip: str | None = None) -> ft.Container:
    """A small rounded label tinted with `color`, for states and health checks."""
    parts: list[ft.Control] = []
    if icon is not None:
        parts.append(ft.Icon(icon, size=14, color=color))
    else:
        parts.append(ft.Container(width=8, height=8, border_radius=4, bgcolor=color))
    parts.append(ft.Text(text, size=12, weight=ft.FontWeight.W_500, color=ft.Colors.ON_SURFACE))
    return ft.Container(
        content=ft.Row(parts, spacing=6, tight=True, vertical_alignment=ft.CrossAxisAlignment.CENTER),
        padding=ft.Padding.symmetric(horizontal=10, vertical=4),
        border_radius=999,
        bgcolor=ft.Colors.with_opacity(0.12, color),
        tooltip=tooltip,
    )


def card(content: ft.Control, *, expand: bool | int | None = None) -> ft.Container:
    """A surface for one part of the page."""
    return ft.Container(
        content=content,
        padding=16,
        border_radius=RADIUS,
        bgcolor=ft.Colors.SURFACE_CONTAINER_LOW,
        border=ft.Border.all(1, ft.Colors.OUTLINE_VARIANT),
        expand=expand,
    )


def section_title(text: str) -> ft.Text:
    """The heading of a card."""
    return ft.Text(text, size=18, weight=ft.FontWeight.W_600)


def muted(text: str, *, size: float = 12, selectable: bool = False) -> ft.Text:
    """Secondary text."""
    return ft.Text(text, size=size, color=ft.Colors.ON_SURFACE_VARIANT, selectable=selectable)


def add_card(title: str, note: str, rows: list[ft.Control], error: ft.Text, button: ft.Semantics) -> ft.Container:
    """The card of an "add …" form (a webhook, a user): heading, a note, its rows, the error line, the button."""
    return card(ft.Column([section_title(title), muted(note, size=13), *rows, error, button], spacing=12))


def other_page(title: str, on_back: Callable[[], None], sections: list[ft.Control]) -> ft.Container:
    """A page shown instead of the board (notifications, users): "Back to jobs", its title, its sections."""
    back = ft.TextButton("Back to jobs", icon=ft.Icons.ARROW_BACK, on_click=lambda _: on_back())
    column = ft.Column(
        [ft.Row([back, ft.Text(title, size=20, weight=ft.FontWeight.W_700)], spacing=12), *sections],
        spacing=16,
        scroll=ft.ScrollMode.AUTO,
        expand=True,
        horizontal_alignment=ft.CrossAxisAlignment.STRETCH,
    )
    return ft.Container(column, padding=20, expand=True)


def later(action: Callable[[T], Awaitable[None]], subject: T) -> Callable[[ft.Event[Any]], Awaitable[None]]:
    """A click handler that runs `action` on `subject` (a webhook, a user's name)."""

    async def run(_: ft.Event[Any]) -> None:
        await action(subject)

    return run

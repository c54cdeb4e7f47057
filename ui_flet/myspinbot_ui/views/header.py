"""The top bar (title, page buttons, backend health, who is signed in) and the outage banner under it."""

from __future__ import annotations

import flet as ft

from myspinbot_ui.status import BackendStatus, LiveState, Reach
from myspinbot_ui.views.theme import BAD_COLOR, IDLE_COLOR, OK_COLOR, WARN_COLOR, pill

REACH_COLORS = {Reach.UP: OK_COLOR, Reach.DOWN: BAD_COLOR, Reach.UNKNOWN: IDLE_COLOR}
LIVE_TEXT = {
    LiveState.CONNECTING: ("Connecting", IDLE_COLOR),
    LiveState.LIVE: ("Live", OK_COLOR),
    LiveState.RECONNECTING: ("Reconnecting", WARN_COLOR),
    LiveState.FAILED: ("Not live", BAD_COLOR),
}


class Header:
    """The app bar: name on the left, health pills on the right (they wrap on a narrow window)."""

    def __init__(self) -> None:
        self.health = ft.Row(spacing=6, run_spacing=6, wrap=True)
        self._shown: tuple[object, ...] | None = None
        title = ft.Row(
            [
                ft.Icon(ft.Icons.AUTO_AWESOME_MOTION, color=ft.Colors.PRIMARY, size=26),
                ft.Text("MySpinBot", size=20, weight=ft.FontWeight.W_700),
            ],
            spacing=8,
            tight=True,
        )
        self.title = title
        # Buttons to the dashboard's other pages (notifications, …), between the name and the pills.
        self.actions = ft.Row(spacing=4, tight=True)
        # Who is signed in, and the logout button (myspinbot_ui.account), at the far right.
        self.user = ft.Container()
        self.control = ft.Container(
            padding=ft.Padding.symmetric(horizontal=20, vertical=12),
            bgcolor=ft.Colors.SURFACE_CONTAINER,
            border=ft.Border.only(bottom=ft.BorderSide(1, ft.Colors.OUTLINE_VARIANT)),
        )
        self.set_compact(False)

    def set_compact(self, compact: bool) -> None:
        """Name and pills on one line (pills on the right), or the pills under the name on a narrow window."""
        self.health.alignment = ft.MainAxisAlignment.START if compact else ft.MainAxisAlignment.END
        if compact:
            self.control.content = ft.Column(
                [ft.Row([self.title, self.actions], wrap=True), self.health, self.user], spacing=10
            )
        else:
            self.control.content = ft.Row(
                [self.title, self.actions, ft.Container(self.health, expand=True), self.user],
                vertical_alignment=ft.CrossAxisAlignment.CENTER,
                spacing=16,
            )

    def add_action(self, control: ft.Control) -> None:
        """Put a page's button in the bar."""
        self.actions.controls.append(control)

    def set_user(self, control: ft.Control) -> None:
        """Show who is signed in (and how to log out)."""
        self.user.content = control

    def render(self, status: BackendStatus) -> None:
        """Show the latest health (the pills are rebuilt only when it changed)."""
        shown = (status.api, status.redis, status.workers_online, status.live)
        if shown == self._shown:
            return
        self._shown = shown
        workers = status.workers_online
        worker_color = IDLE_COLOR if workers is None else (OK_COLOR if workers > 0 else WARN_COLOR)
        worker_text = "Workers ?" if workers is None else f"{workers} worker{'' if workers == 1 else 's'} online"
        live_text, live_color = LIVE_TEXT[status.live]
        self.health.controls = [
            pill(f"API {_reach_word(status.api)}", REACH_COLORS[status.api]),
            pill(f"Redis {_reach_word(status.redis)}", REACH_COLORS[status.redis]),
            pill(worker_text, worker_color),
            pill(live_text, live_color, icon=ft.Icons.BOLT if status.live is LiveState.LIVE else None),
        ]


class OutageBanner:
    """A clear strip across the page while the backend is unreachable; hidden otherwise."""

    def __init__(self) -> None:
        self.text = ft.Text("", color=ft.Colors.ON_ERROR_CONTAINER, weight=ft.FontWeight.W_500, expand=True)
        self.control = ft.Container(
            content=ft.Semantics(
                identifier="outage-banner",
                live_region=True,
                content=ft.Row(
                    [ft.Icon(ft.Icons.CLOUD_OFF, color=ft.Colors.ON_ERROR_CONTAINER), self.text],
                    spacing=12,
                    vertical_alignment=ft.CrossAxisAlignment.CENTER,
                ),
            ),
            bgcolor=ft.Colors.ERROR_CONTAINER,
            padding=ft.Padding.symmetric(horizontal=20, vertical=12),
            visible=False,
        )

    def render(self, status: BackendStatus) -> None:
        """Show the outage, or hide the banner when all is well."""
        message = status.outage
        self.control.visible = message is not None
        self.text.value = message or ""


def _reach_word(reach: Reach) -> str:
    return {Reach.UP: "OK", Reach.DOWN: "down", Reach.UNKNOWN: "?"}[reach]

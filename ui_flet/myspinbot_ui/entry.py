"""The Flet entry point: each browser session's `main`, acting as the login of its websocket."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import flet as ft

from myspinbot_ui.app import Dashboard
from myspinbot_ui.config import UiConfig
from myspinbot_ui.sessions import CURRENT_LOGIN, SessionTable

log = logging.getLogger(__name__)


def make_main(config: UiConfig, table: SessionTable) -> Callable[[ft.Page], Awaitable[None]]:
    """The Flet entry point for each new browser session: it acts as the login of its websocket."""

    async def main(page: ft.Page) -> None:
        login = CURRENT_LOGIN.get()  # set by the session gate for this page's websocket
        if login is None:  # the gate lets no such connection through; never fall back to another key
            page.controls = [ft.Text("Log in first: reload the page.", color=ft.Colors.ERROR)]
            page.update()
            return
        try:
            dashboard = Dashboard(page, config, login, table)
            dashboard.mount()
            dashboard.start()
        except Exception:  # never leave the browser on Flet's "Error running app"
            log.exception("the dashboard could not start")
            page.controls = [ft.Text("The dashboard could not start; see the server log.", color=ft.Colors.ERROR)]
            page.update()

    return main

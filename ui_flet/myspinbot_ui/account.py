"""The signed-in user in the dashboard: name and role in the header, logout, and the admins' users page.

A page belongs to one login for its whole life. When that login ends (logout here or in another
tab, a password reset by an admin), the page stops its loops and says so; when Flet reattaches a
kept session to a connection of another login (another user in the same browser), the page
refuses to carry on rather than show one user's jobs to another.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import flet as ft

from myspinbot_ui.login_routes import SIGNED_OUT, SIGNED_OUT_URL
from myspinbot_ui.sessions import CURRENT_LOGIN, Login, SessionTable
from myspinbot_ui.users import Users
from myspinbot_ui.views.header import Header
from myspinbot_ui.views.theme import WARN_COLOR, pill
from myspinbot_ui.views.users import ROLE_COLORS, UsersView

log = logging.getLogger(__name__)


class Account:
    """The login's controls on one page, and the users page when the login is an admin's."""

    def __init__(
        self,
        page: ft.Page,
        login: Login,
        table: SessionTable,
        header: Header,
        *,
        changed: Callable[[], None],
        show_page: Callable[[ft.Control], None],
        show_board: Callable[[], None],
        stop: Callable[[], None],
    ) -> None:
        self.page = page
        self.login = login
        self.table = table
        self.changed = changed
        self.show_page = show_page
        self.stop = stop
        self.showing_users = False
        self.users = Users(login.client, changed)
        self.users_view = UsersView(self.users, show_board)
        self.launcher = ft.UrlLauncher()
        self._unsubscribe = login.on_end(self.signed_out)
        if login.is_admin:
            header.add_action(
                ft.Semantics(
                    identifier="open-users",
                    content=ft.TextButton(
                        "Users", icon=ft.Icons.MANAGE_ACCOUNTS_OUTLINED, on_click=lambda _: self.show_users()
                    ),
                )
            )
        header.set_user(self.identity_control())

    def identity_control(self) -> ft.Control:
        """`alice · member` and a logout button; "auth off" when the API asks no key."""
        login = self.login
        if not login.authenticated:
            return ft.Semantics(
                identifier="current-user",
                content=pill("Auth off · everyone is admin", WARN_COLOR, icon=ft.Icons.LOCK_OPEN),
            )
        color = ROLE_COLORS[login.role]
        return ft.Row(
            [
                ft.Semantics(
                    identifier="current-user",
                    content=pill(f"{login.name} · {login.role.value}", color, icon=ft.Icons.PERSON),
                ),
                ft.Semantics(
                    identifier="logout",
                    content=ft.TextButton("Log out", icon=ft.Icons.LOGOUT, on_click=self.logout),
                ),
            ],
            spacing=4,
            tight=True,
        )

    def mount(self) -> None:
        self.page.services.append(self.launcher)

    def show_users(self) -> None:
        """Swap the jobs for the users page (admins)."""
        if not self.login.is_admin:
            return
        self.show_page(self.users_view.page_control)  # leaves any other page first
        self.showing_users = True
        self.page.run_task(self.users.refresh)
        self.changed()

    def render(self) -> None:
        if self.showing_users:
            self.users_view.render(self.users.state)

    def belongs_here(self) -> bool:
        """Whether the connection now serving the page is this page's login (checked on every reconnect)."""
        return CURRENT_LOGIN.get() is self.login

    async def logout(self, _: ft.Event[ft.TextButton]) -> None:
        """End the login (its key is revoked at the API), then go to the login page."""
        log.info("dashboard logout from the page: %s", self.login.name)
        await self.table.end(self.login)
        await self.launcher.launch_url(SIGNED_OUT_URL, web_only_window_name="_self")

    def signed_out(self) -> None:
        """The login ended: stop, and leave only a way back to the login page."""
        self.show_notice(SIGNED_OUT)

    def refuse_foreign(self) -> None:
        """Another login's connection reached this kept page: show nothing of it."""
        log.warning("a connection of another login reached %s's page; refused", self.login.name)
        self.show_notice("This page belonged to another sign-in. Reload the page.")

    def show_notice(self, text: str) -> None:
        self.stop()
        self._unsubscribe()
        self.page.controls = [
            ft.Container(
                ft.Column(
                    [
                        ft.Semantics(identifier="signed-out", content=ft.Text(text, size=18)),
                        ft.Button("Log in", icon=ft.Icons.LOGIN, url=ft.Url("/login", target=ft.UrlTarget.SELF)),
                    ],
                    spacing=16,
                ),
                padding=40,
            )
        ]
        try:
            self.page.update()
        except Exception:  # the browser may be gone already; nothing to show then
            log.debug("could not show the notice on a closed page", exc_info=True)

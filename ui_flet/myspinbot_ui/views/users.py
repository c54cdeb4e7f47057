"""The users page (admins): add a user, and per user its role, a password reset and "revoke keys"."""

from __future__ import annotations

from collections.abc import Callable

import flet as ft

from myspinbot_client.identity import Role, User
from myspinbot_ui.users import ROLES, Users, UsersState
from myspinbot_ui.views.theme import (
    IDLE_COLOR,
    OK_COLOR,
    WARN_COLOR,
    add_card,
    card,
    later,
    muted,
    other_page,
    pill,
    section_title,
)

ROLE_COLORS = {Role.ADMIN: WARN_COLOR, Role.MEMBER: OK_COLOR, Role.VIEWER: IDLE_COLOR}


def role_options() -> list[ft.DropdownOption]:
    return [ft.DropdownOption(key=role.value, text=role.value) for role in ROLES]


class UsersView:
    """Renders `UsersState`; its buttons call `Users`."""

    def __init__(self, users: Users, on_back: Callable[[], None]) -> None:
        self.users = users
        # Fixed widths: a wrapping row cannot give its children an expanded share.
        self.name = ft.TextField(label="New user name", width=260, max_length=64)
        self.role = ft.Dropdown(label="Role", options=role_options(), value=Role.MEMBER.value, width=160)
        self.password = ft.TextField(label="Password", password=True, can_reveal_password=True, width=260)
        self.form_error = ft.Text("", color=ft.Colors.ERROR, visible=False)
        self.message = ft.Semantics(identifier="users-message", live_region=True, content=muted("", size=13))
        self.rows = ft.Column(spacing=12)
        self.cards: dict[str, UserCard] = {}
        add_button = ft.Button("Add user", icon=ft.Icons.PERSON_ADD, on_click=self._add)
        add_form = add_card(
            "Add a user",
            "Members submit and see their own jobs; viewers read all; admins do everything.",
            [ft.Row([self.name, self.role, self.password], wrap=True, spacing=12)],
            self.form_error,
            ft.Semantics(identifier="add-user", content=add_button),
        )
        users = card(ft.Column([section_title("Users"), self.rows], spacing=12))
        self.page_control = other_page("Users", on_back, [add_form, self.message, users])

    def render(self, state: UsersState) -> None:
        """Bring the page up to date with the state."""
        self.form_error.value = state.form_error or ""
        self.form_error.visible = bool(state.form_error)
        text = self.message.content
        assert isinstance(text, ft.Text)
        text.value = state.message or ""
        if state.unavailable:
            self.rows.controls = [muted(state.unavailable, size=14)]
        elif not state.loaded:
            self.rows.controls = [muted("Loading users…", size=14)]
        else:
            # Each user keeps its card across refreshes, so a half-typed password is not lost.
            self.cards = {user.name: self.cards.get(user.name) or UserCard(user, self.users) for user in state.users}
            for user in state.users:
                self.cards[user.name].render(user)
            self.rows.controls = [self.cards[user.name].control for user in state.users]

    async def _add(self, _: ft.Event[ft.Button]) -> None:
        role = Role(self.role.value or Role.MEMBER.value)
        if await self.users.add(self.name.value or "", role, self.password.value or ""):
            self.name.value = ""
        self.password.value = ""  # never left on the page


class UserCard:
    """One user: name and role, a role picker, a password reset and "Revoke keys"."""

    def __init__(self, user: User, users: Users) -> None:
        self.name = user.name
        self.users = users
        self.summary = ft.Row(spacing=10, wrap=True)
        self.role = ft.Dropdown(
            label="Role", options=role_options(), value=user.role.value, width=150, on_select=self._role_chosen
        )
        self.password = ft.TextField(label=f"New password for {user.name}", password=True, width=260)
        reset = ft.OutlinedButton("Reset password", icon=ft.Icons.PASSWORD, on_click=self._reset)
        revoke = ft.OutlinedButton("Revoke keys", icon=ft.Icons.KEY_OFF, on_click=later(users.revoke_keys, user.name))
        self.control = ft.Semantics(
            identifier=f"user-{user.name}",
            content=ft.Container(
                ft.Column(
                    [
                        self.summary,
                        ft.Row(
                            [
                                ft.Semantics(identifier=f"role-{user.name}", content=self.role),
                                self.password,
                                ft.Semantics(identifier=f"reset-{user.name}", content=reset),
                                ft.Semantics(identifier=f"revoke-{user.name}", content=revoke),
                            ],
                            wrap=True,
                            spacing=10,
                            vertical_alignment=ft.CrossAxisAlignment.CENTER,
                        ),
                    ],
                    spacing=8,
                ),
                padding=12,
                border_radius=8,
                border=ft.Border.all(1, ft.Colors.OUTLINE_VARIANT),
            ),
        )

    def render(self, user: User) -> None:
        self.role.value = user.role.value
        self.summary.controls = [
            ft.Text(user.name, weight=ft.FontWeight.W_600, size=15),
            pill(user.role.value, ROLE_COLORS[user.role]),
            muted("password set" if user.has_password else "API keys only"),
            muted(f"since {user.created_at[:10]}"),
        ]

    async def _role_chosen(self, _: ft.Event[ft.Dropdown]) -> None:
        if self.role.value:
            await self.users.set_role(self.name, Role(self.role.value))

    async def _reset(self, _: ft.Event[ft.OutlinedButton]) -> None:
        await self.users.reset_password(self.name, self.password.value or "")
        self.password.value = ""

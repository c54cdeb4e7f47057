"""The users page's state and what its buttons do (admins only): list, add, set role, reset password, revoke keys.

Every action goes through the admin's own client, so the API decides (a member who somehow
reached these calls would get 403 there). Passwords typed here go straight to the API and are
never kept in the state.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from myspinbot_client import ApiError, AsyncMySpinBotClient
from myspinbot_client.identity import Role, User
from myspinbot_ui.notifications import api_problem

ROLES = (Role.MEMBER, Role.VIEWER, Role.ADMIN)


@dataclass
class UsersState:
    """What the users page shows."""

    users: list[User] = field(default_factory=list)
    form_error: str | None = None
    message: str | None = None
    unavailable: str | None = None
    loaded: bool = False


def add_problem(name: str, password: str) -> str | None:
    """What is wrong with the add form before asking the API, or None."""
    if not name.strip():
        return "Enter the new user's name."
    if not password:
        return "Enter a password for the new user (they log in with it)."
    return None


class Users:
    """Reads and changes users through the admin's client; tells the page to redraw."""

    def __init__(self, client: AsyncMySpinBotClient, changed: Callable[[], None]) -> None:
        self.client = client
        self.changed = changed
        self.state = UsersState()

    async def refresh(self) -> None:
        """Read every user."""
        try:
            self.state.users = await self.client.users()
        except ApiError as error:
            self.state.unavailable = api_problem(error)
        else:
            self.state.unavailable = None
        self.state.loaded = True
        self.changed()

    async def add(self, name: str, role: Role, password: str) -> bool:
        """Add a user; True when the API accepted it."""
        state = self.state
        state.form_error = add_problem(name, password)
        if state.form_error is None:
            try:
                user = await self.client.add_user(name.strip(), role, password)
            except ApiError as error:
                state.form_error = api_problem(error)
            else:
                state.message = f"Added {user.name} ({user.role.value})."
                await self.refresh()
        self.changed()
        return state.form_error is None

    async def set_role(self, name: str, role: Role) -> None:
        """Give a user another role (it applies at once)."""
        await self._do(self.client.change_user(name, role=role), f"{name} is now {role.value}.")

    async def reset_password(self, name: str, password: str) -> bool:
        """Set a new password (ending the user's dashboard sessions); True when done."""
        if not password:
            self.state.message = f"Type the new password for {name} first."
            self.changed()
            return False
        return await self._do(
            self.client.change_user(name, password=password),
            f"New password set for {name}; their dashboard sessions ended.",
        )

    async def revoke_keys(self, name: str) -> None:
        """Revoke every API key and dashboard session of a user."""
        try:
            count = await self.client.revoke_user_keys(name)
        except ApiError as error:
            self.state.message = f"Could not revoke {name}'s keys: {api_problem(error)}"
        else:
            self.state.message = f"Revoked {count} key{'s' if count != 1 else ''} of {name}."
        self.changed()

    async def _do(self, call: Awaitable[User], done: str) -> bool:
        try:
            await call
        except ApiError as error:
            self.state.message = f"Refused: {api_problem(error)}"
            self.changed()
            return False
        self.state.message = done
        await self.refresh()
        return True

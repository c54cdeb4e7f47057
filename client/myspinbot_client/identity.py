"""Identity in the client: who am I, log in and out (the dashboard's server), and the admins' user routes.

The wire models (the API's `Me`, `Session` and `User`) and the routes as `Call`s, with the
methods the sync and async clients share through a mixin each.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, TypeVar

from pydantic import BaseModel

from myspinbot_client.calls import Call, _list_of, _segment

T = TypeVar("T")


class Role(StrEnum):
    """What a user may do: `admin` everything, `member` its own jobs, `viewer` read all."""

    ADMIN = "admin"
    MEMBER = "member"
    VIEWER = "viewer"


class Me(BaseModel):
    """Who the caller is, and how the API recognised it (`session`, `key`, `bootstrap`, `local`, ...)."""

    name: str
    role: Role
    via: str
    key_id: str | None = None


class LoginSession(BaseModel):
    """A login's session key: shown once; valid until `expires_at` (ISO 8601) or logout."""

    key: str
    key_id: str
    expires_at: str | None
    user: Me

    def __repr__(self) -> str:  # the key must not land in a log through a repr
        return f"LoginSession(user={self.user.name!r}, key_id={self.key_id!r}, expires_at={self.expires_at!r})"

    __str__ = __repr__


class User(BaseModel):
    """A user as the API shows it (never a secret)."""

    name: str
    role: Role
    created_at: str
    has_password: bool = False


class Revoked(BaseModel):
    """How many keys a revocation ended."""

    revoked: int


def me() -> Call[Me]:
    """`GET /api/auth/me`."""
    return Call("GET", "/api/auth/me", Me.model_validate)


def login(username: str, password: str, key_name: str, forwarded_for: str | None = None) -> Call[LoginSession]:
    """`POST /api/auth/login` (takes no key); `forwarded_for`: the browser's address, for a proxy the API trusts."""
    body = {"username": username, "password": password, "key_name": key_name}
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    return Call("POST", "/api/auth/login", LoginSession.model_validate, json_body=body, headers=headers)


def logout() -> Call[None]:
    """`POST /api/auth/logout`: revokes the key the request came with."""
    return Call("POST", "/api/auth/logout", _nothing)


def users() -> Call[list[User]]:
    """`GET /api/users` (admin)."""
    return Call("GET", "/api/users", _list_of(User.model_validate))


def add_user(name: str, role: Role | str, password: str | None) -> Call[User]:
    """`POST /api/users` (admin)."""
    body: dict[str, Any] = {"name": name, "role": Role(role).value, "password": password}
    return Call("POST", "/api/users", User.model_validate, json_body=body)


def change_user(name: str, role: Role | str | None, password: str | None) -> Call[User]:
    """`PATCH /api/users/{name}` (admin): a new role, a new password, or both."""
    body: dict[str, Any] = {}
    if role is not None:
        body["role"] = Role(role).value
    if password is not None:
        body["password"] = password
    return Call("PATCH", f"/api/users/{_segment(name)}", User.model_validate, json_body=body)


def revoke_user_keys(name: str) -> Call[Revoked]:
    """`DELETE /api/users/{name}/keys` (admin): every API key and dashboard session of the user."""
    return Call("DELETE", f"/api/users/{_segment(name)}/keys", Revoked.model_validate)


def _nothing(_: Any) -> None:
    return None


class IdentityMethods:
    """Identity for `MySpinBotClient` (which provides `_send`)."""

    def _send(self, call: Call[T]) -> T:
        raise NotImplementedError

    def me(self) -> Me:
        """Who this client acts as."""
        return self._send(me())

    def login(
        self, username: str, password: str, key_name: str = "dashboard session", *, forwarded_for: str | None = None
    ) -> LoginSession:
        """Check a password and get a session key (429 with `retry_after` after a storm of wrong ones).

        A proxy such as the dashboard's server names the browser's address in `forwarded_for`, so
        the API (when it trusts this proxy, FORWARDED_ALLOW_IPS) throttles that browser, not the proxy."""
        return self._send(login(username, password, key_name, forwarded_for))

    def logout(self) -> None:
        """Revoke the key this client holds, at once."""
        self._send(logout())

    def users(self) -> list[User]:
        """Every user (admin)."""
        return self._send(users())

    def add_user(self, name: str, role: Role | str = Role.MEMBER, password: str | None = None) -> User:
        """Add a user (admin); without a password it can use API keys only."""
        return self._send(add_user(name, role, password))

    def change_user(self, name: str, *, role: Role | str | None = None, password: str | None = None) -> User:
        """Set a user's role or reset its password (admin); a new password ends its dashboard sessions."""
        return self._send(change_user(name, role, password))

    def revoke_user_keys(self, name: str) -> int:
        """Revoke every key of a user (admin); how many were revoked."""
        return self._send(revoke_user_keys(name)).revoked


class AsyncIdentityMethods:
    """Identity for `AsyncMySpinBotClient` (which provides `_send`)."""

    async def _send(self, call: Call[T]) -> T:
        raise NotImplementedError

    async def me(self) -> Me:
        """Who this client acts as."""
        return await self._send(me())

    async def login(
        self, username: str, password: str, key_name: str = "dashboard session", *, forwarded_for: str | None = None
    ) -> LoginSession:
        """Check a password and get a session key; see `IdentityMethods.login`."""
        return await self._send(login(username, password, key_name, forwarded_for))

    async def logout(self) -> None:
        """Revoke the key this client holds, at once."""
        await self._send(logout())

    async def users(self) -> list[User]:
        """Every user (admin)."""
        return await self._send(users())

    async def add_user(self, name: str, role: Role | str = Role.MEMBER, password: str | None = None) -> User:
        """Add a user (admin); without a password it can use API keys only."""
        return await self._send(add_user(name, role, password))

    async def change_user(self, name: str, *, role: Role | str | None = None, password: str | None = None) -> User:
        """Set a user's role or reset its password (admin); a new password ends its dashboard sessions."""
        return await self._send(change_user(name, role, password))

    async def revoke_user_keys(self, name: str) -> int:
        """Revoke every key of a user (admin); how many were revoked."""
        return (await self._send(revoke_user_keys(name))).revoked

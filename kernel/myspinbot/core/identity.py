"""Who may do what: roles, the principal a request acts as, users, API keys, and the identity store contract.

The kernel decides *who* a caller is (through the `authenticate` hook) and *what* a role may do
(here); a storage plugin keeps users and hashed keys (the `identity_store` hook). Nothing here
holds a secret in clear: a key's record has only its keyed hash, a user's only its Argon2 hash.
"""

from __future__ import annotations

import builtins
import re
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol, runtime_checkable

from pydantic import BaseModel, Field

from myspinbot.core.jobs import format_time, utc_now

USER_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
# The name jobs get as owner while authentication is off (a single local user).
LOCAL_USER = "local"
BOOTSTRAP_ADMIN = "admin"


def timestamp() -> str:
    """Now, as identity records write times (ISO 8601 UTC, like the jobs' times on the wire)."""
    return format_time(utc_now())


def epoch_seconds(text: str) -> float:
    """A time written by `timestamp` as epoch seconds."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


class Role(StrEnum):
    """What a user may do: `admin` everything, `member` submit and act on its own jobs, `viewer` read all."""

    ADMIN = "admin"
    MEMBER = "member"
    VIEWER = "viewer"


class KeyKind(StrEnum):
    """An API key made by its user (`api`) or by a login, for the dashboard's server (`session`)."""

    API = "api"
    SESSION = "session"


@dataclass(frozen=True)
class Principal:
    """Who a request acts as: a user name, its role, and the key it came with (None: none was needed)."""

    name: str
    role: Role
    key_id: str | None = None
    # How the caller was recognised, for logs: "key", "bootstrap", "local", or a plugin's own word.
    via: str = "key"

    @property
    def sees_all_jobs(self) -> bool:
        """Admins and viewers read every job; a member only its own."""
        return self.role in (Role.ADMIN, Role.VIEWER)

    @property
    def may_act(self) -> bool:
        """Whether it may submit and cancel (viewers only read)."""
        return self.role in (Role.ADMIN, Role.MEMBER)

    def owns(self, owner: str) -> bool:
        """Whether a job with this owner is the principal's own."""
        return owner == self.name

    def may_read_job(self, owner: str) -> bool:
        """Whether it may see a job of `owner` (else the job does not exist for it)."""
        return self.sees_all_jobs or self.owns(owner)

    def may_act_on_job(self, owner: str) -> bool:
        """Whether it may cancel (or otherwise change) a job of `owner`."""
        return self.role == Role.ADMIN or (self.role == Role.MEMBER and self.owns(owner))


def principal_of(connection: object) -> Principal:
    """The principal the API authenticated for a request or WebSocket (a plugin's route may call it).

    Set on `connection.state.principal` by the API's auth dependency, which runs before every
    route under /api/; reading it anywhere else is a programming error (RuntimeError).
    """
    principal = getattr(getattr(connection, "state", None), "principal", None)
    if not isinstance(principal, Principal):
        raise RuntimeError("no authenticated principal on this request: is the route under /api/?")
    return principal


@dataclass(frozen=True)
class Credentials:
    """What a caller presented, handed to the `authenticate` hook.

    `api_key` is the bearer key (from `Authorization: Bearer` or a WS first frame);
    `username`/`password` come only from the login route. `headers` are the request's headers
    (lower-case names) so a plugin can trust a forward-auth header set by its proxy.
    """

    api_key: str | None = None
    username: str | None = None
    password: str | None = None
    address: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


class User(BaseModel):
    """A user as the API shows it (no secret)."""

    name: str
    role: Role
    created_at: str
    has_password: bool = False


class UserRecord(User):
    """A stored user: the public fields and the Argon2 hash of its password (empty: no password)."""

    password_hash: str = Field("", exclude=True, repr=False)

    def public(self) -> User:
        """The user without its password hash."""
        return User(name=self.name, role=self.role, created_at=self.created_at, has_password=bool(self.password_hash))


class ApiKey(BaseModel):
    """An API key as its owner sees it: never the key itself, which is shown once when made."""

    id: str
    name: str
    user: str
    kind: KeyKind = KeyKind.API
    created_at: str
    last_used_at: str | None = None
    expires_at: str | None = None


class ApiKeyRecord(ApiKey):
    """A stored key: the public fields and its keyed hash (HMAC-SHA256)."""

    digest: str = Field(exclude=True, repr=False)

    def public(self) -> ApiKey:
        """The key's record without its hash."""
        return ApiKey.model_validate(self.model_dump())


class UserExists(ValueError):
    """A user of that name already exists."""


@runtime_checkable
class IdentityStore(Protocol):
    """What a storage plugin implements for users, API keys and failed-attempt counters
    (returned from the `identity_store` hook)."""

    async def create_user(self, user: UserRecord) -> None:
        """Write a new user; raise UserExists when the name is taken."""
        ...

    async def get_user(self, name: str) -> UserRecord | None: ...

    async def list_users(self) -> builtins.list[UserRecord]:
        """Every user, by name."""
        ...

    async def update_user(self, user: UserRecord) -> None:
        """Overwrite an existing user (role, password hash)."""
        ...

    async def delete_user(self, name: str) -> bool:
        """Remove a user and every key of it; False when there was none."""
        ...

    async def add_key(self, key: ApiKeyRecord) -> None:
        """Store a new key's record (found later by its digest)."""
        ...

    async def key_by_digest(self, digest: str) -> ApiKeyRecord | None:
        """The key whose hash is `digest`, unless revoked or expired."""
        ...

    async def key_and_user_by_digest(self, digest: str) -> tuple[ApiKeyRecord, UserRecord] | None:
        """`key_by_digest` and the `get_user` of its user at once (each request's authentication:
        one round trip where the two calls took three); None unless both exist."""
        ...

    async def list_keys(self, user: str) -> builtins.list[ApiKeyRecord]:
        """A user's live keys, oldest first."""
        ...

    async def revoke_key(self, key_id: str) -> ApiKeyRecord | None:
        """Delete a key at once and announce it to `revocations()`; the removed record, or None."""
        ...

    async def touch_key(self, key_id: str, when: str) -> None:
        """Record when a key was last used."""
        ...

    async def count_failure(self, scope: str, window_seconds: int) -> tuple[int, int]:
        """Count one failed attempt for `scope` (a user or an address) in a fixed window.
        Returns (failures in the window, seconds until the window ends)."""
        ...

    async def failures(self, scope: str) -> tuple[int, int]:
        """(failures in the current window, seconds until it ends) without counting one."""
        ...

    async def clear_failures(self, scope: str) -> None: ...

    async def announce_revoked(self, subject: str) -> None:
        """Tell every API process that a key id or a user (`user:<name>`) lost its access."""
        ...

    def revocations(self) -> AsyncIterator[str]:
        """Key ids and `user:<name>` subjects as they are revoked, for closing open WebSockets."""
        ...

    async def close(self) -> None: ...

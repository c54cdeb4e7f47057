"""Managing users and keys, the same for the API's routes and the `myspinbot users|keys` commands."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from myspinbot.core.credentials import hash_password, key_digest, new_api_key, password_problem
from myspinbot.core.identity import (
    USER_NAME,
    ApiKeyRecord,
    IdentityStore,
    KeyKind,
    Role,
    UserRecord,
    timestamp,
)
from myspinbot.core.settings import Settings

MAX_KEY_NAME = 80


class AccountError(ValueError):
    """A request about users or keys that cannot be done; `field` names what to fix."""

    def __init__(self, field: str, message: str, status: int = 422) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
        self.status = status


@dataclass(frozen=True)
class NewKey:
    """A key just made: its record and the key itself, which is shown this once."""

    record: ApiKeyRecord
    key: str


def check_user_name(name: str) -> str:
    """The name, if it is a valid user name (lower-case letters, digits, '.', '_', '-')."""
    if not USER_NAME.match(name):
        raise AccountError("name", "must be 1–64 lower-case letters, digits, '.', '_' or '-', starting with one")
    return name


def check_password(password: str) -> str:
    """The password, if it is long enough."""
    problem = password_problem(password)
    if problem:
        raise AccountError("password", problem)
    return password


async def add_user(identity: IdentityStore, name: str, role: Role, password: str | None) -> UserRecord:
    """Create a user (with a password for the dashboard, or none: keys only)."""
    check_user_name(name)
    password_hash = await hash_password(check_password(password)) if password else ""
    record = UserRecord(name=name, role=role, created_at=timestamp(), password_hash=password_hash)
    await identity.create_user(record)
    return record


async def user_or_error(identity: IdentityStore, name: str) -> UserRecord:
    """The stored user, or AccountError 404."""
    user = await identity.get_user(name)
    if user is None:
        raise AccountError("name", f"no user {name!r}", status=404)
    return user


async def set_role(identity: IdentityStore, name: str, role: Role) -> UserRecord:
    """Change a user's role; its open WebSockets are closed so they reconnect with the new one."""
    user = await user_or_error(identity, name)
    updated = user.model_copy(update={"role": role})
    await identity.update_user(updated)
    await identity.announce_revoked(f"user:{name}")
    return updated


async def set_password(identity: IdentityStore, name: str, password: str) -> UserRecord:
    """Set a new password and end the user's dashboard sessions (its API keys keep working)."""
    user = await user_or_error(identity, name)
    updated = user.model_copy(update={"password_hash": await hash_password(check_password(password))})
    await identity.update_user(updated)
    for key in await identity.list_keys(name):
        if key.kind == KeyKind.SESSION:
            await identity.revoke_key(key.id)
    return updated


async def create_key(
    identity: IdentityStore,
    settings: Settings,
    user: str,
    name: str,
    *,
    kind: KeyKind = KeyKind.API,
    lifetime: timedelta | None = None,
) -> NewKey:
    """Make a key for an existing user; only its keyed hash is stored."""
    await user_or_error(identity, user)
    name = name.strip()
    if not name or len(name) > MAX_KEY_NAME:
        raise AccountError("name", f"a key needs a name of 1–{MAX_KEY_NAME} characters")
    key_id, key = new_api_key()
    expires = None
    if lifetime is not None:
        expires = (datetime.now(UTC) + lifetime).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    record = ApiKeyRecord(
        id=key_id,
        name=name,
        user=user,
        kind=kind,
        created_at=timestamp(),
        expires_at=expires,
        digest=key_digest(settings, key),
    )
    await identity.add_key(record)
    return NewKey(record=record, key=key)


async def revoke_all_keys(identity: IdentityStore, user: str) -> int:
    """Revoke every key of a user (API and session keys); how many there were."""
    keys = await identity.list_keys(user)
    for key in keys:
        await identity.revoke_key(key.id)
    await identity.announce_revoked(f"user:{user}")
    return len(keys)

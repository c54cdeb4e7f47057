"""The built-in `authenticate` plugin: the bootstrap token, stored API keys, and passwords.

Registered by the kernel itself (name `builtin-auth`, `trylast`), so any other plugin's
`authenticate` is asked first and this one is the default.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from myspinbot.core.credentials import hash_password, key_digest, same_secret, verify_password
from myspinbot.core.hookspecs import hookimpl
from myspinbot.core.identity import BOOTSTRAP_ADMIN, Credentials, Principal, Role, epoch_seconds, timestamp

if TYPE_CHECKING:
    from myspinbot.core.kernel import Kernel

NAME = "builtin-auth"
# last_used_at is written at most this often per key, so a busy key costs no write per request.
TOUCH_EVERY_SECONDS = 60.0


@hookimpl(trylast=True)
async def authenticate(credentials: Credentials, kernel: Kernel) -> Principal | None:
    """A bearer key (the bootstrap token or a stored key), or a user name and password."""
    if credentials.api_key is not None:
        return await principal_of_key(kernel, credentials.api_key)
    if credentials.username is not None and credentials.password is not None:
        return await principal_of_password(kernel, credentials.username, credentials.password)
    return None


async def principal_of_key(kernel: Kernel, key: str) -> Principal | None:
    """The bootstrap admin for MYSPINBOT_API_TOKEN, else the stored key's user."""
    token = kernel.settings.api_token
    if token is not None and same_secret(token, key):
        return Principal(BOOTSTRAP_ADMIN, Role.ADMIN, via="bootstrap")
    identity = kernel.identity
    found = await identity.key_and_user_by_digest(key_digest(kernel.settings, key))
    if found is None:
        return None
    record, user = found
    if record.last_used_at is None or time.time() - epoch_seconds(record.last_used_at) > TOUCH_EVERY_SECONDS:
        await identity.touch_key(record.id, timestamp())
    return Principal(user.name, user.role, key_id=record.id, via=record.kind.value)


async def principal_of_password(kernel: Kernel, name: str, password: str) -> Principal | None:
    """The user whose stored Argon2 hash matches the password."""
    user = await kernel.identity.get_user(name)
    if user is None:
        # Spend the same time as for a real user, so timing does not tell which names exist.
        await verify_password(await _dummy_hash(), password)
        return None
    if not await verify_password(user.password_hash, password):
        return None
    return Principal(user.name, user.role, via="password")


_dummy: list[str] = []


async def _dummy_hash() -> str:
    if not _dummy:
        _dummy.append(await hash_password("not-a-real-password"))
    return _dummy[0]

"""Secrets in and out: new API keys, their keyed hash, and Argon2 password hashes.

API keys are 256 random bits, so a fast keyed hash (HMAC-SHA256) is enough to store them: there
is nothing to guess. Passwords are chosen by people, so they get a memory-hard hash (Argon2id
from argon2-cffi) and are verified off the event loop.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import uuid

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from myspinbot.core.settings import Settings

KEY_PREFIX = "msb_"
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 256
# Used when MYSPINBOT_SECRET_KEY is unset: the hash is still one-way, only not keyed per deployment.
DEFAULT_KEY_PEPPER = "myspinbot-api-key-v1"

_hasher = PasswordHasher()


def new_api_key() -> tuple[str, str]:
    """A fresh (key id, key): the id names the key in listings, the key is shown once."""
    return uuid.uuid4().hex[:16], KEY_PREFIX + secrets.token_urlsafe(32)


def key_digest(settings: Settings, key: str) -> str:
    """The stored form of a key: HMAC-SHA256 under MYSPINBOT_SECRET_KEY (hex)."""
    pepper = (settings.secret_key or DEFAULT_KEY_PEPPER).encode()
    return hmac.new(pepper, key.encode(), hashlib.sha256).hexdigest()


def same_secret(expected: str, presented: str | None) -> bool:
    """Constant-time comparison, so the time taken reveals nothing of the secret."""
    if presented is None:
        return False
    return hmac.compare_digest(expected.encode(), presented.encode())


def password_problem(password: str) -> str | None:
    """Why a new password is refused, or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"must be at least {MIN_PASSWORD_LENGTH} characters"
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"must be at most {MAX_PASSWORD_LENGTH} characters"
    return None


async def hash_password(password: str) -> str:
    """The Argon2id hash of a password, computed on a worker thread."""
    return await asyncio.to_thread(_hasher.hash, password)


def hash_password_sync(password: str) -> str:
    """The Argon2id hash of a password (for the CLI, which has no event loop to spare)."""
    return _hasher.hash(password)


async def verify_password(password_hash: str, password: str) -> bool:
    """Whether `password` matches the stored hash; False for an empty or broken hash."""
    if not password_hash:
        return False
    try:
        return await asyncio.to_thread(_hasher.verify, password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False

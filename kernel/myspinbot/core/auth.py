"""Authenticating a caller: the `authenticate` hook, with failed attempts slowed down and then refused.

Wrong keys are counted per address; wrong passwords per user and per address. Past
MYSPINBOT_AUTH_SLOW_AFTER failures in the window each answer waits a little longer; at
MYSPINBOT_AUTH_MAX_FAILURES the caller gets `TooManyAttempts` (429 with Retry-After) until the
window ends: for passwords even with the right one, so a storm cannot keep guessing; a valid
API key still passes (see `Authenticator.caller`).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from typing import TYPE_CHECKING, Any

from myspinbot.core.identity import LOCAL_USER, Credentials, Principal, Role
from myspinbot.core.plugins import plugin_name

if TYPE_CHECKING:
    from myspinbot.core.kernel import Kernel

log = logging.getLogger(__name__)

MAX_DELAY_SECONDS = 2.0
DELAY_STEP_SECONDS = 0.25
LOCAL_PRINCIPAL = Principal(LOCAL_USER, Role.ADMIN, via="local")


class AuthFailed(Exception):
    """No plugin recognised the credentials (401)."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason  # a label for /metrics: missing, invalid, password


class TooManyAttempts(Exception):
    """Too many failures for this user or address; retry after `retry_after` seconds (429)."""

    def __init__(self, retry_after: int, scope: str) -> None:
        super().__init__(f"too many failed attempts; retry in {retry_after} s")
        self.retry_after = max(1, retry_after)
        self.scope = scope  # "user" or "address", never the value itself


async def ask_plugins(kernel: Kernel, credentials: Credentials) -> Principal | None:
    """The first `authenticate` answer that is not None, in pluggy's call order."""
    impls = kernel.pm.hook.authenticate.get_hookimpls()
    for impl in reversed(impls):  # pluggy calls the last registered (and tryfirst) first
        args: dict[str, Any] = {"credentials": credentials, "kernel": kernel}
        try:
            result = impl.function(**{name: args[name] for name in impl.argnames})
            if inspect.isawaitable(result):
                result = await result
        except Exception:
            log.exception("plugin %s failed in authenticate", plugin_name(kernel.pm, impl.plugin))
            raise
        if result is not None:
            if not isinstance(result, Principal):
                raise TypeError(f"authenticate of {plugin_name(kernel.pm, impl.plugin)!r} returned {result!r}")
            return result
    return None


class Authenticator:
    """Turns credentials into a `Principal`, or raises AuthFailed / TooManyAttempts."""

    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel
        settings = kernel.settings
        self.max_failures = settings.auth_max_failures
        self.slow_after = settings.auth_slow_after
        self.window = settings.auth_failure_window_seconds
        # Per-process counts for /metrics (summed across API replicas, like the WS figures).
        self.failures_by_reason: dict[str, int] = {}
        self.throttled_by_scope: dict[str, int] = {}
        self.capped = 0

    @property
    def required(self) -> bool:
        """Whether callers must authenticate at all."""
        return self.kernel.settings.auth_required

    async def caller(self, credentials: Credentials) -> Principal:
        """Who a request or WS connection acts as (the local admin while auth is off)."""
        if credentials.api_key is None:
            principal = await ask_plugins(self.kernel, credentials)  # e.g. a forward-auth header
            if principal is not None:
                return principal
            if not self.required:
                return LOCAL_PRINCIPAL
            self._count("missing")
            raise AuthFailed("send 'Authorization: Bearer <API key>'", "missing")
        principal = await ask_plugins(self.kernel, credentials)
        if principal is not None:
            # A valid key passes even from a throttled address: keys are 256 random bits, so
            # throttling is there to stop scanning, not guessing, and must not lock out the
            # users behind a shared proxy (the dashboard's server) because of someone else.
            return principal
        if not self.required:
            return LOCAL_PRINCIPAL  # a stale key while auth is off changes nothing
        scopes = self._scopes(credentials, with_user=False)
        await self._refuse_if_throttled(scopes)
        await self._failed(scopes, "invalid")
        raise AuthFailed("the API key is wrong, revoked or expired", "invalid")

    async def from_headers(self, credentials: Credentials) -> Principal | None:
        """A principal a plugin recognises without a key (a proxy's forward-auth header), or None."""
        return await ask_plugins(self.kernel, credentials)

    async def login(self, credentials: Credentials) -> Principal:
        """Check a user name and password (the dashboard's login)."""
        scopes = self._scopes(credentials, with_user=True)
        await self._refuse_if_throttled(scopes)
        principal = await ask_plugins(self.kernel, credentials)
        if principal is None:
            await self._failed(scopes, "password")
            raise AuthFailed("wrong user name or password", "password")
        await self.kernel.identity.clear_failures(f"user:{principal.name}")
        return principal

    def _scopes(self, credentials: Credentials, *, with_user: bool) -> list[tuple[str, str]]:
        scopes = []
        if with_user and credentials.username:
            scopes.append(("user", f"user:{credentials.username.lower()}"))
        if credentials.address:
            scopes.append(("address", f"addr:{credentials.address}"))
        return scopes

    async def _refuse_if_throttled(self, scopes: list[tuple[str, str]]) -> None:
        identity = self.kernel.identity
        for label, scope in scopes:
            count, ttl = await identity.failures(scope)
            if count >= self.max_failures:
                self.throttled_by_scope[label] = self.throttled_by_scope.get(label, 0) + 1
                raise TooManyAttempts(ttl, label)

    async def _failed(self, scopes: list[tuple[str, str]], reason: str) -> None:
        """Count the failure, then answer later the more failures there were."""
        self._count(reason)
        worst = 0
        for _, scope in scopes:
            count, _ = await self.kernel.identity.count_failure(scope, self.window)
            worst = max(worst, count)
        if worst > self.slow_after:
            await asyncio.sleep(min(MAX_DELAY_SECONDS, DELAY_STEP_SECONDS * (worst - self.slow_after)))

    def count_capped(self) -> None:
        """Count a submission refused by the per-user cap on active jobs (a 429)."""
        self.capped += 1

    def _count(self, reason: str) -> None:
        self.failures_by_reason[reason] = self.failures_by_reason.get(reason, 0) + 1

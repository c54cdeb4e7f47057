"""Dashboard logins: the session table, kept in this process, and the signed cookie that names a row of it.

A login's API session key (from `POST /api/auth/login`) never leaves the dashboard's server: the
browser holds only a random session id, signed with the dashboard's secret (itsdangerous), so a
forged or altered cookie is refused before the table is even asked. Each login gets its own
`AsyncMySpinBotClient` built with that user's key; the Flet sessions and artifact downloads of
that browser use it, so the API applies the user's own rights.

The table is per process: a dashboard replica knows only the logins it made (the compose stack
routes a browser back to the same replica, see docs/deployment.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from itsdangerous import BadSignature, Signer

from myspinbot_client import ApiError, AsyncMySpinBotClient
from myspinbot_client.identity import LoginSession, Role

log = logging.getLogger(__name__)

COOKIE_NAME = "myspinbot_session"
SIGNER_SALT = "myspinbot-ui-session"
# A session key without an expiry (a plugin's choice) still ends in the browser after this long.
DEFAULT_LIFETIME = timedelta(hours=12)


@dataclass(eq=False)
class Login:
    """One logged-in browser: who it is, until when, and the client acting with its key."""

    session_id: str = field(repr=False)
    name: str
    role: Role
    expires_at: datetime
    client: AsyncMySpinBotClient = field(repr=False)
    # False only for the open dashboard (API auth off): no key to revoke, nothing to log out of.
    authenticated: bool = True
    _on_end: list[Callable[[], None]] = field(default_factory=list, repr=False)

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    def seconds_left(self, now: datetime | None = None) -> int:
        """Whole seconds until the session key expires (the cookie's Max-Age)."""
        return max(0, int((self.expires_at - (now or datetime.now(UTC))).total_seconds()))

    def on_end(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call `callback` when this login ends (logout, expiry); returns a function that unregisters it."""
        self._on_end.append(callback)
        return lambda: self._on_end.remove(callback) if callback in self._on_end else None


# The login of the request or websocket being handled, set by the session gate (myspinbot_ui.gate).
# Flet starts a page's `main` and its event handlers in tasks made from the websocket
# connection's own task, so they see the value set for that connection.
CURRENT_LOGIN: contextvars.ContextVar[Login | None] = contextvars.ContextVar("myspinbot_ui_login", default=None)


class CookieSigner:
    """Signs session ids for the cookie, and reads them back (None for anything not signed by us)."""

    def __init__(self, secret: str) -> None:
        self._signer = Signer(secret, salt=SIGNER_SALT)

    def sign(self, session_id: str) -> str:
        return self._signer.sign(session_id).decode()

    def unsign(self, cookie: str | None) -> str | None:
        if not cookie:
            return None
        try:
            return self._signer.unsign(cookie).decode()
        except BadSignature:
            return None


class SessionTable:
    """The logins of this dashboard process, by random session id."""

    def __init__(self, api_url: str, *, client_factory: Callable[[str, str], AsyncMySpinBotClient] | None = None):
        self.api_url = api_url
        self._client_factory = client_factory or (lambda url, key: AsyncMySpinBotClient(url, key))
        self._logins: dict[str, Login] = {}

    def __len__(self) -> int:
        return len(self._logins)

    def add(self, session: LoginSession, now: datetime | None = None) -> Login:
        """Remember a fresh login; its id is 256 random bits."""
        now = now or datetime.now(UTC)
        expires_at = _parse_time(session.expires_at) or now + DEFAULT_LIFETIME
        login = Login(
            session_id=secrets.token_urlsafe(32),
            name=session.user.name,
            role=session.user.role,
            expires_at=expires_at,
            client=self._client_factory(self.api_url, session.key),
        )
        self._logins[login.session_id] = login
        return login

    async def get(self, session_id: str | None, now: datetime | None = None) -> Login | None:
        """The live login of that id; an expired one is ended on the way."""
        login = self._logins.get(session_id) if session_id else None
        if login is None:
            return None
        if login.seconds_left(now) <= 0:
            await self.end(login, revoke=False)  # the API refuses the key already
            return None
        return login

    async def end(self, login: Login, *, revoke: bool = True) -> None:
        """Forget a login: revoke its key at the API, close its client, tell its pages (idempotent)."""
        if self._logins.pop(login.session_id, None) is None:
            return
        if revoke:
            try:
                await login.client.logout()
            except ApiError as error:  # gone from the table all the same; the key expires on its own
                log.warning("dashboard logout of %s: the API did not revoke the key: %s", login.name, error.message)
        for callback in list(login._on_end):
            try:
                callback()
            except Exception:  # one page failing to close must not keep the others open
                log.exception("a page of %s did not take the logout", login.name)
        await login.client.aclose()

    async def close(self, *, timeout: float = 3.0) -> None:
        """At shutdown: revoke every login's key (no one could use it again: the table is gone), then
        close the clients; a key the API could not be told about in time expires on its own."""
        logins = list(self._logins.values())
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await asyncio.gather(*(self.end(login) for login in logins), return_exceptions=True)
        for login in logins:
            await login.client.aclose()
        self._logins.clear()


def _parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)

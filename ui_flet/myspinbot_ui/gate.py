"""The session gate: no path of the dashboard but the login page and `/healthz` answers without a login.

An ASGI middleware in front of everything (Flet's page, its websocket, its upload endpoint, the
artifact route). A request with a valid signed session cookie passes, with its `Login` in
`CURRENT_LOGIN` for the handler (and for the Flet session the websocket starts); anything else is
refused: a page load is sent to `/login`, other requests get 401, a websocket is closed before it
is accepted. A websocket must also come from the dashboard's own origin: the cookie is SameSite,
but a sibling host under the same site would still send it (cross-site websocket hijacking).

When the API runs with auth off (`make dev` on loopback) the gate lets everyone through as the
API's local admin, as the API itself does, and the header says so.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable
from http.cookies import SimpleCookie
from urllib.parse import quote

from starlette.types import ASGIApp, Receive, Scope, Send

from myspinbot_client import ApiError, AsyncMySpinBotClient
from myspinbot_ui.sessions import COOKIE_NAME, CURRENT_LOGIN, CookieSigner, Login, SessionTable

log = logging.getLogger(__name__)

PUBLIC_PATHS = frozenset({"/login", "/logout", "/healthz"})
# How long the API's answer to "is auth on?" is trusted before it is asked again.
AUTH_MODE_SECONDS = 30.0


class ApiAuthMode:
    """Whether the API wants a key: asked with `GET /api/auth/me` and no key (200 from the local admin: off)."""

    def __init__(self, anonymous: AsyncMySpinBotClient, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.anonymous = anonymous
        self.clock = clock
        self._open: bool | None = None
        self._asked_at = 0.0

    async def is_open(self) -> bool:
        """True only when the API said auth is off; an unreachable API counts as on (fail closed)."""
        if self._open is not None and self.clock() - self._asked_at < AUTH_MODE_SECONDS:
            return self._open
        try:
            me = await self.anonymous.me()
        except ApiError as error:
            if error.status in (401, 429):
                self._remember(False)
            return False
        self._remember(me.via == "local")
        return self._open is True

    def _remember(self, is_open: bool) -> None:
        if is_open is not self._open:
            words = ("off", "is open to everyone") if is_open else ("on", "asks for a login")
            log.info("the API runs with auth %s: the dashboard %s", *words)
        self._open = is_open
        self._asked_at = self.clock()


def cookie_of(scope: Scope, name: str = COOKIE_NAME) -> str | None:
    """The named cookie of a request or websocket handshake."""
    for key, value in scope.get("headers", []):
        if key == b"cookie":
            jar: SimpleCookie = SimpleCookie()
            try:
                jar.load(value.decode("latin-1"))
            except Exception:  # a malformed cookie header is no login
                return None
            if name in jar:
                return jar[name].value
    return None


def header_of(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return str(value.decode("latin-1"))
    return None


def own_origin(scope: Scope) -> str:
    """This dashboard's origin as the browser sees it (the scheme is Traefik's, when uvicorn trusts it)."""
    scheme = {"ws": "http", "wss": "https"}.get(scope.get("scheme", "http"), scope.get("scheme", "http"))
    return f"{scheme}://{header_of(scope, b'host') or ''}"


def is_secure(scope: Scope) -> bool:
    """Whether the browser reached us over TLS (uvicorn applies X-Forwarded-Proto from trusted proxies)."""
    return scope.get("scheme") in ("https", "wss")


def foreign_origin(scope: Scope) -> bool:
    """A browser request sent from another origin (its Origin header, else Sec-Fetch-Site, says so)."""
    origin = header_of(scope, b"origin")
    if origin is not None:
        return origin != own_origin(scope)
    fetch_site = header_of(scope, b"sec-fetch-site")
    return fetch_site is not None and fetch_site not in ("same-origin", "none")


class SessionGate:
    """ASGI middleware: only logged-in requests (or everyone, while the API has auth off) pass."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        signer: CookieSigner,
        table: SessionTable,
        auth_mode: ApiAuthMode,
        open_login: Callable[[], Awaitable[Login]],
    ) -> None:
        self.app = app
        self.signer = signer
        self.table = table
        self.auth_mode = auth_mode
        self.open_login = open_login

    async def login_of(self, scope: Scope) -> Login | None:
        """The login this request belongs to, or None."""
        login = await self.table.get(self.signer.unsign(cookie_of(scope)))
        if login is not None:
            return login
        if await self.auth_mode.is_open():
            return await self.open_login()
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or scope["path"] in PUBLIC_PATHS:
            await self.app(scope, receive, send)
            return
        login = await self.login_of(scope)
        if scope["type"] == "websocket" and login is not None and foreign_origin(scope):
            log.warning("refused a websocket from another origin: %s", header_of(scope, b"origin"))
            login = None
        if login is None:
            await refuse(scope, send)
            return
        token = CURRENT_LOGIN.set(login)
        try:
            await self.app(scope, receive, send)
        finally:
            CURRENT_LOGIN.reset(token)


async def refuse(scope: Scope, send: Send) -> None:
    """No login: close a websocket unaccepted (HTTP 403), send a page load to /login, else 401."""
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008, "reason": "log in first"})
        return
    path = scope["path"]
    accept = header_of(scope, b"accept") or ""
    if scope["method"] in ("GET", "HEAD") and "text/html" in accept and not path.startswith("/artifacts/"):
        query = scope.get("query_string", b"").decode("latin-1")
        target = path + (f"?{query}" if query else "")
        location = "/login" if target == "/" else f"/login?next={quote(target, safe='/')}"
        await send({"type": "http.response.start", "status": 303, "headers": [(b"location", location.encode())]})
        await send({"type": "http.response.body", "body": b""})
        return
    body = json.dumps(
        {"error": {"status": 401, "code": "unauthorized", "message": "log in to the dashboard first (/login)"}}
    ).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 401, "headers": headers})
    await send({"type": "http.response.body", "body": body})

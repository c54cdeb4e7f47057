"""`GET`/`POST /login` and `POST /logout`: the dashboard's side of a login, in front of the API's.

POST /login passes the user name and password to the API's `POST /api/auth/login` (never
logging them), keeps the session key it answers in the session table, and sets a cookie with
the signed session id only: HttpOnly, SameSite=Lax, Secure when the browser came over TLS,
Max-Age = the key's remaining life. Both POSTs refuse another origin (CSRF): a browser always
sends Origin with a form POST, and the cookie is SameSite besides.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from myspinbot_client import ApiError, ApiUnavailable, AsyncMySpinBotClient
from myspinbot_ui.gate import ApiAuthMode, cookie_of, foreign_origin, is_secure
from myspinbot_ui.login_page import login_html
from myspinbot_ui.sessions import COOKIE_NAME, CookieSigner, Login, SessionTable

log = logging.getLogger(__name__)

MAX_FORM_BYTES = 4096
SIGNED_OUT = "You are signed out."
SIGNED_OUT_URL = "/login?signed_out=1"  # the login page, saying SIGNED_OUT


@dataclass
class LoginCounts:
    """Dashboard logins since start, by outcome (shown on /healthz for an operator to watch)."""

    ok: int = 0
    refused: int = 0
    throttled: int = 0
    failed: int = 0  # the API could not be asked

    def as_dict(self) -> dict[str, int]:
        return {"ok": self.ok, "refused": self.refused, "throttled": self.throttled, "failed": self.failed}


def safe_next(value: str | None) -> str:
    """Where to go after logging in: a path of this dashboard only (no open redirect)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value or value.startswith("/login"):
        return "/"
    return value


@dataclass
class LoginRoutes:
    """The three handlers, over the session table and a client that sends no key."""

    table: SessionTable
    signer: CookieSigner
    anonymous: AsyncMySpinBotClient
    auth_mode: ApiAuthMode
    counts: LoginCounts = field(default_factory=LoginCounts)

    def routes(self) -> list[tuple[str, Callable[[Request], Awaitable[Response]], list[str]]]:
        return [("/login", self.show, ["GET"]), ("/login", self.login, ["POST"]), ("/logout", self.logout, ["POST"])]

    async def current(self, request: Request) -> Login | None:
        return await self.table.get(self.signer.unsign(cookie_of(request.scope)))

    async def show(self, request: Request) -> Response:
        """The form; straight on to the dashboard when already logged in or when the API has auth off."""
        next_path = safe_next(request.query_params.get("next"))
        if await self.current(request) is not None or await self.auth_mode.is_open():
            return RedirectResponse(next_path, status_code=303)
        info = SIGNED_OUT if request.query_params.get("signed_out") == "1" else None
        response = page(login_html(next_path=next_path, info=info))
        if cookie_of(request.scope) is not None:
            self.clear_cookie(response, request)  # a stale or forged cookie: drop it
        return response

    async def login(self, request: Request) -> Response:
        """Check the form at the API; on success set the cookie and go on."""
        if foreign_origin(request.scope):
            return page(login_html(next_path="/", error="This form must be sent from the dashboard's own page."), 403)
        body = await read_small_body(request)
        if body is None:
            return page(login_html(next_path="/", error="The form is too large."), 413)
        form = {key: values[0] for key, values in parse_qs(body.decode("utf-8", "replace")).items()}
        username = form.get("username", "").strip()
        password = form.get("password", "")
        next_path = safe_next(form.get("next"))
        if not username or not password:
            error = "Enter your user name and your password."
            return page(login_html(next_path=next_path, username=username, error=error), 400)
        if len(username) > 64 or len(password) > 256:
            error = "The user name has at most 64 characters, the password at most 256."
            return page(login_html(next_path=next_path, username=username[:64], error=error), 400)
        try:
            # The browser's address (as uvicorn saw it, Traefik's X-Forwarded-For applied), so the
            # API throttles a password storm per browser rather than the dashboard for everyone.
            address = request.client.host if request.client else None
            session = await self.anonymous.login(username, password, forwarded_for=address)
        except ApiUnavailable:
            self.counts.failed += 1
            log.warning("dashboard login of %s: the API cannot be reached", username)
            error = "The API cannot be reached; try again shortly."
            return page(login_html(next_path=next_path, username=username, error=error), 503)
        except ApiError as error:
            return self.refused(error, username, next_path)
        login = self.table.add(session)
        self.counts.ok += 1
        log.info("dashboard login: %s (%s)", login.name, login.role.value)
        response = RedirectResponse(next_path, status_code=303)
        response.set_cookie(
            COOKIE_NAME,
            self.signer.sign(login.session_id),
            max_age=login.seconds_left(),
            path="/",
            httponly=True,
            samesite="lax",
            secure=is_secure(request.scope),
        )
        return response

    def refused(self, error: ApiError, username: str, next_path: str) -> Response:
        """The page again, saying why: wrong password (401), too many attempts (429), or what the API said."""
        headers: dict[str, str] = {}
        if error.status == 429:
            self.counts.throttled += 1
            wait = error.retry_after or 60
            message = f"Too many attempts, try again in {wait} s."
            headers["Retry-After"] = str(wait)
            status = 429
        elif error.status == 401:
            self.counts.refused += 1
            message, status = "Wrong user name or password.", 401
        else:
            self.counts.refused += 1
            message, status = f"The login was refused: {error.message}", error.status if error.status >= 400 else 502
        log.info("dashboard login refused for %s: HTTP %s (%s)", username, error.status, error.code)
        response = page(login_html(next_path=next_path, username=username, error=message), status)
        response.headers.update(headers)
        return response

    async def logout(self, request: Request) -> Response:
        """Revoke the session key at the API, forget the session, clear the cookie."""
        if foreign_origin(request.scope):
            return page(login_html(next_path="/", error="Log out from the dashboard's own page."), 403)
        login = await self.current(request)
        if login is not None:
            await self.table.end(login)
            log.info("dashboard logout: %s", login.name)
        response = RedirectResponse(SIGNED_OUT_URL, status_code=303)
        self.clear_cookie(response, request)
        return response

    @staticmethod
    def clear_cookie(response: Response, request: Request) -> None:
        response.delete_cookie(COOKIE_NAME, path="/", httponly=True, samesite="lax", secure=is_secure(request.scope))


def page(html: str, status: int = 200) -> HTMLResponse:
    """An HTML answer never cached (it may carry a user name)."""
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})


async def read_small_body(request: Request) -> bytes | None:
    """The request body, or None once it passes MAX_FORM_BYTES."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_FORM_BYTES:
            return None
        chunks.append(chunk)
    return b"".join(chunks)

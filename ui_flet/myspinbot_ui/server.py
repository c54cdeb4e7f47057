"""The dashboard's web server: the login, Flet's web app (served offline) and the artifact route, under uvicorn."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta

import flet_web.fastapi as flet_fastapi
import uvicorn
from fastapi import FastAPI
from starlette.responses import JSONResponse

from myspinbot_client import AsyncMySpinBotClient
from myspinbot_client.identity import Role
from myspinbot_ui.artifacts import ROUTE, artifact_endpoint
from myspinbot_ui.config import UiConfig
from myspinbot_ui.csp import ContentSecurityPolicy
from myspinbot_ui.entry import make_main
from myspinbot_ui.gate import ApiAuthMode, SessionGate
from myspinbot_ui.login_routes import LoginRoutes
from myspinbot_ui.sessions import CookieSigner, Login, SessionTable

# The page's websocket carries small messages only (uploads go over HTTP), but leave headroom.
WS_MAX_BYTES = 32 * 1024 * 1024


def create_app(config: UiConfig) -> FastAPI:
    """The ASGI app: `/healthz`, `/login`, `/logout`, `/artifacts/{job_id}/{name}`, Flet's upload endpoint,
    and the web app at `/`; all but the first three behind the session gate."""
    config.upload_dir.mkdir(parents=True, exist_ok=True)
    table = SessionTable(config.api_url)
    signer = CookieSigner(config.session_secret)
    anonymous = AsyncMySpinBotClient(config.api_url, anonymous=True)
    auth_mode = ApiAuthMode(anonymous)
    # Only while the API has auth off: everyone is its local admin, through MYSPINBOT_API_TOKEN's client.
    open_client = AsyncMySpinBotClient(config.api_url, config.api_token)
    open_login = Login(
        session_id="",
        name="local",
        role=Role.ADMIN,
        expires_at=datetime.now(UTC) + timedelta(days=3650),
        client=open_client,
        authenticated=False,
    )

    async def get_open_login() -> Login:
        return open_login

    login_routes = LoginRoutes(table, signer, anonymous, auth_mode)

    async def close() -> None:
        await table.close()
        await anonymous.aclose()
        await open_client.aclose()
        if config.remove_upload_dir:
            shutil.rmtree(config.upload_dir, ignore_errors=True)

    app: FastAPI = flet_fastapi.FastAPI(on_shutdown=[close], docs_url=None, redoc_url=None, openapi_url=None)

    async def healthz() -> JSONResponse:
        return JSONResponse(
            {"status": "ok", "api_url": config.api_url, "sessions": len(table), "logins": login_routes.counts.as_dict()}
        )

    # Outermost first: the CSP on every answer (the login page too), then the gate.
    app.add_middleware(SessionGate, signer=signer, table=table, auth_mode=auth_mode, open_login=get_open_login)
    app.add_middleware(ContentSecurityPolicy)
    app.add_api_route("/healthz", healthz, methods=["GET"], include_in_schema=False)
    for path, endpoint, methods in login_routes.routes():
        app.add_route(path, endpoint, methods=methods)
    app.add_route(ROUTE, artifact_endpoint(), methods=["GET"])
    # Mounted last: it answers every other path (the web client's files and its websocket).
    app.mount(
        "/",
        flet_fastapi.app(
            make_main(config, table),
            no_cdn=True,
            app_name="MySpinBot",
            app_short_name="MySpinBot",
            app_description="Submit generative-AI jobs and watch them run",
            upload_dir=str(config.upload_dir),
            max_upload_size=config.max_upload_bytes,
            secret_key=config.upload_secret,
        ),
    )
    return app


def serve(config: UiConfig, *, log_level: str = "info") -> None:
    """Serve the dashboard until interrupted.

    uvicorn applies X-Forwarded-Proto/-For only from the addresses in FORWARDED_ALLOW_IPS (default:
    127.0.0.1); the compose stack sets the container networks there so Traefik's TLS is seen.
    """
    uvicorn.run(
        create_app(config),
        host=config.host,
        port=config.port,
        ws="websockets-sansio",
        ws_max_size=WS_MAX_BYTES,
        log_level=log_level,
        proxy_headers=True,
        timeout_graceful_shutdown=5,
    )

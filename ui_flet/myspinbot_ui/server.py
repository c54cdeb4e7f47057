"""The dashboard's web server: Flet's web app (served offline) plus the artifact route, under uvicorn."""

from __future__ import annotations

import shutil

import flet_web.fastapi as flet_fastapi
import uvicorn
from fastapi import FastAPI
from starlette.responses import JSONResponse

from myspinbot_client import AsyncMySpinBotClient
from myspinbot_ui.app import make_main
from myspinbot_ui.artifacts import ROUTE, artifact_endpoint
from myspinbot_ui.config import UiConfig
from myspinbot_ui.csp import ContentSecurityPolicy

# The page's websocket carries small messages only (uploads go over HTTP), but leave headroom.
WS_MAX_BYTES = 32 * 1024 * 1024


def create_app(config: UiConfig) -> FastAPI:
    """The ASGI app: `/healthz`, `/artifacts/{job_id}/{name}`, Flet's upload endpoint, and the web app at `/`."""
    config.upload_dir.mkdir(parents=True, exist_ok=True)
    client = AsyncMySpinBotClient(config.api_url, config.api_token)

    async def close() -> None:
        await client.aclose()
        if config.remove_upload_dir:
            shutil.rmtree(config.upload_dir, ignore_errors=True)

    app: FastAPI = flet_fastapi.FastAPI(on_shutdown=[close], docs_url=None, redoc_url=None, openapi_url=None)

    async def healthz() -> JSONResponse:
        return JSONResponse({"status": "ok", "api_url": config.api_url})

    # The page may load nothing from, and send nothing to, another host (see myspinbot_ui.csp).
    app.add_middleware(ContentSecurityPolicy)
    app.add_api_route("/healthz", healthz, methods=["GET"], include_in_schema=False)
    app.add_route(ROUTE, artifact_endpoint(client), methods=["GET"])
    # Mounted last: it answers every other path (the web client's files and its websocket).
    app.mount(
        "/",
        flet_fastapi.app(
            make_main(config, client),
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
    """Serve the dashboard until interrupted."""
    uvicorn.run(
        create_app(config),
        host=config.host,
        port=config.port,
        ws="websockets-sansio",
        ws_max_size=WS_MAX_BYTES,
        log_level=log_level,
        timeout_graceful_shutdown=5,
    )

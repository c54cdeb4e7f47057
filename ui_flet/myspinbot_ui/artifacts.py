"""Artifacts for the browser, fetched by the dashboard's server with the API token the browser never sees.

`GET /artifacts/{job_id}/{name}` on the dashboard reads the file from the API through the
client and hands it on: inline (a preview image), or as a download with `?download=1`.
Only that one API route is reachable this way; the client quotes both segments.
"""

from __future__ import annotations

import mimetypes
import re
import shutil
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import quote

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response

from myspinbot.client import ApiError, ApiUnavailable, Artifact, AsyncMySpinBotClient

ROUTE = "/artifacts/{job_id}/{name}"
JOB_ID = re.compile(r"^[A-Za-z0-9_-]{1,100}$")
# Finished jobs' artifacts never change, so the browser may keep them a while.
CACHE_CONTROL = "private, max-age=3600"


def artifact_href(job_id: str, name: str, *, download: bool = False) -> str:
    """The dashboard-relative URL the browser uses for one artifact."""
    href = f"/artifacts/{quote(job_id, safe='')}/{quote(name, safe='')}"
    return href + "?download=1" if download else href


def artifact_endpoint(client: AsyncMySpinBotClient) -> Callable[[Request], Awaitable[Response]]:
    """The route handler: download the artifact to a temporary folder, then send it and delete it."""

    async def send_artifact(request: Request) -> Response:
        job_id = request.path_params["job_id"]
        name = request.path_params["name"]
        if not JOB_ID.match(job_id) or "/" in name or "\\" in name or name in ("", ".", ".."):
            return _error(404, "not_found", "no such artifact")
        folder = Path(tempfile.mkdtemp(prefix="myspinbot-ui-artifact-"))
        cleanup = BackgroundTask(shutil.rmtree, folder, ignore_errors=True)
        try:
            path = await client.download_artifact(job_id, Artifact(name=name, content_type="", size=0, url=""), folder)
        except ApiUnavailable:
            shutil.rmtree(folder, ignore_errors=True)
            return _error(503, "unavailable", "the API cannot be reached; try again shortly")
        except ApiError as error:
            shutil.rmtree(folder, ignore_errors=True)
            return _error(error.status or 502, error.code, error.message)
        media_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
        download = request.query_params.get("download") == "1"
        return FileResponse(
            path,
            media_type=media_type,
            filename=name if download else None,
            content_disposition_type="attachment" if download else "inline",
            headers={"Cache-Control": CACHE_CONTROL, "X-Content-Type-Options": "nosniff"},
            background=cleanup,
        )

    return send_artifact


def _error(status: int, code: str, message: str) -> Response:
    return JSONResponse({"error": {"status": status, "code": code, "message": message}}, status_code=status)

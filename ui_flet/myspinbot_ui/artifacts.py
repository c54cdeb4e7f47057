"""Artifacts for the browser, fetched by the dashboard's server with the user's own session key.

The browser never sees that key.

`GET /artifacts/{job_id}/{name}` on the dashboard streams the file from the API through the
client as it arrives (nothing is written to disk): inline (a preview image), or as a download
with `?download=1`. Only that one API route is reachable this way; the client quotes both
segments. The session gate (myspinbot_ui.gate) lets only logged-in requests reach the route,
and the API answers a member's request for another's job with 404.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from myspinbot_client import ApiError, ApiUnavailable
from myspinbot_ui.sessions import CURRENT_LOGIN

ROUTE = "/artifacts/{job_id}/{name}"
JOB_ID = re.compile(r"^[A-Za-z0-9_-]{1,100}$")
# Finished jobs' artifacts never change, so the browser may keep them a while.
CACHE_CONTROL = "private, max-age=3600"
# Artifacts are shown from the dashboard's own origin: whatever one holds (an HTML file, say),
# it must not run scripts there.
CONTENT_SECURITY_POLICY = "sandbox"


def artifact_href(job_id: str, name: str, *, download: bool = False) -> str:
    """The dashboard-relative URL the browser uses for one artifact."""
    href = f"/artifacts/{quote(job_id, safe='')}/{quote(name, safe='')}"
    return href + "?download=1" if download else href


def content_disposition(name: str) -> str:
    """An `attachment` header that saves the file under `name` (RFC 6266, UTF-8 names encoded)."""
    quoted = quote(name, safe="")
    if quoted == name:
        return f'attachment; filename="{name}"'
    return f"attachment; filename*=utf-8''{quoted}"


def artifact_endpoint() -> Callable[[Request], Awaitable[Response]]:
    """The route handler: open the artifact at the API with the caller's login, then relay its bytes as they come."""

    async def send_artifact(request: Request) -> Response:
        login = CURRENT_LOGIN.get()
        if login is None:  # the gate lets no such request through; never fall back to another key
            return _error(401, "unauthorized", "log in to the dashboard first (/login)")
        client = login.client
        job_id = request.path_params["job_id"]
        name = request.path_params["name"]
        if not JOB_ID.match(job_id) or "/" in name or "\\" in name or name in ("", ".", ".."):
            return _error(404, "not_found", "no such artifact")
        upstream = AsyncExitStack()
        try:
            artifact = await upstream.enter_async_context(client.stream_artifact(job_id, name))
        except ApiUnavailable:
            return _error(503, "unavailable", "the API cannot be reached; try again shortly")
        except ApiError as error:
            return _error(error.status or 502, error.code, error.message)
        headers = {
            "Cache-Control": CACHE_CONTROL,
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": CONTENT_SECURITY_POLICY,
        }
        if artifact.size is not None:
            headers["Content-Length"] = str(artifact.size)
        if request.query_params.get("download") == "1":
            headers["Content-Disposition"] = content_disposition(name)
        return RelayResponse(artifact.chunks, upstream, headers=headers, media_type=artifact.content_type)

    return send_artifact


class RelayResponse(StreamingResponse):
    """A streamed response that closes its upstream download when it ends, however it ends.

    Starlette skips a response's background task when the browser goes away mid-download; the
    API connection must be given back to the client's pool all the same.
    """

    def __init__(
        self, chunks: AsyncIterator[bytes], upstream: AsyncExitStack, headers: dict[str, str], media_type: str
    ) -> None:
        super().__init__(chunks, headers=headers, media_type=media_type)
        self.upstream = upstream

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self.upstream.aclose()


def _error(status: int, code: str, message: str) -> Response:
    return JSONResponse({"error": {"status": status, "code": code, "message": message}}, status_code=status)

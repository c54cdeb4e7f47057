"""HTTP metrics: prometheus-fastapi-instrumentator's series, recorded by a leaner middleware.

The series (`http_requests_total`, `http_request_duration_seconds`, `..._highr_seconds`,
`http_request_size_bytes`, `http_response_size_bytes`) are the instrumentator's own: its
`metrics.default` makes them and records each request, so names, labels, buckets and meaning
are those the Grafana dashboard reads. Only its middleware is replaced. That one matched the
request against every route a second time to name the handler and built a `Request`, a
`Response` and an `asyncio.gather` per request: about 12% of the API's CPU per submit under
load (docs/performance.md). Here a handler name that is a plain path (no parameters, the same
for every request to it, such as `POST /api/generate`) is resolved once and kept.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence

from prometheus_client import CollectorRegistry
from prometheus_fastapi_instrumentator import metrics
from prometheus_fastapi_instrumentator.routing import get_route_name
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

Instrumentation = Callable[[metrics.Info], None]


class SentResponse(Response):
    """What the instrumentation reads of a response (its headers), without rendering a body."""

    def __init__(self, status_code: int, raw_headers: list[tuple[bytes, bytes]]) -> None:
        # No super().__init__: it would render content and rebuild headers we already have.
        self.status_code = status_code
        self.raw_headers = raw_headers

    @property
    def headers(self) -> MutableHeaders:
        return MutableHeaders(raw=self.raw_headers)


def default_instrumentation(registry: CollectorRegistry) -> Instrumentation:
    """The instrumentator's default series on `registry` (what `Instrumentator().instrument` records)."""
    instrumentation = metrics.default(registry=registry)
    if instrumentation is None:  # it returns None only when the series already exist in this registry
        raise RuntimeError("HTTP metrics are already registered in this registry")
    return instrumentation


class HandlerNames:
    """The templated route of a request (`/api/jobs/{job_id}`), or None for a path no route has.

    Resolved by the instrumentator's own `get_route_name`, so names are the same as before; a
    name equal to the request path (a route without parameters) is kept per path and method.
    Templated paths are not kept: their concrete paths are unbounded (one per job id).
    """

    def __init__(self) -> None:
        self.static: dict[tuple[str, str], str] = {}

    def of(self, scope: Scope) -> str | None:
        """The handler name of the request in `scope`."""
        key = (scope["method"], scope["path"])
        name = self.static.get(key)
        if name is not None:
            return name
        name = get_route_name(Request(scope), should_include_root_path=False)
        if name is not None and name == key[1] and len(self.static) < 10_000:
            self.static[key] = name
        return name


class HttpMetrics:
    """Pure ASGI middleware recording one instrumentation call per HTTP request.

    Same choices as the instrumentator was configured with: status codes grouped (`2xx`), paths
    that match no route not recorded, and handlers matching `excluded` (regular expressions,
    searched) not recorded.
    """

    def __init__(self, app: ASGIApp, instrumentation: Instrumentation, excluded: Sequence[str] = ()) -> None:
        self.app = app
        self.instrumentation = instrumentation
        self.excluded = [re.compile(pattern) for pattern in excluded]
        self.names = HandlerNames()
        self._excluded_names: dict[str, bool] = {}

    def is_excluded(self, handler: str) -> bool:
        found = self._excluded_names.get(handler)
        if found is None:
            found = any(pattern.search(handler) for pattern in self.excluded)
            if len(self._excluded_names) < 10_000:
                self._excluded_names[handler] = found
        return found

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        handler = self.names.of(scope)
        if handler is None or self.is_excluded(handler):
            await self.app(scope, receive, send)
            return
        status_code = 500
        raw_headers: list[tuple[bytes, bytes]] = []
        response_started = 0.0

        async def send_wrapper(message: Message) -> None:
            nonlocal status_code, raw_headers, response_started
            if message["type"] == "http.response.start":
                status_code = message["status"]
                raw_headers = message.get("headers", [])
                response_started = time.perf_counter()
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            done = time.perf_counter()
            self.instrumentation(
                metrics.Info(
                    request=Request(scope),
                    response=SentResponse(status_code, list(raw_headers)),
                    method=scope["method"],
                    modified_handler=handler,
                    modified_status=f"{str(int(status_code))[0]}xx",
                    modified_duration=max(done - started, 0.0),
                    modified_duration_without_streaming=max(response_started - started, 0.0)
                    if response_started
                    else 0.0,
                )
            )

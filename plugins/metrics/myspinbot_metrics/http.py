"""HTTP metrics: prometheus-fastapi-instrumentator's series, recorded by a leaner middleware.

The series are the instrumentator's defaults, made here with the same names, help texts,
labels and buckets (`http_requests_total`, `http_request_duration_seconds`,
`..._highr_seconds`, `http_request_size_bytes`, `http_response_size_bytes`): what the Grafana
dashboard reads, and tests/plugins/test_http_metrics.py checks they equal the instrumentator's
own after the same requests. Only its middleware is replaced. That one matched the request
against every route a second time to name the handler, built a `Request`, a `Response` and an
`asyncio.gather` per request and looked up five labelled children: about 12% of the API's CPU
per submit under load (docs/performance.md). Here a handler name that is a plain path (no
parameters, the same for every request to it, such as `POST /api/generate`) is resolved once,
and each (method, status, handler)'s children are looked up once.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Sequence

from prometheus_client import CollectorRegistry, Counter, Histogram, Summary
from prometheus_fastapi_instrumentator.routing import get_route_name
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# The instrumentator's default buckets (prometheus_fastapi_instrumentator.metrics.default).
HIGHR_BUCKETS = (
    0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 2.5, 3, 3.5, 4, 4.5, 5, 7.5, 10, 30, 60, float("inf"),
)  # fmt: skip
LOWR_BUCKETS = (0.1, 0.5, 1, float("inf"))
# Names and label combinations kept; past it they are looked up per request (a client
# may send any method name, and a 405 still names its route).
MAX_KEPT = 10_000


def content_length(headers: Iterable[tuple[bytes, bytes]]) -> int:
    """The Content-Length header's value, 0 without one (or with a malformed one)."""
    for name, value in headers:
        if name.lower() == b"content-length":
            return int(value) if value.isdigit() else 0
    return 0


class HttpSeries:
    """The instrumentator's default HTTP series on one registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.total = Counter(
            "http_requests_total",
            "Total number of requests by method, status and handler.",
            ("method", "status", "handler"),
            registry=registry,
        )
        self.request_size = Summary(
            "http_request_size_bytes",
            "Content length of incoming requests by handler. Only value of header is respected. "
            "Otherwise ignored. No percentile calculated. ",
            ("handler",),
            registry=registry,
        )
        self.response_size = Summary(
            "http_response_size_bytes",
            "Content length of outgoing responses by handler. Only value of header is respected. "
            "Otherwise ignored. No percentile calculated. ",
            ("handler",),
            registry=registry,
        )
        self.latency_highr = Histogram(
            "http_request_duration_highr_seconds",
            "Latency with many buckets but no API specific labels. Made for more accurate percentile calculations. ",
            buckets=HIGHR_BUCKETS,
            registry=registry,
        )
        self.latency = Histogram(
            "http_request_duration_seconds",
            "Latency with only few buckets by handler. Made to be only used if aggregation by handler is important. ",
            ("method", "handler"),
            buckets=LOWR_BUCKETS,
            registry=registry,
        )
        self._children: dict[tuple[str, str, str], tuple[Counter, Summary, Summary, Histogram]] = {}

    def record(
        self, method: str, status: str, handler: str, request_bytes: int, response_bytes: int, seconds: float
    ) -> None:
        """One answered request."""
        key = (method, status, handler)
        children = self._children.get(key)
        if children is None:
            children = (
                self.total.labels(method, status, handler),
                self.request_size.labels(handler),
                self.response_size.labels(handler),
                self.latency.labels(method, handler),
            )
            if len(self._children) < MAX_KEPT:
                self._children[key] = children
        total, request_size, response_size, latency = children
        total.inc()
        request_size.observe(request_bytes)
        response_size.observe(response_bytes)
        self.latency_highr.observe(seconds)
        latency.observe(seconds)


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
        if name is not None and name == key[1] and len(self.static) < MAX_KEPT:
            self.static[key] = name
        return name


class HttpMetrics:
    """Pure ASGI middleware recording each HTTP request in the series.

    Same choices as the instrumentator was configured with: status codes grouped (`2xx`), paths
    that match no route not recorded, and handlers matching `excluded` (regular expressions,
    searched) not recorded.
    """

    def __init__(self, app: ASGIApp, series: HttpSeries, excluded: Sequence[str] = ()) -> None:
        self.app = app
        self.series = series
        self.excluded = [re.compile(pattern) for pattern in excluded]
        self.names = HandlerNames()
        self._excluded_names: dict[str, bool] = {}

    def is_excluded(self, handler: str) -> bool:
        found = self._excluded_names.get(handler)
        if found is None:
            found = any(pattern.search(handler) for pattern in self.excluded)
            if len(self._excluded_names) < MAX_KEPT:
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
        raw_headers: Iterable[tuple[bytes, bytes]] = ()

        async def send_wrapper(message: Message) -> None:
            nonlocal status_code, raw_headers
            if message["type"] == "http.response.start":
                status_code = message["status"]
                raw_headers = message.get("headers", ())
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            self.series.record(
                scope["method"],
                f"{str(int(status_code))[0]}xx",
                handler,
                content_length(scope["headers"]),
                content_length(raw_headers),
                max(time.perf_counter() - started, 0.0),
            )

"""The bootstrap token guards every /api route and /ws; CORS is closed unless configured; security headers.

(Per-user keys, roles and ownership are in tests/identity.)"""

from __future__ import annotations

import hmac
import re
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from myspinbot import Settings
from myspinbot.api.app import create_app
from myspinbot.cli.procs import free_port
from tests.kernel.test_errors import assert_error_shape
from tests.reliability.support import TOKEN, Figures
from tests.support.processes import REPO_ROOT

# Routes anyone may reach: liveness, the scrape target (kept off the public entry point by Traefik, see
# tests/stack), the API's own description, and /ws (which checks the token itself, tested below).
OPEN_PATHS = {"/health", "/metrics", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/ws"}
# Under /api/, only the login takes no key: it checks a password instead (tests/identity).
OPEN_API_ROUTES = {("POST", "/api/auth/login")}
SAMPLE_PATH_VALUES = {"job_id": "0123456789abcdef0123456789abcdef", "job_type": "sleepy", "name": "out.txt"}
SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}


@pytest.fixture
def guarded(settings: Settings) -> Iterator[TestClient]:
    """The app with MYSPINBOT_API_TOKEN set (and a failure limit this test's storm of wrong keys stays under)."""
    guarded_settings = settings.model_copy(
        update={"api_token": TOKEN, "auth_max_failures": 100_000, "auth_slow_after": 100_000}
    )
    # Its own client address: the storm of wrong keys below is counted in Redis per address and
    # must not throttle other tests' clients (the default address is the same for every TestClient).
    with TestClient(create_app(guarded_settings), client=("10.99.0.1", 50000)) as client:
        yield client


def http_routes(app: FastAPI) -> list[tuple[str, str]]:
    """(method, path with sample values) of every HTTP route of the app, included routers' and plugins'."""
    routes = []
    for route in iter_route_contexts(app.routes):
        if route.path is None or not route.methods:
            continue  # the WebSocket route
        path = re.sub(r"\{(\w+)(:\w+)?\}", lambda m: SAMPLE_PATH_VALUES.get(m.group(1), "x"), route.path)
        routes += [(method, path) for method in sorted(route.methods) if method != "HEAD"]
    return routes


def test_every_api_route_refuses_a_missing_or_wrong_token(guarded: TestClient, figures: Figures) -> None:
    """Every /api route answers 401 without the right bearer token; only the documented few are open."""
    app: FastAPI = guarded.app  # type: ignore[assignment]
    routes = http_routes(app)
    api_routes = [(method, path) for method, path in routes if path.startswith("/api/")]
    api_routes = [route for route in api_routes if route not in OPEN_API_ROUTES]
    open_api_paths = {path for _, path in OPEN_API_ROUTES}
    assert {path for _, path in routes} - {path for _, path in api_routes} <= OPEN_PATHS | open_api_paths
    assert ("POST", "/api/train") in api_routes and ("GET", "/api/jobs") in api_routes
    wrong: list[dict[str, str]] = [
        {},
        {"Authorization": "Bearer wrong-token-of-a-good-length"},
        {"Authorization": f"Bearer {TOKEN}x"},
        {"Authorization": f"Bearer {TOKEN[:-1]}"},
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": TOKEN},
        {"Authorization": "Bearer"},
    ]
    tried = 0
    for method, path in api_routes:
        for headers in wrong:
            response = guarded.request(method, path, headers=headers, json={})
            assert response.status_code == 401, (method, path, headers, response.text)
            assert_error_shape(response.json(), 401, "unauthorized")
            assert response.headers["www-authenticate"] == "Bearer"
            tried += 1
        right = guarded.request(method, path, headers={"Authorization": f"Bearer {TOKEN}"}, json={})
        assert right.status_code != 401, (method, path)
    figures.set("auth.routes_guarded", len(api_routes))
    figures.add("bad_inputs.auth_requests", tried)


def test_health_and_metrics_stay_open_with_a_token_set(guarded: TestClient) -> None:
    """/health and /metrics answer without a token (/metrics is kept internal by the proxy, not the app)."""
    assert guarded.get("/health").status_code == 200
    metrics = guarded.get("/metrics")
    assert metrics.status_code == 200 and "myspinbot_jobs_submitted_total" in metrics.text


def test_undecodable_authorization_header_is_401_not_500(guarded: TestClient) -> None:
    """Non-ASCII bytes in the Authorization header are refused like any wrong token."""
    response = guarded.get("/api/jobs", headers=[(b"authorization", "Bearer tök\xe9n-ünïcode-0123456789".encode())])
    assert response.status_code == 401
    assert_error_shape(response.json(), 401, "unauthorized")


def test_token_is_compared_in_constant_time(guarded: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """The presented token goes through hmac.compare_digest, whose time does not depend on where it differs."""
    calls: list[tuple[Any, Any]] = []
    compare_digest = hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        calls.append((a, b))
        return compare_digest(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)  # deps looks it up on the module at each call
    assert guarded.get("/api/jobs", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert guarded.get("/api/jobs", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    assert calls == [(TOKEN.encode(), b"nope"), (TOKEN.encode(), TOKEN.encode())]


@pytest.mark.parametrize(
    ("query", "headers", "first_frame"),
    [
        ("", {}, {"op": "ping"}),
        (f"?token={TOKEN}", {}, {"op": "ping"}),
        ("", {"Authorization": "Bearer wrong-token-of-a-good-length"}, None),
        ("", {}, {"op": "auth", "key": f"{TOKEN}x"}),
    ],
    ids=["none", "right-token-in-query", "wrong-header", "wrong-first-frame"],
)
def test_ws_without_the_token_gets_an_error_frame_then_4401(
    guarded: TestClient, query: str, headers: dict[str, str], first_frame: dict[str, str] | None
) -> None:
    """/ws without the right key (a header or an auth first frame; never ?token=) sends one error frame in
    the common shape, then closes with 4401."""
    with guarded.websocket_connect(f"/ws{query}", headers=headers) as ws:
        if first_frame is not None:
            ws.send_json(first_frame)
        frame = ws.receive_json()
        assert frame["type"] == "error"
        assert_error_shape({"error": frame["error"]}, 401, "unauthorized")
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert closed.value.code == 4401


@pytest.mark.parametrize("how", ["header", "first-frame"])
def test_ws_with_the_token_as_header_or_first_frame_is_served(guarded: TestClient, how: str) -> None:
    """/ws accepts the key as a bearer header or as a first frame `{"op": "auth", "key": ...}`."""
    headers = {"Authorization": f"Bearer {TOKEN}"} if how == "header" else {}
    with guarded.websocket_connect("/ws", headers=headers) as ws:
        if how == "first-frame":
            ws.send_json({"op": "auth", "key": TOKEN})
        assert ws.receive_json()["type"] == "hello"
        assert ws.receive_json()["type"] == "snapshot"


def test_cors_is_closed_by_default(client: TestClient) -> None:
    """With no MYSPINBOT_CORS_ORIGINS, no origin is allowed: no Access-Control-Allow-Origin, preflight refused."""
    origin = {"Origin": "https://evil.example"}
    response = client.get("/api/jobs", headers=origin)
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers
    preflight = client.options("/api/jobs/sleepy", headers={**origin, "Access-Control-Request-Method": "POST"})
    assert preflight.status_code == 405
    assert "access-control-allow-origin" not in preflight.headers


def test_cors_allows_only_the_configured_origins(settings: Settings) -> None:
    """A configured origin gets CORS headers (Authorization and Idempotency-Key allowed); others get none."""
    allowed = "https://ui.myspinbot.local"
    app = create_app(settings.model_copy(update={"cors_origins": [allowed], "api_token": TOKEN}))
    with TestClient(app) as client:
        ask = {
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,idempotency-key",
        }
        preflight = client.options("/api/jobs/sleepy", headers={"Origin": allowed, **ask})
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == allowed
        assert {"authorization", "idempotency-key"} <= set(
            preflight.headers["access-control-allow-headers"].lower().split(", ")
        )
        simple = client.get("/api/jobs", headers={"Origin": allowed, "Authorization": f"Bearer {TOKEN}"})
        assert simple.headers["access-control-allow-origin"] == allowed
        other = client.options("/api/jobs/sleepy", headers={"Origin": "https://evil.example", **ask})
        assert other.status_code == 400
        assert "access-control-allow-origin" not in other.headers
        stray = client.get("/api/jobs", headers={"Origin": "https://evil.example", "Authorization": f"Bearer {TOKEN}"})
        assert "access-control-allow-origin" not in stray.headers


def test_security_headers_are_on_every_kind_of_response(guarded: TestClient) -> None:
    """nosniff, DENY framing and no-referrer are on successes, errors, health, metrics and the docs."""
    auth = {"Authorization": f"Bearer {TOKEN}"}
    responses = {
        "health": guarded.get("/health"),
        "metrics": guarded.get("/metrics"),
        "docs": guarded.get("/docs"),
        "list": guarded.get("/api/jobs", headers=auth),
        "submit": guarded.post("/api/jobs/sleepy", json={"steps": 1, "step_seconds": 0}, headers=auth),
        "401": guarded.get("/api/jobs"),
        "404": guarded.get("/api/jobs/0123456789abcdef0123456789abcdef", headers=auth),
        "405": guarded.delete("/api/jobs", headers=auth),
        "415": guarded.post("/api/jobs/sleepy", content=b"x", headers={**auth, "Content-Type": "text/plain"}),
        "422": guarded.post("/api/jobs/sleepy", json={"steps": 0}, headers=auth),
        "no route": guarded.get("/nowhere"),
    }
    for name, response in responses.items():
        for header, value in SECURITY_HEADERS.items():
            assert response.headers.get(header) == value, (name, response.status_code, header)


@pytest.mark.parametrize("token", ["change-me", "fifteen-chars!!", "   "])
def test_api_refuses_to_start_with_a_placeholder_or_short_token(token: str) -> None:
    """`myspinbot api` exits 2 naming MYSPINBOT_API_TOKEN when the token is the placeholder or too short."""
    result = subprocess.run(
        [sys.executable, "-m", "myspinbot.cli", "--env-file", "/dev/null", "api", "--port", str(free_port())],
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO_ROOT), "MYSPINBOT_API_TOKEN": token},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result.stderr
    assert "MYSPINBOT_API_TOKEN" in result.stderr

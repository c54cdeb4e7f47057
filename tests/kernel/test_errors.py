"""One error shape for every HTTP error, locked here."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from myspinbot import Settings
from myspinbot.api.app import create_app

TOKEN = "s3cret-token-for-tests-0123456789"


def assert_error_shape(body: dict[str, Any], status: int, code: str | None = None) -> None:
    """The body is exactly {"error": {status, code, message[, details]}}."""
    assert set(body) == {"error"}
    error = body["error"]
    assert set(error) <= {"status", "code", "message", "details"}
    assert {"status", "code", "message"} <= set(error)
    assert error["status"] == status
    assert isinstance(error["code"], str) and error["code"]
    assert isinstance(error["message"], str) and error["message"]
    if "details" in error:
        assert isinstance(error["details"], list) and error["details"]
    if code is not None:
        assert error["code"] == code


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "code"),
    [
        ("get", "/no/such/route", {}, 404, "not_found"),
        ("get", "/api/jobs/0123456789abcdef0123456789abcdef", {}, 404, "job_not_found"),
        ("get", "/api/jobs/not-an-id", {}, 404, "job_not_found"),
        ("post", "/api/jobs/nope", {"json": {}}, 404, "unknown_job_type"),
        ("delete", "/api/jobs", {}, 405, "method_not_allowed"),
        ("post", "/api/jobs/sleepy", {"json": {"steps": 0}}, 422, "invalid_params"),
        ("post", "/api/jobs/sleepy", {"json": {"stepz": 1}}, 422, "invalid_params"),
        ("post", "/api/jobs/sleepy", {"json": [1, 2]}, 422, "invalid_params"),
        (
            "post",
            "/api/jobs/sleepy",
            {"content": b"{not json", "headers": {"content-type": "application/json"}},
            400,
            "invalid_json",
        ),
        (
            "post",
            "/api/jobs/sleepy",
            {"content": b"x", "headers": {"content-type": "text/plain"}},
            415,
            "unsupported_media_type",
        ),
        ("get", "/api/jobs?limit=0", {}, 422, "invalid_params"),
        ("get", "/api/jobs?state=bogus", {}, 422, "invalid_params"),
    ],
)
def test_errors_share_one_shape(
    client: TestClient, method: str, path: str, kwargs: dict[str, Any], status: int, code: str
) -> None:
    """Framework and application errors all answer the common error body."""
    response = getattr(client, method)(path, **kwargs)
    assert response.status_code == status, response.text
    assert_error_shape(response.json(), status, code)


def test_invalid_params_name_the_field(client: TestClient) -> None:
    """A 422 lists each bad field with a message."""
    body = client.post("/api/jobs/sleepy", json={"steps": 0, "step_seconds": "slow"}).json()
    fields = {detail["field"] for detail in body["error"]["details"]}
    assert fields == {"steps", "step_seconds"}
    assert "steps" in body["error"]["message"]


def test_unauthorized_has_the_common_shape(settings: Settings) -> None:
    """With a token set, /api/* without it answers 401 in the common shape; /health stays open."""
    with TestClient(create_app(settings.model_copy(update={"api_token": TOKEN}))) as client:
        response = client.get("/api/job-types")
        assert response.status_code == 401
        assert_error_shape(response.json(), 401, "unauthorized")
        assert client.get("/api/job-types", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert client.get("/api/job-types", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
        assert client.get("/health").status_code == 200


def test_ws_error_frames_have_the_common_shape(client: TestClient) -> None:
    """Bad WS frames get an error frame in the common shape and the socket stays usable."""
    with client.websocket_connect("/ws") as ws:
        assert ws.receive_json()["type"] == "hello"
        assert ws.receive_json()["type"] == "snapshot"
        ws.send_text("{not json")
        frame = ws.receive_json()
        assert frame["type"] == "error"
        assert_error_shape({"error": frame["error"]}, 400, "bad_frame")
        ws.send_json({"op": "dance"})
        frame = ws.receive_json()
        assert_error_shape({"error": frame["error"]}, 400, "unknown_op")
        ws.send_json({"op": "ping"})
        assert ws.receive_json()["type"] == "pong"

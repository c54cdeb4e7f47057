"""/health: ok with Redis and workers reported; degraded (503), not 500, without Redis."""

from __future__ import annotations

from fastapi.testclient import TestClient

from myspinbot import Settings
from myspinbot.api.app import create_app
from myspinbot.cli.procs import free_port
from tests.kernel.test_errors import assert_error_shape
from tests.support.processes import ServiceProcess


def test_health_ok_reports_redis_and_workers(client: TestClient, worker: ServiceProcess) -> None:
    """With Redis up and a worker running, /health is ok and counts the worker."""
    response = client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["redis"]["status"] == "ok"
    assert body["checks"]["workers"]["online"] >= 1


def test_health_degraded_when_redis_unreachable(settings: Settings) -> None:
    """Without Redis, /health answers 503 degraded and job routes answer 503 in the error shape."""
    down = settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{free_port()}/0"})
    with TestClient(create_app(down)) as client:
        response = client.get("/health")
        assert response.status_code == 503
        assert response.json()["status"] == "degraded"
        assert response.json()["checks"]["redis"]["status"] == "unreachable"
        listing = client.get("/api/jobs")
        assert listing.status_code == 503
        assert_error_shape(listing.json(), 503, "store_unavailable")
        submit = client.post("/api/jobs/sleepy", json={})
        assert submit.status_code == 503


def test_job_types_describe_params_and_files(client: TestClient) -> None:
    """/api/job-types lists each type with its queue, JSON schema and accepted files."""
    types = {item["name"]: item for item in client.get("/api/job-types").json()}
    assert {"train", "generate"} <= set(types)
    train = types["train"]
    assert train["queue"] == "train" and train["route"] == "/api/train"
    assert "base_model" in train["params_schema"]["properties"]
    assert ".png" in train["files"][0]["extensions"]
    assert types["generate"]["files"][0]["field"] == "init_image"
    assert client.get("/openapi.json").json()["info"]["title"] == "MySpinBot API"
    assert client.get("/docs").status_code == 200

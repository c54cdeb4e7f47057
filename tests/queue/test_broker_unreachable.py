"""While the broker cannot be reached, jobs are still served (their queue places left unknown)
and queue routes answer 503 in the common error shape, never 500."""

from __future__ import annotations

from fastapi.testclient import TestClient

from myspinbot import Settings
from myspinbot.cli.procs import free_port
from tests.support.jobs import store_queued_jobs


def test_jobs_are_served_without_queue_places_and_queue_routes_answer_503(
    client: TestClient, settings: Settings
) -> None:
    (job_id,) = store_queued_jobs(settings)
    publisher = client.app.state.queues.broker.publisher  # type: ignore[attr-defined]
    working_url = publisher.redis_url
    publisher.redis_url, publisher.redis = f"redis://127.0.0.1:{free_port()}/0", None  # nothing listens there
    try:
        one = client.get(f"/api/jobs/{job_id}")
        assert one.status_code == 200, one.text
        assert one.json()["state"] == "queued"
        assert one.json()["position"] is None and one.json()["starts_in_seconds"] is None

        listed = client.get("/api/jobs", params={"state": "queued"})
        assert listed.status_code == 200, listed.text
        assert job_id in {job["id"] for job in listed.json()["jobs"]}

        queues = client.get("/api/queues")
        assert queues.status_code == 503, queues.text
        assert queues.json()["error"]["code"] == "broker_unavailable"
        assert queues.headers["retry-after"] == "2"
    finally:
        publisher.redis_url, publisher.redis = working_url, None
    assert client.post(f"/api/jobs/{job_id}/cancel").status_code in (200, 202)

"""Cancel: queued jobs never run; running jobs stop at their next step; finished jobs 409."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient

from tests.support.jobs import wait_state
from tests.support.processes import ServiceProcess


def test_cancel_running_job_stops_at_next_step(client: TestClient, worker: ServiceProcess) -> None:
    """A running job, cancelled, ends cancelled before its last step."""
    job = client.post("/api/jobs/sleepy", json={"steps": 200, "step_seconds": 0.05}).json()
    wait_state(client, job["id"], ("running",))
    response = client.post(f"/api/jobs/{job['id']}/cancel")
    assert response.status_code == 200
    assert response.json()["state"] == "running"  # as it stands: it stops at its next step
    done = wait_state(client, job["id"], timeout=10)
    assert done["state"] == "cancelled"
    assert done["step"] < 200
    assert client.post(f"/api/jobs/{job['id']}/cancel").status_code == 409


def test_cancel_queued_job_never_runs(client: TestClient, worker: ServiceProcess) -> None:
    """With both worker slots busy, a queued job cancelled at once never starts."""
    blockers = [client.post("/api/jobs/sleepy", json={"steps": 30, "step_seconds": 0.05}).json() for _ in range(2)]
    for blocker in blockers:
        wait_state(client, blocker["id"], ("running",))
    queued = client.post("/api/jobs/sleepy", json={"steps": 1, "step_seconds": 0}).json()
    response = client.post(f"/api/jobs/{queued['id']}/cancel")
    assert response.status_code == 200
    assert response.json()["state"] == "cancelled"
    for blocker in blockers:
        client.post(f"/api/jobs/{blocker['id']}/cancel")
        wait_state(client, blocker["id"])
    time.sleep(0.5)  # the cancelled job's message has been delivered by now
    final = client.get(f"/api/jobs/{queued['id']}").json()
    assert final["state"] == "cancelled"
    assert final["started_at"] is None and final["attempts"] == 0


def test_cancel_finished_job_is_conflict(client: TestClient, worker: ServiceProcess) -> None:
    """Cancelling a finished job answers 409 in the error shape."""
    job = client.post("/api/jobs/sleepy", json={"steps": 1, "step_seconds": 0}).json()
    wait_state(client, job["id"])
    response = client.post(f"/api/jobs/{job['id']}/cancel")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "job_finished"
    assert client.post("/api/jobs/0123456789abcdef0123456789abcdef/cancel").status_code == 404

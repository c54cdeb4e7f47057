"""End-to-end smoke: a job goes through the API, a real worker and Redis."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient

from tests.support.processes import ServiceProcess


def wait_finished(client: TestClient, job_id: str, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/api/jobs/{job_id}").json()
        if job["state"] in ("succeeded", "failed", "cancelled"):
            return job
        time.sleep(0.05)
    raise TimeoutError(job)


def test_sleepy_job_runs_to_success(client: TestClient, worker: ServiceProcess) -> None:
    """A sleepy job is accepted with 202 and a worker runs it to succeeded."""
    response = client.post("/api/jobs/sleepy", json={"steps": 3, "step_seconds": 0.01})
    assert response.status_code == 202, response.text
    job = wait_finished(client, response.json()["id"])
    assert job["state"] == "succeeded", (job, worker.log_tail())
    assert job["progress"] == 1.0
